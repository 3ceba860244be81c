package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Reading is one line of sensordata.csv: one reading of one pump.
type Reading struct {
	Resid, Date, Time string
	// Values holds hz, disp, flo, sedPPM, psi and chlPPM, in that order.
	Values [numMeasures]float64
}

const numMeasures = 6

// measureNames name the measures in the statistics' CSV header.
var measureNames = [numMeasures]string{"hz", "disp", "flo", "sedPPM", "psi", "chlPPM"}

const psiIndex = 4

// Vendor is one line of sensorvendor.csv.
type Vendor struct {
	Resid, PumpType, PurchaseDate, ServiceDate, Vendor string
}

// Maintenance is one line of sensormaint.csv.
type Maintenance struct {
	Resid, EventDate, Technician, Description string
}

// parsed is a line of a readings file: a reading, or why it is malformed.
type parsed struct {
	Reading Reading
	Problem string // "file:line: reason" for a malformed line
}

// parseReadings parses a readings file; malformed lines become problems
// that name the file and the line, and are not readings.
func parseReadings(path string, data []byte) ([]parsed, error) {
	lines := strings.Split(string(data), "\n")
	if n := len(lines); n > 0 && lines[n-1] == "" {
		lines = lines[:n-1]
	}
	out := make([]parsed, 0, len(lines))
	for i, line := range lines {
		r, err := parseReading(strings.TrimSuffix(line, "\r"))
		if err != nil {
			out = append(out, parsed{Problem: fmt.Sprintf("%s:%d: %v", filepath.Base(path), i+1, err)})
			continue
		}
		out = append(out, parsed{Reading: r})
	}
	return out, nil
}

func parseReading(line string) (Reading, error) {
	f := strings.Split(line, ",")
	if len(f) != 9 {
		return Reading{}, fmt.Errorf("want 9 fields, got %d", len(f))
	}
	r := Reading{Resid: f[0], Date: f[1], Time: f[2]}
	for i := range numMeasures {
		v, err := strconv.ParseFloat(strings.TrimSpace(f[3+i]), 64)
		if err != nil {
			return Reading{}, fmt.Errorf("field %s: %q is not a number", measureNames[i], f[3+i])
		}
		r.Values[i] = v
	}
	return r, nil
}

func parseVendors(data []byte) ([]Vendor, error) {
	var out []Vendor
	for i, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		f := strings.Split(strings.TrimSuffix(line, "\r"), ",")
		if len(f) != 7 {
			return nil, fmt.Errorf("sensorvendor.csv:%d: want 7 fields, got %d", i+1, len(f))
		}
		out = append(out, Vendor{f[0], f[1], f[2], f[3], f[4]})
	}
	return out, nil
}

func parseMaintenance(data []byte) ([]Maintenance, error) {
	var out []Maintenance
	for i, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		f := strings.Split(strings.TrimSuffix(line, "\r"), ",")
		if len(f) != 4 {
			return nil, fmt.Errorf("sensormaint.csv:%d: want 4 fields, got %d", i+1, len(f))
		}
		out = append(out, Maintenance{f[0], f[1], f[2], f[3]})
	}
	return out, nil
}

// Dataset is the three files' contents: the readings as lines (to be
// streamed), the vendors and the maintenance log (static tables).
type Dataset struct {
	Readings    []string
	Vendors     []Vendor
	Maintenance []Maintenance
}

// loadDataset reads sensordata.csv, sensorvendor.csv and sensormaint.csv
// from dir.
func loadDataset(dir string) (Dataset, error) {
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, name)) }
	data, err := read("sensordata.csv")
	if err != nil {
		return Dataset{}, err
	}
	vdata, err := read("sensorvendor.csv")
	if err != nil {
		return Dataset{}, err
	}
	mdata, err := read("sensormaint.csv")
	if err != nil {
		return Dataset{}, err
	}
	vendors, err := parseVendors(vdata)
	if err != nil {
		return Dataset{}, err
	}
	maint, err := parseMaintenance(mdata)
	if err != nil {
		return Dataset{}, err
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return Dataset{Readings: lines, Vendors: vendors, Maintenance: maint}, nil
}
