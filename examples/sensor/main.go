// Command sensor monitors oil pumps, the Spark Streaming course example in
// Go: readings arrive as CSV files in a watched directory; low-pressure
// readings are joined with the pump's vendor and maintenance records and
// reported as alerts; daily statistics per pump are kept as streaming state.
//
// With no flags it generates a synthetic data set of the same shape as the
// MapR pump data, streams it into a temporary directory one file per batch,
// stops gracefully once everything is processed and prints the final table.
// With -data DIR it streams the real sensordata.csv, sensorvendor.csv and
// sensormaint.csv from DIR instead.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sluice-io/sluice/context"
)

type config struct {
	dataDir   string
	batch     time.Duration
	files     int
	statsPath string
	alerts    string
}

func main() {
	var cfg config
	flag.StringVar(&cfg.dataDir, "data", "", "read sensordata.csv, sensorvendor.csv and sensormaint.csv from `DIR` instead of generating data")
	flag.DurationVar(&cfg.batch, "batch", time.Second, "the batch interval")
	flag.IntVar(&cfg.files, "files", 10, "how many files the readings are split into (one per batch)")
	flag.StringVar(&cfg.statsPath, "stats", "", "write the final daily statistics as CSV to `FILE`")
	flag.StringVar(&cfg.alerts, "alerts", "", "write every joined low-pressure alert as CSV to `FILE`")
	flag.Parse()
	if err := run(cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sensor:", err)
		os.Exit(1)
	}
}

// run streams the data set through the monitor and prints its report to out.
func run(cfg config, out io.Writer) error {
	if cfg.files < 1 {
		return fmt.Errorf("-files must be at least 1, got %d", cfg.files)
	}
	var ds Dataset
	var err error
	if cfg.dataDir != "" {
		if ds, err = loadDataset(cfg.dataDir); err != nil {
			return err
		}
	} else {
		ds = synthesize(3, 600)
	}
	work, err := os.MkdirTemp("", "sensor-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	watch, staging := filepath.Join(work, "incoming"), filepath.Join(work, "staging")
	for _, d := range []string{watch, staging} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	var alertsFile *os.File
	if cfg.alerts != "" {
		if alertsFile, err = os.Create(cfg.alerts); err != nil {
			return err
		}
		defer alertsFile.Close()
	}

	ssc, err := context.NewStreamingContext(cfg.batch)
	if err != nil {
		return err
	}
	// The daily statistics are state, which checkpoints; this run is not
	// meant to be recovered, so a temporary directory will do.
	if err := ssc.Checkpoint(filepath.Join(work, "checkpoint")); err != nil {
		return err
	}
	var alertsW io.Writer
	if alertsFile != nil {
		alertsW = alertsFile
	}
	m := buildMonitor(ssc, watch, ds, out, alertsW)
	completed := make(chan context.BatchInfo, 16)
	ssc.AddStreamingListener(&batchListener{ch: completed})
	// Print before Start: from then on the output operations write to out.
	fmt.Fprintf(out, "streaming %d readings in %d files through %s, one file per %v batch\n", len(ds.Readings), cfg.files, watch, cfg.batch)
	if err := ssc.Start(); err != nil {
		return err
	}

	chunks := split(ds.Readings, cfg.files)
	fed := 0
	feed := func() error {
		if fed == len(chunks) {
			return nil
		}
		// Write the file elsewhere and rename it in: a file appears whole.
		name := fmt.Sprintf("readings-%04d.csv", fed)
		tmp := filepath.Join(staging, name)
		if err := os.WriteFile(tmp, []byte(strings.Join(chunks[fed], "\n")+"\n"), 0o644); err != nil {
			return err
		}
		fed++
		return os.Rename(tmp, filepath.Join(watch, name))
	}
	if err := feed(); err != nil {
		ssc.Stop(false)
		return err
	}
	total := int64(len(ds.Readings))
	for m.Processed() < total {
		select {
		case <-completed:
			if err := feed(); err != nil {
				ssc.Stop(false)
				return err
			}
		case <-ssc.Done():
			return fmt.Errorf("the streaming context stopped: %w", ssc.AwaitTermination())
		}
	}
	if err := ssc.Stop(true); err != nil {
		return err
	}
	if err := ssc.AwaitTermination(); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nall %d readings processed: %d low-pressure alerts, %d malformed lines skipped\n\n", total, m.alerts, len(m.malformed))
	m.PrintTable(out)
	if cfg.statsPath != "" {
		f, err := os.Create(cfg.statsPath)
		if err != nil {
			return err
		}
		if err := m.WriteStats(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// split cuts lines into n nearly equal consecutive chunks.
func split(lines []string, n int) [][]string {
	n = min(n, max(len(lines), 1))
	out := make([][]string, n)
	for i := range n {
		out[i] = lines[i*len(lines)/n : (i+1)*len(lines)/n]
	}
	return out
}

type batchListener struct {
	context.NoopListener
	ch chan context.BatchInfo
}

func (l *batchListener) OnBatchCompleted(b context.BatchInfo) {
	select {
	case l.ch <- b:
	default: // the feeder only needs to know that some batch completed
	}
}
