package main

import (
	stdctx "context"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/rdd"
)

// lowPSI is the pressure under which a reading raises an alert.
const lowPSI = 0.5

// DayKey identifies one pump on one day.
type DayKey struct{ Resid, Date string }

// Stats are the running statistics of one pump on one day.
type Stats struct {
	Count         int64
	Sum, Min, Max [numMeasures]float64
}

func statsOf(r Reading) Stats {
	return Stats{Count: 1, Sum: r.Values, Min: r.Values, Max: r.Values}
}

func mergeStats(a, b Stats) Stats {
	a.Count += b.Count
	for i := range numMeasures {
		a.Sum[i] += b.Sum[i]
		a.Min[i] = min(a.Min[i], b.Min[i])
		a.Max[i] = max(a.Max[i], b.Max[i])
	}
	return a
}

// Avg returns the average of measure i.
func (s Stats) Avg(i int) float64 { return s.Sum[i] / float64(s.Count) }

// Alert is a low-pressure reading joined with its pump's vendor record and
// one of its maintenance records.
type Alert struct {
	Reading     Reading
	Vendor      Vendor
	Maintenance Maintenance
}

func (a Alert) record() []string {
	return []string{a.Reading.Resid, a.Reading.Date, a.Reading.Time, formatFloat(a.Reading.Values[psiIndex]),
		a.Vendor.PumpType, a.Vendor.PurchaseDate, a.Vendor.ServiceDate, a.Vendor.Vendor,
		a.Maintenance.EventDate, a.Maintenance.Technician, a.Maintenance.Description}
}

func alertLess(a, b Alert) int {
	return slices.Compare(a.record(), b.record())
}

var alertsHeader = []string{"resid", "date", "time", "psi", "pumpType", "purchaseDate", "serviceDate", "vendor", "eventDate", "technician", "description"}

// formatFloat prints a number in Go's shortest round-trip form, as Spark
// prints doubles.
func formatFloat(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// Monitor is the pipeline and what it has seen so far.
type Monitor struct {
	out       io.Writer   // the per-batch report
	alertsCSV *csv.Writer // every alert, when -alerts is given

	mu        sync.Mutex
	readings  int64
	malformed []string
	alerts    int64
	stats     map[DayKey]Stats
	batches   int
}

// buildMonitor builds the pipeline on ssc over the files that appear in
// watchDir, joining alerts with the static tables of ds.
func buildMonitor(ssc *context.StreamingContext, watchDir string, ds Dataset, out io.Writer, alerts io.Writer) *Monitor {
	m := &Monitor{out: out, stats: map[DayKey]Stats{}}
	if alerts != nil {
		m.alertsCSV = csv.NewWriter(alerts)
		m.alertsCSV.Write(alertsHeader)
		m.alertsCSV.Flush()
	}
	vendorPairs := make([]rdd.Pair[string, Vendor], len(ds.Vendors))
	for i, v := range ds.Vendors {
		vendorPairs[i] = rdd.KV(v.Resid, v)
	}
	maintPairs := make([]rdd.Pair[string, Maintenance], len(ds.Maintenance))
	for i, mt := range ds.Maintenance {
		maintPairs[i] = rdd.KV(mt.Resid, mt)
	}
	vendors := rdd.Parallelize(vendorPairs, 1).Cache()
	maintenance := rdd.Parallelize(maintPairs, 2).Cache()

	lines := context.FileStream(ssc, watchDir, parseReadings).Cache()

	// 1. Malformed lines: reported with file and line, then skipped.
	lines.Filter(func(p parsed) bool { return p.Problem != "" }).ForeachRDD(
		func(ctx stdctx.Context, r *rdd.RDD[parsed], t time.Time) error {
			bad, err := r.Collect(ctx)
			if err != nil {
				return err
			}
			m.mu.Lock()
			defer m.mu.Unlock()
			for _, p := range bad {
				fmt.Fprintf(m.out, "malformed line skipped: %s\n", p.Problem)
				m.malformed = append(m.malformed, p.Problem)
			}
			return nil
		})

	readings := dstream.Map(lines.Filter(func(p parsed) bool { return p.Problem == "" }),
		func(p parsed) Reading { return p.Reading }).Cache()

	// 2. Low-pressure alerts joined with the pump's vendor and maintenance records.
	low := dstream.Map(readings.Filter(func(r Reading) bool { return r.Values[psiIndex] < lowPSI }),
		func(r Reading) rdd.Pair[string, Reading] { return rdd.KV(r.Resid, r) })
	joined := dstream.Transform(low, func(r *rdd.RDD[rdd.Pair[string, Reading]]) *rdd.RDD[Alert] {
		withVendor := rdd.Join(r, vendors)
		full := rdd.Join(withVendor, maintenance)
		return rdd.Map(full, func(p rdd.Pair[string, rdd.Joined[rdd.Joined[Reading, Vendor], Maintenance]]) Alert {
			return Alert{Reading: p.Value.Left.Left, Vendor: p.Value.Left.Right, Maintenance: p.Value.Right}
		})
	})
	joined.ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[Alert], t time.Time) error {
		as, err := r.Collect(ctx)
		if err != nil {
			return err
		}
		slices.SortFunc(as, alertLess)
		m.mu.Lock()
		defer m.mu.Unlock()
		m.alerts += int64(len(as))
		for i, a := range as {
			if i == 3 {
				fmt.Fprintf(m.out, "  ... %d more alerts\n", len(as)-3)
				break
			}
			fmt.Fprintf(m.out, "  ALERT %s %s %s psi=%s vendor=%s maintenance=%s %s (%s)\n", a.Reading.Resid, a.Reading.Date,
				a.Reading.Time, formatFloat(a.Reading.Values[psiIndex]), a.Vendor.Vendor, a.Maintenance.EventDate,
				a.Maintenance.Description, a.Maintenance.Technician)
		}
		if m.alertsCSV != nil {
			for _, a := range as {
				m.alertsCSV.Write(a.record())
			}
			m.alertsCSV.Flush()
			return m.alertsCSV.Error()
		}
		return nil
	})

	// 3. Daily statistics per pump, kept as streaming state across batches.
	perBatch := dstream.ReduceByKey(dstream.Map(readings, func(r Reading) rdd.Pair[DayKey, Stats] {
		return rdd.KV(DayKey{r.Resid, r.Date}, statsOf(r))
	}), mergeStats)
	daily := dstream.UpdateStateByKey(perBatch, func(batch []Stats, state rdd.Option[Stats]) rdd.Option[Stats] {
		acc := state
		for _, s := range batch {
			if acc.Valid {
				acc.Value = mergeStats(acc.Value, s)
			} else {
				acc = rdd.Some(s)
			}
		}
		return acc
	})
	readingsCount := readings.Count()
	readingsCount.ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[int64], t time.Time) error {
		n, err := r.First(ctx)
		if err != nil {
			return err
		}
		m.mu.Lock()
		m.readings += n
		m.mu.Unlock()
		return nil
	})
	daily.ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[rdd.Pair[DayKey, Stats]], t time.Time) error {
		all, err := r.Collect(ctx)
		if err != nil {
			return err
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		clear(m.stats)
		for _, kv := range all {
			m.stats[kv.Key] = kv.Value
		}
		m.batches++
		fmt.Fprintf(m.out, "batch %s: %d readings so far, %d low-pressure alerts, %d malformed lines, %d pump-days tracked\n",
			dstream.FormatTime(t), m.readings, m.alerts, len(m.malformed), len(m.stats))
		return nil
	})
	return m
}

