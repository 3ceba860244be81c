package receivers

import (
	"fmt"
	"sync"
	"time"
)

// PIDConfig holds the gains and floor of a PIDRateEstimator (Spark's
// spark.streaming.backpressure.pid.* settings).
type PIDConfig struct {
	// Proportional weighs the current error (default 1.0); must be >= 0.
	Proportional float64
	// Integral weighs the accumulated error seen as scheduling delay (default 0.2); must be >= 0.
	Integral float64
	// Derivative weighs the error's rate of change (default 0.0); must be >= 0.
	Derivative float64
	// MinRate is the lowest rate ever estimated, in records/s (default 100); must be > 0.
	MinRate float64
}

// DefaultPIDConfig returns Spark's defaults: proportional 1.0, integral 0.2,
// derivative 0.0, minimum rate 100 records/s.
func DefaultPIDConfig() PIDConfig {
	return PIDConfig{Proportional: 1.0, Integral: 0.2, Derivative: 0.0, MinRate: 100}
}

// PIDRateEstimator estimates the ingestion rate a stream can sustain from
// each completed batch, Spark's PIDRateEstimator with the same formula: the
// error is the last estimated rate minus the measured processing rate, the
// integral term is the scheduling delay times the processing rate over the
// batch interval. The context feeds it after every batch and passes a new
// rate to Supervisor.UpdateRate. Safe for concurrent use.
type PIDRateEstimator struct {
	batchIntervalMillis int64
	cfg                 PIDConfig

	mu          sync.Mutex
	firstRun    bool
	latestTime  int64
	latestRate  float64
	latestError float64
}

// NewPIDRateEstimator returns an estimator for a stream with the given batch
// interval; it returns an error wrapping ErrInvalidConfig where Spark's
// constructor would fail its require checks.
func NewPIDRateEstimator(batchInterval time.Duration, cfg PIDConfig) (*PIDRateEstimator, error) {
	ms := batchInterval.Milliseconds()
	switch {
	case ms <= 0:
		return nil, fmt.Errorf("%w: batch interval %v in PIDRateEstimator", ErrInvalidConfig, batchInterval)
	case cfg.Proportional < 0:
		return nil, fmt.Errorf("%w: proportional term %v should be >= 0", ErrInvalidConfig, cfg.Proportional)
	case cfg.Integral < 0:
		return nil, fmt.Errorf("%w: integral term %v should be >= 0", ErrInvalidConfig, cfg.Integral)
	case cfg.Derivative < 0:
		return nil, fmt.Errorf("%w: derivative term %v should be >= 0", ErrInvalidConfig, cfg.Derivative)
	case !(cfg.MinRate > 0):
		return nil, fmt.Errorf("%w: minimum rate %v should be > 0", ErrInvalidConfig, cfg.MinRate)
	}
	return &PIDRateEstimator{batchIntervalMillis: ms, cfg: cfg, firstRun: true, latestTime: -1, latestRate: -1, latestError: -1}, nil
}

// Compute takes the completion of the batch at time with numElements records,
// its processing delay and scheduling delay, and returns a new rate in
// records/s with ok true, or ok false when no estimate is made: on the first
// valid call (which only measures the processing rate), when time is not after
// the previous call's, or when numElements or the processing delay (in whole
// milliseconds, as Spark counts it) is not positive.
func (e *PIDRateEstimator) Compute(time time.Time, numElements int64, processingDelay, schedulingDelay time.Duration) (newRate float64, ok bool) {
	t := time.UnixMilli()
	proc := processingDelay.Milliseconds()
	sched := schedulingDelay.Milliseconds()
	e.mu.Lock()
	defer e.mu.Unlock()
	if !(t > e.latestTime && numElements > 0 && proc > 0) {
		return 0, false
	}
	delaySinceUpdate := float64(t-e.latestTime) / 1000
	processingRate := float64(numElements) / float64(proc) * 1000
	errRate := e.latestRate - processingRate
	historicalError := float64(sched) * processingRate / float64(e.batchIntervalMillis)
	dError := (errRate - e.latestError) / delaySinceUpdate
	rate := max(e.latestRate-e.cfg.Proportional*errRate-e.cfg.Integral*historicalError-e.cfg.Derivative*dError, e.cfg.MinRate)
	e.latestTime = t
	if e.firstRun {
		e.latestRate = processingRate
		e.latestError = 0
		e.firstRun = false
		return 0, false
	}
	e.latestRate = rate
	e.latestError = errRate
	return rate, true
}
