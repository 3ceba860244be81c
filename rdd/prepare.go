package rdd

import "context"

// Prepare returns an RDD with r's elements, partitions and partitioner whose
// every job first calls f, once per job and before any of the job's tasks
// start, with the job's context (carrying its executor). f runs outside any
// task, on the goroutine that called the action, so it may itself run
// actions on other RDDs without holding a task slot. An error from f fails
// the job. When the returned RDD is persisted and fully cached, f is not
// called: the cached partitions are used as they are.
//
// Streams use it to do work that must happen exactly once and in order at
// job-run time, such as updating the state of a stateful stream, before the
// RDD that shows the result is read. There is no Spark equivalent.
func Prepare[T any](r *RDD[T], f func(ctx context.Context) error) *RDD[T] {
	s := &prepareStage{parent: r, f: f}
	out := newRDD("Prepare", r.lin.parts, []node{r}, []shuffleStage{s},
		func(tc *taskContext, p int, yield func(T) bool) error { return r.iterate(tc, p, yield) })
	out.lin.partitioner = r.lin.partitioner
	s.op = out.op()
	return out
}

// prepareStage is a stage without output: prepare materialises it, that is
// calls f, after r's own stages, before the tasks of the job.
type prepareStage struct {
	parent node
	f      func(ctx context.Context) error
	op     *opInfo // the Prepare RDD's, to name in the error of a panic
}

func (s *prepareStage) parentNode() node { return s.parent }

// materialize calls f; a panic in it fails the job with a *TaskError
// (partition -1, as it runs on the caller's goroutine).
func (s *prepareStage) materialize(ctx context.Context, ex *Executor) error {
	var err error
	if perr := onDriver(s.op, func() { err = s.f(WithExecutor(ctx, ex)) }); perr != nil {
		return perr
	}
	return err
}
