package checkpoint

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

type arrayKey struct {
	_msgpack struct{} `msgpack:",as_array"`
	Time     int64
	Flag     bool
	Key      string
}

// TestEntryEncoderMatchesEncodeEntry checks that entries encoded in bulk
// are byte for byte those of EncodeEntry and DeletedEntry: keys of the two
// must merge in deltas and compactions.
func TestEntryEncoderMatchesEncodeEntry(t *testing.T) {
	type value struct {
		N    int
		Tags []string
	}
	keys := []arrayKey{{Time: 1, Key: "a"}, {Time: -1 << 40, Flag: true, Key: ""}, {Time: 7, Key: "ünïcode"}}
	enc := NewEntryEncoder[arrayKey, value](1) // grows past its hint
	var want []Entry
	for i, k := range keys {
		v := value{N: i * 1000, Tags: []string{k.Key}}
		require.NoError(t, enc.Set(k, v))
		want = append(want, must(EncodeEntry(k, v)))
		require.NoError(t, enc.Delete(k))
		want = append(want, must(DeletedEntry(k)))
	}
	require.Equal(t, EntriesOf(want...), enc.Entries(), "the encoder's list is byte for byte the one Append builds")
	got := slices.Collect(enc.Entries().All())
	require.Len(t, got, len(want))
	for i := range want {
		require.Equal(t, want[i].Key, got[i].Key, "entry %d key", i)
		require.Equal(t, want[i].Deleted, got[i].Deleted, "entry %d deleted", i)
		if !want[i].Deleted {
			require.Equal(t, want[i].Value, got[i].Value, "entry %d value", i)
		} else {
			require.Empty(t, got[i].Value)
		}
	}
	// Appending to an entry's key must not overwrite the next entry.
	k0 := append(got[0].Key, 0xff)
	require.Equal(t, want[0].Value, got[0].Value)
	require.Equal(t, len(want[0].Key)+1, len(k0))
}

func TestEntryEncoderReportsUnencodable(t *testing.T) {
	enc := NewEntryEncoder[int, chan int](1)
	require.ErrorContains(t, enc.Set(3, make(chan int)), "encode value of key 3")
}

// TestKeyPrefix checks that keys encoded as a prefix and a last field are
// those of the whole struct.
func TestKeyPrefix(t *testing.T) {
	prefix, err := KeyPrefix[string](arrayKey{Time: 1 << 50, Flag: true})
	require.NoError(t, err)
	enc := NewEntryEncoder[string, int](2)
	enc.SetKeyPrefix(prefix)
	for _, k := range []string{"", "word", string(make([]byte, 300))} {
		require.NoError(t, enc.Set(k, len(k)))
	}
	got := slices.Collect(enc.Entries().All())
	for i, k := range []string{"", "word", string(make([]byte, 300))} {
		want := must(EncodeEntry(arrayKey{Time: 1 << 50, Flag: true, Key: k}, len(k)))
		require.Equal(t, want, got[i])
		back, err := DecodeState[arrayKey, int](map[string][]byte{string(got[i].Key): got[i].Value})
		require.NoError(t, err)
		require.Equal(t, map[arrayKey]int{{Time: 1 << 50, Flag: true, Key: k}: len(k)}, back)
	}
	_, err = KeyPrefix[string](arrayKey{Key: "not zero"})
	require.ErrorContains(t, err, "does not end with the encoding of a zero string")
}

