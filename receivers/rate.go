package receivers

import (
	"context"
	"errors"
	"sync"
	"time"
)

// RateRecord is a record of a RateReceiver: its sequence number, from 0, and
// the time it was due.
type RateRecord struct {
	Seq  int64
	Time time.Time
}

// RateReceiver generates records at a fixed rate, for demos and load tests
// (Spark's rate source). Record n of a run is due at the run's start plus n
// periods; records are stored in small blocks every 10 ms or every period,
// whichever is longer. Sequence numbers continue across restarts.
type RateReceiver struct {
	perSecond int
	mu        sync.Mutex
	next      int64
}

// NewRateReceiver returns a receiver of recordsPerSecond records a second
// (at least 1).
func NewRateReceiver(recordsPerSecond int) *RateReceiver {
	return &RateReceiver{perSecond: max(recordsPerSecond, 1)}
}

// OnStart starts the generator goroutine.
func (r *RateReceiver) OnStart(h *Handle[RateRecord]) {
	h.Go(func(ctx context.Context) { r.generate(ctx, h) })
}

// OnStop does nothing: the generator ends with the Handle's Context.
func (r *RateReceiver) OnStop() {}

func (r *RateReceiver) generate(ctx context.Context, h *Handle[RateRecord]) {
	period := time.Second / time.Duration(r.perSecond)
	tick := max(10*time.Millisecond, period)
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	start := time.Now()
	r.mu.Lock()
	base := r.next
	r.mu.Unlock()
	emitted := int64(0)
	var batch []RateRecord
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-ticker.C:
			due := int64(now.Sub(start).Seconds() * float64(r.perSecond))
			batch = batch[:0]
			for ; emitted < due; emitted++ {
				at := start.Add(time.Duration(float64(emitted) / float64(r.perSecond) * float64(time.Second)))
				batch = append(batch, RateRecord{Seq: base + emitted, Time: at})
			}
			if len(batch) == 0 {
				continue
			}
			if err := h.StoreMany(batch); err != nil {
				// The records not stored are generated again by the next
				// run, from r.next on.
				if !errors.Is(err, ErrStopped) {
					h.Restart("storing generated records failed", err, 0)
				}
				return
			}
			r.mu.Lock()
			r.next = base + emitted
			r.mu.Unlock()
		}
	}
}
