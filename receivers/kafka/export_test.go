package kafka

// WithTxnHook runs hook at each step of a transaction ("produced",
// "offsets"); returning ErrCrash simulates a process killed there.
func WithTxnHook(hook func(step string) error) TxnOption {
	return txnOptionFunc(func(c *txnConfig) { c.hook = hook })
}

// ErrCrash is the error a hook returns to simulate a crash.
var ErrCrash = errCrash

// MaxMessagesPerPartition exposes the rate computation.
var MaxMessagesPerPartition = maxMessagesPerPartition

// WithStopHook runs hook each time the stream's Stop returns, with its
// argument.
func WithStopHook(hook func(graceful bool)) Option {
	return optionFunc(func(c *config) { c.stopHook = hook })
}
