package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluice-io/sluice/dstream/dstreamtest"
)

// sharedOil is the real MapR pump data, read from where it lies.
var sharedOil = filepath.Join("..", "..", "..", "shared", "data", "oil")

// expected computes, independently of the pipeline, the daily statistics,
// the number of joined alerts and the number of malformed lines.
type expected struct {
	count     map[DayKey]int64
	sum       map[DayKey][6]float64
	min, max  map[DayKey][6]float64
	alerts    int
	malformed int
}

func independent(t *testing.T, ds Dataset) expected {
	t.Helper()
	e := expected{count: map[DayKey]int64{}, sum: map[DayKey][6]float64{}, min: map[DayKey][6]float64{}, max: map[DayKey][6]float64{}}
	maintPerPump := map[string]int{}
	for _, m := range ds.Maintenance {
		maintPerPump[m.Resid]++
	}
	hasVendor := map[string]bool{}
	for _, v := range ds.Vendors {
		hasVendor[v.Resid] = true
	}
	for _, line := range ds.Readings {
		f := strings.Split(line, ",")
		var v [6]float64
		ok := len(f) == 9
		for i := 0; ok && i < 6; i++ {
			x, err := strconv.ParseFloat(f[3+i], 64)
			ok = err == nil
			v[i] = x
		}
		if !ok {
			e.malformed++
			continue
		}
		k := DayKey{f[0], f[1]}
		if e.count[k] == 0 {
			e.min[k], e.max[k] = v, v
		}
		e.count[k]++
		s, lo, hi := e.sum[k], e.min[k], e.max[k]
		for i := range 6 {
			s[i] += v[i]
			lo[i] = math.Min(lo[i], v[i])
			hi[i] = math.Max(hi[i], v[i])
		}
		e.sum[k], e.min[k], e.max[k] = s, lo, hi
		if v[4] < 0.5 && hasVendor[f[0]] {
			e.alerts += maintPerPump[f[0]]
		}
	}
	return e
}

// runOnManualClock streams ds through the monitor, one file per batch.
func runOnManualClock(t *testing.T, ds Dataset, files int) (*Monitor, string) {
	dir := t.TempDir()
	h := dstreamtest.NewHarness(t, time.Second)
	var out, alerts bytes.Buffer
	m := buildMonitor(h.Context(), dir, ds, &out, &alerts)
	h.Start()
	for i, chunk := range split(ds.Readings, files) {
		path := filepath.Join(dir, fmt.Sprintf("r%03d.csv", i))
		tmp := filepath.Join(dir, fmt.Sprintf(".r%03d.tmp", i))
		require.NoError(t, os.WriteFile(tmp, []byte(strings.Join(chunk, "\n")+"\n"), 0o644))
		mod := h.Clock().Now().Add(time.Millisecond)
		require.NoError(t, os.Chtimes(tmp, mod, mod))
		require.NoError(t, os.Rename(tmp, path))
		h.Step()
	}
	h.Step() // a batch with no new file changes nothing
	h.Stop()
	return m, alerts.String()
}

func checkAgainst(t *testing.T, m *Monitor, alertsCSV string, e expected) {
	t.Helper()
	require.Equal(t, len(e.count), len(m.stats), "pump-days")
	for k, n := range e.count {
		s, ok := m.stats[k]
		require.True(t, ok, "missing %v", k)
		require.Equal(t, n, s.Count, "%v", k)
		for i := range 6 {
			require.Equal(t, e.min[k][i], s.Min[i], "%v min %s", k, measureNames[i])
			require.Equal(t, e.max[k][i], s.Max[i], "%v max %s", k, measureNames[i])
			require.InDelta(t, e.sum[k][i]/float64(n), s.Avg(i), 1e-9*math.Max(1, math.Abs(s.Avg(i))), "%v avg %s", k, measureNames[i])
		}
	}
	require.Equal(t, int64(e.alerts), m.alerts)
	require.Len(t, m.malformed, e.malformed)
	rows, err := csv.NewReader(strings.NewReader(alertsCSV)).ReadAll()
	require.NoError(t, err)
	require.Equal(t, alertsHeader, rows[0])
	require.Len(t, rows, 1+e.alerts)
}

func TestMonitorOnRealPumpData(t *testing.T) {
	ds, err := loadDataset(sharedOil)
	require.NoError(t, err, "the real data is expected in ../shared/data/oil beside the checkout")
	require.Len(t, ds.Readings, 47900)
	m, alerts := runOnManualClock(t, ds, 5)
	e := independent(t, ds)
	require.Len(t, e.count, 50, "10 pumps × 5 days")
	require.Positive(t, e.alerts, "the real data has pumps switched off")
	checkAgainst(t, m, alerts, e)
	// Spot-check one figure against the file itself.
	require.Equal(t, int64(958), m.stats[DayKey{"COHUTTA", "3/10/14"}].Count)
}

func TestMonitorOnSyntheticData(t *testing.T) {
	ds := synthesize(2, 300)
	m, alerts := runOnManualClock(t, ds, 4)
	e := independent(t, ds)
	require.Positive(t, e.alerts)
	require.Positive(t, e.malformed, "the synthetic data has malformed lines")
	checkAgainst(t, m, alerts, e)
	for _, p := range m.malformed {
		require.Regexp(t, `^r\d{3}\.csv:\d+: `, p, "a problem names its file and line")
	}
}

func TestRunEndToEnd(t *testing.T) {
	dir := t.TempDir()
	stats, alerts := filepath.Join(dir, "stats.csv"), filepath.Join(dir, "alerts.csv")
	var out bytes.Buffer
	require.NoError(t, run(config{batch: 20 * time.Millisecond, files: 3, statsPath: stats, alerts: alerts}, &out))
	require.Contains(t, out.String(), "readings processed")
	data, err := os.ReadFile(stats)
	require.NoError(t, err)
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	require.NoError(t, err)
	require.Equal(t, "resid,date,maxhz,minhz,avghz,maxdisp,mindisp,avgdisp,maxflo,minflo,avgflo,maxsedPPM,minsedPPM,avgsedPPM,maxpsi,minpsi,avgpsi,maxchlPPM,minchlPPM,avgchlPPM",
		strings.Join(rows[0], ","))
	require.Len(t, rows, 1+3*len(synthPumps))
	adata, err := os.ReadFile(alerts)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(adata), strings.Join(alertsHeader, ",")+"\n"))
}
