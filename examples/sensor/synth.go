package main

import (
	"fmt"
	"math/rand/v2"
	"strconv"
)

// synthPumps are the pumps of the synthetic data set, named like the real ones.
var synthPumps = []string{"ANDOUILLE", "BBKING", "BUTTE", "CARGO", "CHER", "COHUTTA", "LAGNAPPE", "MOJO", "NANTAHALLA", "THERMALITO"}

// synthesize returns a deterministic data set of the same shape as the MapR
// pump data: per pump and day, readings every minute from 1:00 on, with
// low-pressure episodes (the pump off: psi, hz, disp and flo at 0) and a few
// malformed lines, so every path of the monitor is exercised.
func synthesize(days, readingsPerDay int) Dataset {
	rng := rand.New(rand.NewPCG(2014, 3))
	var ds Dataset
	vendors := []string{"HYDROCAM", "GENPUMP", "XYLO"}
	techs := []string{"J.Thomas", "T.LaBou", "W.Stevens", "D.Kidd"}
	events := []string{"Install", "Inspection", "Tighten Mounts", "Vibration Detected", "Replace Base"}
	for i, pump := range synthPumps {
		ds.Vendors = append(ds.Vendors, Vendor{pump, "HYDROPUMP", fmt.Sprintf("%d/%d/10", 1+i%12, 1+i), "3/15/11", vendors[i%len(vendors)]})
		for m := range 3 + i%4 {
			ds.Maintenance = append(ds.Maintenance, Maintenance{pump, fmt.Sprintf("%d/%d/1%d", 1+m*3, 10+i, 1+m), techs[(i+m)%len(techs)], events[(i+m)%len(events)]})
		}
	}
	num := func(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) }
	for p, pump := range synthPumps {
		for d := range days {
			date := fmt.Sprintf("3/%d/14", 10+d)
			offUntil := -1
			for k := range readingsPerDay {
				clock := fmt.Sprintf("%d:%02d", 1+k/60, k%60)
				if offUntil < k && rng.IntN(400) == 0 {
					offUntil = k + 1 + rng.IntN(8) // a low-pressure episode
				}
				// Malformed lines at fixed places: a wrong field count and a
				// number that does not parse.
				if d == 0 && k == 7 && p%4 == 1 {
					ds.Readings = append(ds.Readings, pump+","+date+","+clock+",garbled")
					continue
				}
				if d == 0 && k == 11 && p%4 == 2 {
					ds.Readings = append(ds.Readings, pump+","+date+","+clock+",9.9,1.6,880,1.1,n/a,1.2")
					continue
				}
				hz, disp, flo, psi := 9+2*rng.Float64(), 1.5+0.5*rng.Float64(), 800+float64(rng.IntN(200)), float64(75+rng.IntN(25))
				if k <= offUntil {
					hz, disp, flo, psi = 0, 0, 0, 0
				}
				sed, chl := 0.5+1.5*rng.Float64(), 0.5+1.5*rng.Float64()
				ds.Readings = append(ds.Readings, fmt.Sprintf("%s,%s,%s,%s,%s,%s,%s,%s,%s", pump, date, clock, num(hz), num(disp), num(flo), num(sed), num(psi), num(chl)))
			}
		}
	}
	return ds
}
