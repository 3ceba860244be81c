package receivers

import (
	"testing"
	"testing/synctest"
	"time"
)

func TestRateReceiverGeneratesSequencedTimestampedRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		sup, _ := NewSupervisor[RateRecord](NewRateReceiver(1000), WithBlockInterval(time.Hour), WithLogger(quietLogger()))
		sup.Start()
		time.Sleep(time.Second + time.Millisecond) // fake time in the bubble
		blocks, _ := sup.AllocateBlocks(time.Now())
		sup.Stop()
		var recs []RateRecord
		for _, b := range blocks {
			recs = append(recs, b.Records...)
		}
		if len(recs) != 1000 {
			t.Fatalf("got %d records in 1s at 1000/s", len(recs))
		}
		for i, r := range recs {
			if r.Seq != int64(i) || !r.Time.Equal(start.Add(time.Duration(i)*time.Millisecond)) {
				t.Fatalf("record %d = %+v, want seq %d due at +%dms", i, r, i, i)
			}
		}
	})
}

// TestRateReceiverRestartsAfterStoreError: a failed store (here the
// write-ahead log's fsync, once) restarts the generator, reported as a
// receiver error, instead of ending it silently; the records not stored
// are generated again, so the sequence has no gap.
func TestRateReceiverRestartsAfterStoreError(t *testing.T) {
	w := mustOpenAs[RateRecord](t, t.TempDir())
	defer w.Close()
	w.active = &faultyFile{walFile: w.active, failSync: true}
	rec := newRecorder()
	sup, err := NewSupervisor[RateRecord](NewRateReceiver(100), WithWAL(w), WithListener(rec),
		WithBlockInterval(time.Hour), WithRestartBackoff(time.Millisecond, time.Millisecond), WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	sup.Start()
	defer sup.Stop()
	rec.waitFor(t, "error", nil)
	var seqs []int64
	deadline := time.Now().Add(failAfter)
	for len(seqs) < 20 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		blocks, err := sup.AllocateBlocks(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range blocks {
			for _, r := range b.Records {
				seqs = append(seqs, r.Seq)
			}
		}
	}
	if len(seqs) < 20 {
		t.Fatalf("%d records after the failed store; events %v", len(seqs), rec.kinds())
	}
	for i, s := range seqs {
		if s != int64(i) {
			t.Fatalf("record %d has sequence number %d: %v", i, s, seqs)
		}
	}
}