// Processed returns how many lines the monitor has taken in, good or malformed.
func (m *Monitor) Processed() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.readings + int64(len(m.malformed))
}

// sortedKeys returns the pump-days in (pump, date) order.
func (m *Monitor) sortedKeys() []DayKey {
	keys := make([]DayKey, 0, len(m.stats))
	for k := range m.stats {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b DayKey) int {
		if c := strings.Compare(a.Resid, b.Resid); c != 0 {
			return c
		}
		return compareDates(a.Date, b.Date)
	})
	return keys
}

// compareDates orders M/D/YY dates.
func compareDates(a, b string) int {
	parse := func(s string) (int, int, int) {
		var m, d, y int
		fmt.Sscanf(s, "%d/%d/%d", &m, &d, &y)
		return y, m, d
	}
	ay, am, ad := parse(a)
	by, bm, bd := parse(b)
	return slices.Compare([]int{ay, am, ad}, []int{by, bm, bd})
}

var statsHeader = func() []string {
	h := []string{"resid", "date"}
	for _, n := range measureNames {
		h = append(h, "max"+n, "min"+n, "avg"+n)
	}
	return h
}()

// WriteStats writes the final statistics as CSV, one row per pump and day.
func (m *Monitor) WriteStats(w io.Writer) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cw := csv.NewWriter(w)
	cw.Write(statsHeader)
	for _, k := range m.sortedKeys() {
		s := m.stats[k]
		row := []string{k.Resid, k.Date}
		for i := range numMeasures {
			row = append(row, formatFloat(s.Max[i]), formatFloat(s.Min[i]), formatFloat(s.Avg(i)))
		}
		cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}

// PrintTable prints the final statistics as an aligned table.
func (m *Monitor) PrintTable(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintf(w, "%-11s %-8s %8s %8s %8s %8s %8s %8s\n", "pump", "date", "readings", "avg hz", "avg flo", "min psi", "avg psi", "max psi")
	for _, k := range m.sortedKeys() {
		s := m.stats[k]
		fmt.Fprintf(w, "%-11s %-8s %8d %8.2f %8.1f %8.0f %8.2f %8.0f\n", k.Resid, k.Date, s.Count, s.Avg(0), s.Avg(2), s.Min[psiIndex], s.Avg(psiIndex), s.Max[psiIndex])
	}
}