// TestEncodeEntryMatchesMsgpack checks the hand-written entry encoding
// against msgpack's Encoder at every bin length boundary, and that it
// parses back.
func TestEncodeEntryMatchesMsgpack(t *testing.T) {
	for _, n := range []int{-1, 0, 1, 255, 256, 65535, 65536} {
		var b []byte
		if n >= 0 {
			b = bytes.Repeat([]byte{'x'}, n)
		}
		for _, e := range []Entry{{Key: b, Value: b}, {Key: b, Deleted: true}, {Key: []byte("k"), Value: b}} {
			var want bytes.Buffer
			enc := msgpack.NewEncoder(&want)
			value := e.Value
			if e.Deleted {
				value = nil
			}
			require.NoError(t, enc.EncodeArrayLen(3))
			require.NoError(t, enc.EncodeBytes(e.Key))
			require.NoError(t, enc.EncodeBytes(value))
			require.NoError(t, enc.EncodeBool(e.Deleted))
			b := appendEntry(nil, e)
			require.Equal(t, want.Bytes(), b, "length %d, deleted %v", n, e.Deleted)
			key, val, deleted, rest, err := parseEntry(b)
			require.NoError(t, err)
			require.Empty(t, rest)
			require.Equal(t, len(e.Key), len(key))
			require.Equal(t, len(value), len(val))
			require.Equal(t, e.Deleted, deleted)
		}
	}
}

// TestEntryEncoderFastKinds checks that int, int64 and string keys and
// values, which skip msgpack's encoder lookup, encode as msgpack encodes
// them, and that a type defined on one of them goes through msgpack.
func TestEntryEncoderFastKinds(t *testing.T) {
	type myInt int
	ints := []int64{0, 1, 127, 128, 255, 256, 65535, 65536, 1<<32 - 1, 1 << 32, -1, -32, -33, -128, -129, -32768, -32769, -1 << 31, -1<<31 - 1, 1<<63 - 1, -1 << 63}
	encInt := NewEntryEncoder[int, int64](len(ints))
	encStr := NewEntryEncoder[string, myInt](len(ints))
	for _, n := range ints {
		require.NoError(t, encInt.Set(int(n), n))
		require.NoError(t, encStr.Set(string(make([]byte, int(n&0x1ffff))), myInt(n)))
	}
	for i, e := range slices.Collect(encInt.Entries().All()) {
		require.Equal(t, must(EncodeEntry(int(ints[i]), ints[i])), e, "int %d", ints[i])
	}
	for i, e := range slices.Collect(encStr.Entries().All()) {
		require.Equal(t, must(EncodeEntry(string(make([]byte, int(ints[i]&0x1ffff))), myInt(ints[i]))), e, "string of %d bytes", ints[i]&0x1ffff)
	}
	_, fast := appendFast(nil, new(myInt))
	require.False(t, fast, "a type defined on int may have an encoder of its own")
	require.Equal(t, kindOther, fastKindOf[myInt]())
	require.Equal(t, []fastKind{kindInt, kindInt64, kindString}, []fastKind{fastKindOf[int](), fastKindOf[int64](), fastKindOf[string]()})
	// Keys of each kind through setFast (a value that appends itself).
	encI := NewEntryEncoder[int, appendedPair](len(ints))
	encI64 := NewEntryEncoder[int64, appendedPair](len(ints))
	encS := NewEntryEncoder[string, appendedPair](len(ints))
	for _, n := range ints {
		v := appendedPair{A: n, B: "b"}
		require.NoError(t, encI.Set(int(n), v))
		require.NoError(t, encI64.Set(n, v))
		require.NoError(t, encS.Set(fmt.Sprint(n), v))
	}
	for i, e := range slices.Collect(encI.Entries().All()) {
		require.Equal(t, must(EncodeEntry(int(ints[i]), appendedPair{A: ints[i], B: "b"})), e, "int key %d", ints[i])
	}
	for i, e := range slices.Collect(encI64.Entries().All()) {
		require.Equal(t, must(EncodeEntry(ints[i], appendedPair{A: ints[i], B: "b"})), e, "int64 key %d", ints[i])
	}
	for i, e := range slices.Collect(encS.Entries().All()) {
		require.Equal(t, must(EncodeEntry(fmt.Sprint(ints[i]), appendedPair{A: ints[i], B: "b"})), e, "string key %d", ints[i])
	}
	for _, n := range ints {
		check := func(v any, got []byte, ok bool) {
			t.Helper()
			require.True(t, ok)
			require.Equal(t, must(msgpack.Marshal(v)), got[2:], "%T %v", v, v)
			require.Equal(t, []byte{1, 2}, got[:2], "appends")
		}
		got, ok := AppendMsgpack([]byte{1, 2}, int(n))
		check(int(n), got, ok)
		var buf bytes.Buffer
		require.NoError(t, msgpack.NewEncoder(&buf).EncodeInt64(n))
		require.Equal(t, append([]byte{1, 2}, buf.Bytes()...), AppendInt64([]byte{1, 2}, n), "AppendInt64(%d)", n)
		got, ok = AppendMsgpack([]byte{1, 2}, n)
		check(n, got, ok)
		s := string(make([]byte, int(n&0x1ffff)))
		got, ok = AppendMsgpack([]byte{1, 2}, s)
		check(s, got, ok)
	}
	got, ok := AppendMsgpack([]byte{1}, myInt(1))
	require.False(t, ok, "a type defined on int may encode itself")
	require.Equal(t, []byte{1}, got)
}

