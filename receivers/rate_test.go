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
