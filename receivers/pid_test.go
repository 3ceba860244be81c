package receivers

import (
	"errors"
	"testing"
	"time"
)

// The expected rates are computed by hand from Spark's PIDRateEstimator.compute:
//
//	processingRate  = numElements / processingDelay * 1000
//	error           = latestRate - processingRate
//	historicalError = schedulingDelay * processingRate / batchIntervalMillis
//	dError          = (error - latestError) / ((time - latestTime) / 1000)
//	newRate         = max(latestRate - P*error - I*historicalError - D*dError, minRate)
//
// with the first valid call only recording latestRate = processingRate, latestError = 0.
func TestPIDRateEstimatorTable(t *testing.T) {
	type call struct {
		timeMs, n, procMs, schedMs int64
		rate                       float64
		ok                         bool
	}
	tests := []struct {
		name     string
		interval time.Duration
		cfg      PIDConfig
		calls    []call
	}{
		{
			name: "Spark defaults", interval: time.Second, cfg: DefaultPIDConfig(),
			calls: []call{
				{0, 0, 100, 0, 0, false},           // no elements: skipped, still first run
				{1000, 1000, 0, 0, 0, false},       // no processing delay: skipped
				{1000, 1000, 500, 0, 0, false},     // first run: latestRate = 2000
				{2000, 1000, 1000, 0, 1000, true},  // rate 1000, error 1000: 2000 - 1000
				{3000, 1000, 500, 500, 1800, true}, // rate 2000, error -1000, hist 1000: 1000 + 1000 - 200
				{3000, 1000, 500, 0, 0, false},     // time not after the latest: skipped
				{2500, 1000, 500, 0, 0, false},     // time going backwards: skipped
				{4000, -5, 1000, 0, 0, false},      // negative count: skipped
				{4000, 100, 1000, 2000, 100, true}, // 1800 - 1700 - 0.2*200 = 60, floored at 100
				{5000, 100, 1000, 0, 100, true},    // error 0: stays at 100
			},
		},
		{
			name: "derivative term", interval: 500 * time.Millisecond,
			cfg: PIDConfig{Proportional: 1, Integral: 0, Derivative: 0.5, MinRate: 1},
			calls: []call{
				{1000, 1000, 1000, 0, 0, false},    // first run: latestRate 1000
				{3000, 500, 1000, 0, 375, true},    // error 500, dError 500/2 = 250: 1000 - 500 - 125
				{4000, 750, 1000, 0, 1187.5, true}, // rate 750, error -375, dError (-375-500)/1: 375 + 375 + 437.5
			},
		},
		{
			name: "integral against batch interval", interval: 200 * time.Millisecond,
			cfg: PIDConfig{Proportional: 0, Integral: 1, Derivative: 0, MinRate: 10},
			calls: []call{
				{100, 200, 100, 0, 0, false},     // first run: latestRate 2000
				{300, 200, 100, 100, 1000, true}, // rate 2000, hist 100*2000/200 = 1000: 2000 - 1000
				{500, 50, 100, 400, 10, true},    // rate 500, hist 1000: 1000 - 1000 = 0, floored at 10
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := NewPIDRateEstimator(tt.interval, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range tt.calls {
				rate, ok := e.Compute(time.UnixMilli(c.timeMs), c.n, time.Duration(c.procMs)*time.Millisecond, time.Duration(c.schedMs)*time.Millisecond)
				if ok != c.ok || rate != c.rate {
					t.Errorf("call %d %+v: got (%v, %v), want (%v, %v)", i, c, rate, ok, c.rate, c.ok)
				}
			}
		})
	}
}

func TestPIDRateEstimatorSubMillisecondDelayIsSkipped(t *testing.T) {
	e, _ := NewPIDRateEstimator(time.Second, DefaultPIDConfig())
	if _, ok := e.Compute(time.UnixMilli(1000), 10, 500*time.Microsecond, 0); ok {
		t.Fatal("estimate from a 0 ms processing delay")
	}
	e.Compute(time.UnixMilli(1000), 10, time.Millisecond, 0) // still the first run
	if r, ok := e.Compute(time.UnixMilli(2000), 10, time.Millisecond, 0); !ok || r != 10000 {
		t.Fatalf("got (%v, %v), want (10000, true)", r, ok)
	}
}

func TestPIDRateEstimatorInvalidConfig(t *testing.T) {
	bad := []struct {
		interval time.Duration
		cfg      PIDConfig
	}{
		{0, DefaultPIDConfig()},
		{time.Microsecond, DefaultPIDConfig()},
		{time.Second, PIDConfig{Proportional: -1, MinRate: 1}},
		{time.Second, PIDConfig{Integral: -1, MinRate: 1}},
		{time.Second, PIDConfig{Derivative: -1, MinRate: 1}},
		{time.Second, PIDConfig{MinRate: 0}},
	}
	for _, b := range bad {
		if _, err := NewPIDRateEstimator(b.interval, b.cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%v %+v: err %v, want ErrInvalidConfig", b.interval, b.cfg, err)
		}
	}
	if c := DefaultPIDConfig(); c != (PIDConfig{1.0, 0.2, 0.0, 100}) {
		t.Errorf("defaults %+v", c)
	}
}