// appendedPair encodes itself (MsgpackAppender) unless its B is "slow",
// where it gives up halfway.
type appendedPair struct {
	_msgpack struct{} `msgpack:",as_array"`
	A        int64
	B        string
}

func (p *appendedPair) AppendMsgpack(b []byte) ([]byte, bool) {
	b = append(b, msgpcode.FixedArrayLow|2)
	b, _ = AppendMsgpack(b, p.A)
	if p.B == "slow" {
		return b, false // after appending part of it: the encoder drops that
	}
	return AppendMsgpack(b, p.B)
}

// TestEntryEncoderMsgpackAppender checks that a value that appends its own
// encoding gives the entry msgpack's Encoder would, and that the Encoder
// takes over when the value declines.
func TestEntryEncoderMsgpackAppender(t *testing.T) {
	enc := NewEntryEncoder[string, appendedPair](3)
	require.NotNil(t, enc.va)
	for i, k := range []string{"a", string(make([]byte, 300)), "slow"} {
		v := appendedPair{A: int64(i) << 40, B: k}
		require.NoError(t, enc.Set(k, v))
		want := must(EncodeEntry(k, struct {
			_msgpack struct{} `msgpack:",as_array"`
			A        int64
			B        string
		}{A: v.A, B: v.B}))
		require.Equal(t, want, slices.Collect(enc.Entries().All())[i], "key %.5q", k)
	}
}

// TestEntryEncoderWidensBins checks keys and values of every bin width,
// whose headers the encoder widens after encoding them, against Append,
// and a failed Set leaving the list as it was.
func TestEntryEncoderWidensBins(t *testing.T) {
	enc := NewEntryEncoder[string, string](2)
	var want []Entry
	for _, n := range []int{0, 250, 255, 256, 65535, 65536, 3} {
		k, v := string(bytes.Repeat([]byte{'k'}, n)), string(bytes.Repeat([]byte{'v'}, n/2))
		require.NoError(t, enc.Set(k, v))
		want = append(want, must(EncodeEntry(k, v)))
		require.NoError(t, enc.Delete(k))
		want = append(want, must(DeletedEntry(k)))
	}
	require.Equal(t, EntriesOf(want...), enc.Entries())

	bad := NewEntryEncoder[int, any](2)
	require.NoError(t, bad.Set(1, "one"))
	require.Error(t, bad.Set(2, make(chan int)))
	require.Equal(t, EntriesOf(must(EncodeEntry(1, any("one")))), bad.Entries())

	// A key that does not encode fails Set and Delete alike,
	// naming the key, and leaves nothing behind.
	badKey := NewEntryEncoder[chan int, int](2)
	ch := make(chan int)
	require.ErrorContains(t, badKey.Set(ch, 1), "encode key")
	require.ErrorContains(t, badKey.Delete(ch), "encode key")
	require.Equal(t, 0, badKey.Entries().Len())
	require.Empty(t, badKey.Entries().data)
}

