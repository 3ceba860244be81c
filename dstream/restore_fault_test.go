package dstream

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/sluice-io/sluice/checkpoint"
	"github.com/sluice-io/sluice/rdd"
)

// restorePanickyPartitioner is a user Partitioner that panics on one key.
type restorePanickyPartitioner struct {
	rdd.Partitioner[int]
	bad int
}

func (p restorePanickyPartitioner) Partition(k int) int {
	if k == p.bad {
		panic("the partitioner is down")
	}
	return p.Partitioner.Partition(k)
}

// restorePanickyState is a user state type whose decoder panics on one value.
type restorePanickyState struct{ N int }

func (s restorePanickyState) EncodeMsgpack(enc *msgpack.Encoder) error {
	return enc.EncodeInt(int64(s.N))
}

func (s *restorePanickyState) DecodeMsgpack(dec *msgpack.Decoder) error {
	n, err := dec.DecodeInt()
	if n == 13 {
		panic("the state decoder is down")
	}
	s.N = n
	return err
}

// restorePanickyKey is a user key type whose decoder panics on one value.
type restorePanickyKey struct{ N int }

func (k restorePanickyKey) EncodeMsgpack(enc *msgpack.Encoder) error {
	return enc.EncodeInt(int64(k.N))
}

func (k *restorePanickyKey) DecodeMsgpack(dec *msgpack.Decoder) error {
	n, err := dec.DecodeInt()
	if n == 13 {
		panic("the key decoder is down")
	}
	k.N = n
	return err
}

// A panic in user code while a state stream restores its checkpoint (its
// Partitioner, its state's or key's DecodeMsgpack) fails the restore with
// an error wrapping ErrUserPanic that names the key when it is known, and
// leaves nothing half restored; it does not escape.
func TestStateRestoreRecoversUserPanics(t *testing.T) {
	sec := int64(time.Second)
	intEntry := func(k, s int) checkpoint.Entry {
		return must(checkpoint.EncodeEntry(k, &storedState[int]{State: s, Updated: sec}))
	}
	t.Run("Partitioner", func(t *testing.T) {
		st := newStateStore[int, int](restorePanickyPartitioner{rdd.NewHashPartitioner[int](2), 7}, 0)
		c := &stateCheckpointer[int, int]{store: st, applier: newStateApplier(func() string { return "test" }, time.Second)}
		var err error
		require.NotPanics(t, func() {
			err = c.restore(scanOf(intEntry(1, 10), intEntry(7, 70), intEntry(2, 20)), time.Unix(4, 0))
		})
		require.ErrorIs(t, err, rdd.ErrUserPanic)
		require.ErrorIs(t, err, ErrUserPanic)
		require.ErrorContains(t, err, "key 7")
		require.ErrorContains(t, err, "the partitioner is down")
		require.Zero(t, st.len(), "nothing half restored")
	})
	t.Run("StateDecoder", func(t *testing.T) {
		st := newStateStore[int, restorePanickyState](rdd.NewHashPartitioner[int](2), 0)
		c := &stateCheckpointer[int, restorePanickyState]{store: st, applier: newStateApplier(func() string { return "test" }, time.Second)}
		entry := func(k, n int) checkpoint.Entry {
			return must(checkpoint.EncodeEntry(k, &storedState[restorePanickyState]{State: restorePanickyState{n}, Updated: sec}))
		}
		var err error
		require.NotPanics(t, func() {
			err = c.restore(scanOf(entry(1, 10), entry(3, 13), entry(2, 20)), time.Unix(4, 0))
		})
		require.ErrorIs(t, err, rdd.ErrUserPanic)
		require.ErrorContains(t, err, "decoding the value of key 3")
		require.ErrorContains(t, err, "the state decoder is down")
		require.Zero(t, st.len(), "nothing half restored")
	})
	t.Run("KeyDecoder", func(t *testing.T) {
		st := newStateStore[restorePanickyKey, int](rdd.NewHashPartitioner[restorePanickyKey](2), 0)
		c := &stateCheckpointer[restorePanickyKey, int]{store: st, applier: newStateApplier(func() string { return "test" }, time.Second)}
		entry := func(k, s int) checkpoint.Entry {
			return must(checkpoint.EncodeEntry(restorePanickyKey{k}, &storedState[int]{State: s, Updated: sec}))
		}
		var err error
		require.NotPanics(t, func() {
			err = c.restore(scanOf(entry(1, 10), entry(13, 130)), time.Unix(4, 0))
		})
		require.ErrorIs(t, err, rdd.ErrUserPanic)
		require.ErrorContains(t, err, "decoding a key")
		require.ErrorContains(t, err, "the key decoder is down")
		require.Zero(t, st.len(), "nothing half restored")
	})
}

// A window's checkpoint is scanned the same way: a panic in its key's
// decoder is an error too.
func TestWindowScanRecoversUserPanics(t *testing.T) {
	entry := func(k int) checkpoint.Entry {
		return must(checkpoint.EncodeEntry(windowKey[restorePanickyKey]{Time: 1, Window: true, Key: restorePanickyKey{k}}, 5))
	}
	var err error
	require.NotPanics(t, func() {
		err = scanDecoded(scanOf(entry(1), entry(13)), func(windowKey[restorePanickyKey], int, bool) error { return nil })
	})
	require.ErrorIs(t, err, rdd.ErrUserPanic)
	require.ErrorContains(t, err, "the key decoder is down")
}
