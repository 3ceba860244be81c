package rdd

import (
	"fmt"
	"reflect"
)

// Format formats x as fmt.Sprint does, except that a String or Error
// method that panics panics here too (fmt prints "%!v(PANIC=...)" and goes
// on): SaveAsTextFile and Print write no such line, their task fails with
// the record named instead, as Spark's does when toString throws. A nil
// pointer whose method panics formats as "<nil>", as with fmt.
func Format(x any) string {
	switch v := x.(type) {
	case string:
		return v
	case fmt.Formatter:
		return fmt.Sprint(v)
	case error:
		if isNilPointer(v) {
			return fmt.Sprint(v)
		}
		return v.Error()
	case fmt.Stringer:
		if isNilPointer(v) {
			return fmt.Sprint(v)
		}
		return v.String()
	}
	return fmt.Sprint(x)
}

func isNilPointer(x any) bool {
	v := reflect.ValueOf(x)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// Pair is a key-value record, Spark's Tuple2 for keyed operations. It prints
// as (key,value), the way Spark prints tuples.
type Pair[K comparable, V any] struct {
	Key   K
	Value V
}

// KV returns the pair (k, v).
func KV[K comparable, V any](k K, v V) Pair[K, V] { return Pair[K, V]{Key: k, Value: v} }

// String formats the pair as (key,value).
func (p Pair[K, V]) String() string { return "(" + Format(p.Key) + "," + Format(p.Value) + ")" }

// Joined is the value of a joined record: the left side's value and the
// right side's, Spark's (V, W). It prints as (left,right).
type Joined[V, W any] struct {
	Left  V
	Right W
}

// String formats the joined value as (left,right).
func (j Joined[V, W]) String() string { return "(" + Format(j.Left) + "," + Format(j.Right) + ")" }

// Option is a value that may be absent, Spark's Option for the missing side
// of an outer join. It prints as Some(value) or None, as Scala does.
type Option[T any] struct {
	Value T
	Valid bool
}

// Some returns a present Option holding v.
func Some[T any](v T) Option[T] { return Option[T]{Value: v, Valid: true} }

// None returns an absent Option.
func None[T any]() Option[T] { return Option[T]{} }

// String formats the option as Some(value) or None.
func (o Option[T]) String() string {
	if !o.Valid {
		return "None"
	}
	return "Some(" + Format(o.Value) + ")"
}

// CoGrouped holds, for one key, every value of the left RDD and every value
// of the right RDD, Spark's (Iterable[V], Iterable[W]) from cogroup.
type CoGrouped[V, W any] struct {
	Left  []V
	Right []W
}

// String formats the groups as ([v1 v2],[w1]).
func (g CoGrouped[V, W]) String() string { return fmt.Sprintf("(%v,%v)", g.Left, g.Right) }