// TestStateFileBytesStable checks a delta and a full state file byte for
// byte, and that files written by earlier builds still read: those of the
// build before Entries (a62ffaa), which framed each entry again after
// encoding it, and of the builds before the written-ahead delta, which
// encoded the batch time in msgpack's shortest int format (now always an
// int 64, so that a state file's head has a length known in advance).
func TestStateFileBytesStable(t *testing.T) {
	entries := EntriesOf(must(EncodeEntry("a", int64(1))), must(DeletedEntry("b")))
	delta, err := stateFile("words", 7, false, entries)
	require.NoError(t, err)
	require.Equal(t, "534c434b0001000000000000002e94a5776f726473d30000000000000007c2dd0000000293c402a161c409d30000000000000001c293c402a162c0c3e906fa04",
		hex.EncodeToString(slices.Concat(delta...)))
	full, err := stateFile("w", 8, true, EntriesOf(must(EncodeEntry("a", int64(1)))))
	require.NoError(t, err)
	_, err = stateFile("w", 8, true, entries)
	require.ErrorContains(t, err, "cannot hold deleted entries (it holds 1)")

	type read struct {
		key, value string
		deleted    bool
	}
	decode := func(data []byte) (stateHeader, []read) {
		var got []read
		h, err := decodeState(data, func(key string, value []byte, deleted bool) bool {
			got = append(got, read{key, string(value), deleted})
			return true
		})
		require.NoError(t, err)
		return h, got
	}
	a, b := string(must(EncodeEntry("a", int64(1))).Key), string(must(DeletedEntry("b")).Key)
	one := string(must(EncodeEntry("a", int64(1))).Value)
	for _, file := range []string{
		hex.EncodeToString(slices.Concat(delta...)),
		"534c434b0001000000000000002694a5776f72647307c2dd0000000293c402a161c409d30000000000000001c293c402a162c0c32ac0634c",
	} {
		h, got := decode(must(hex.DecodeString(file)))
		require.Equal(t, stateHeader{streamID: "words", batchNanos: 7}, h)
		require.Equal(t, []read{{a, one, false}, {b, "", true}}, got)
	}
	for _, file := range []string{
		hex.EncodeToString(slices.Concat(full...)),
		"534c434b0001000000000000001b94a17708c3dd0000000193c402a161c409d30000000000000001c2a42cc66e",
	} {
		h, got := decode(must(hex.DecodeString(file)))
		require.Equal(t, stateHeader{streamID: "w", batchNanos: 8, full: true}, h)
		require.Equal(t, []read{{a, one, false}}, got)
	}
}

// TestEntriesSkip checks that Skip drops the first entries, counts the
// deletions it keeps, and shares the buffer.
func TestEntriesSkip(t *testing.T) {
	list := []Entry{must(DeletedEntry("a")), must(DeletedEntry("b")), must(EncodeEntry("c", 3)), must(EncodeEntry("d", 4))}
	es := EntriesOf(list...)
	tail := es.Skip(2)
	require.Equal(t, EntriesOf(list[2:]...), tail)
	require.Equal(t, 0, tail.deleted)
	require.Equal(t, 1, es.Skip(1).deleted)
	require.Same(t, &es.data[len(es.data)-1], &tail.data[len(tail.data)-1], "the tail shares the list's buffer")
	require.Equal(t, es, es.Skip(-1))
	require.Equal(t, 0, es.Skip(10).Len())
	_, err := stateFile("w", 1, true, tail)
	require.NoError(t, err, "the live tail is a full snapshot")
}

func TestJoinEntries(t *testing.T) {
	list := []Entry{must(DeletedEntry("a")), must(EncodeEntry("b", 2)), must(EncodeEntry("c", 3)), must(DeletedEntry("d")), must(EncodeEntry("e", 5))}
	first, second := EntriesOf(list[:2]...), EntriesOf(list[2:]...)
	joined := JoinEntries(first, Entries{}, second)
	require.Equal(t, EntriesOf(list...), joined)
	require.Equal(t, 2, joined.deleted)
	require.Equal(t, len(joined.data), cap(joined.data), "one buffer of the size needed")
	require.Equal(t, first, EntriesOf(list[:2]...), "the lists joined are unchanged")
	only := JoinEntries(Entries{}, second, Entries{})
	require.Same(t, &second.data[0], &only.data[0], "a single list is not copied")
	require.Equal(t, 0, JoinEntries().Len())
	require.Equal(t, 0, JoinEntries(Entries{}, Entries{}).Len())
}
