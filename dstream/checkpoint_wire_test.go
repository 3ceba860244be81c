package dstream

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/sluice-io/sluice/checkpoint"
)

// storedWire is storedState without its hand-written encoder: the bytes
// the as_array tag gives.
type storedWire[S any] struct {
	_msgpack struct{} `msgpack:",as_array"`
	State    S
	Updated  int64
}

type wireStruct struct {
	A string
	B []int
}

type count int64

// checkStoredState checks that storedState encodes as its tag says and
// decodes back, through EntryEncoder.Set (which uses AppendMsgpack for int,
// int64 and string states) and through msgpack's Encoder (EncodeMsgpack).
func checkStoredState[S any](t *testing.T, states ...S) {
	t.Helper()
	enc := checkpoint.NewEntryEncoder[int, storedState[S]](len(states))
	for i, st := range states {
		require.NoError(t, enc.Set(i, stored(stateEntry[S]{state: st, updated: int64(i) - 1<<40})))
		want, err := msgpack.Marshal(storedWire[S]{State: st, Updated: int64(i) - 1<<40})
		require.NoError(t, err)
		viaEncoder, err := msgpack.Marshal(&storedState[S]{State: st, Updated: int64(i) - 1<<40})
		require.NoError(t, err)
		require.Equal(t, want, viaEncoder, "EncodeMsgpack, state %v", st)
	}
	for i, e := range slices.Collect(enc.Entries().All()) {
		want, err := msgpack.Marshal(storedWire[S]{State: states[i], Updated: int64(i) - 1<<40})
		require.NoError(t, err)
		require.Equal(t, want, e.Value, "state %v", states[i])
		var back storedState[S]
		require.NoError(t, msgpack.Unmarshal(e.Value, &back))
		require.Equal(t, storedState[S]{State: states[i], Updated: int64(i) - 1<<40}, back)
	}
}

func TestStoredStateWire(t *testing.T) {
	checkStoredState(t, int64(0), 5, -1<<50, 1<<62)
	wide := int64(1) << 40 // an int past 32 bits where int has 64
	checkStoredState(t, 0, 127, 128, -33, int(wide))
	checkStoredState(t, "", "word", string(make([]byte, 300)))
	checkStoredState(t, count(7), count(-1<<33))
	checkStoredState(t, wireStruct{A: "x", B: []int{1, 2}}, wireStruct{})
	checkStoredState(t, []string{"a"}, nil)
	three, err := msgpack.Marshal([]int64{1, 2, 3})
	require.NoError(t, err)
	var st storedState[int64]
	require.ErrorContains(t, msgpack.Unmarshal(three, &st), "an array of 2")
}
