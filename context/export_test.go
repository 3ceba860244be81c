package context

// StopRequested returns, for tests, a channel closed once a stop of ssc has
// begun (before Stop returns).
func StopRequested(ssc *StreamingContext) <-chan struct{} { return ssc.stopCh }
