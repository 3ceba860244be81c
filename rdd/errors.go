package rdd

import (
	"errors"
	"fmt"
)

// ErrUserPanic is wrapped by the error of a task whose user function panicked.
var ErrUserPanic = errors.New("user function panicked")

// ErrEmpty is returned by actions that need at least one element (Reduce,
// First) when the RDD has none, Spark's "empty collection".
var ErrEmpty = errors.New("empty collection")

// ErrInvalidArgument is wrapped by errors for arguments an operation cannot
// use, such as a non-positive partition count.
var ErrInvalidArgument = errors.New("invalid argument")

// TaskError is the error of one failed task: the operation whose function
// failed, the RDD it belongs to and the partition being computed, Spark's
// SparkException "Task failed". For an action's own function (Foreach,
// Reduce, ...) RDD is the ID of the RDD the action ran on.
type TaskError struct {
	Op   string // the operation, e.g. "Map" or "ReduceByKey"
	RDD  int64  // the ID of the RDD the operation produced
	Name string // the RDD's name, when the user set one
	// Partition is the partition being computed, or -1 when the failure
	// happened on the caller's goroutine while merging partition results.
	Partition int
	// Record is the element the panicking function was given, formatted
	// (%q for a string, %v otherwise, cut to 256 bytes), for the
	// operations that call a function per element (Map, FlatMap, Filter,
	// the combine functions of ReduceByKey and CombineByKey, Foreach,
	// Reduce, Fold, Aggregate, ...); empty otherwise.
	Record string
	Err    error
	// Panic is the value the user function panicked with, nil for an error.
	Panic any
	// Stack is the goroutine stack at the panic, empty for an error.
	Stack []byte
}

// Error names the operation, the RDD, the partition and the record.
func (e *TaskError) Error() string {
	name := ""
	if e.Name != "" {
		name = " " + e.Name
	}
	record := ""
	if e.Record != "" {
		record = " record " + e.Record + ":"
	}
	return fmt.Sprintf("rdd: %s (rdd %d%s) partition %d:%s %v", e.Op, e.RDD, name, e.Partition, record, e.Err)
}

// Unwrap returns the cause.
func (e *TaskError) Unwrap() error { return e.Err }
