package checkpoint

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"iter"
	"math"
	"reflect"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// EncodeEntry returns the [Entry] for key k set to v, both msgpack-encoded.
func EncodeEntry[K comparable, V any](k K, v V) (Entry, error) {
	key, err := msgpack.Marshal(k)
	if err != nil {
		return Entry{}, fmt.Errorf("checkpoint: encode key %v: %w", k, err)
	}
	value, err := msgpack.Marshal(v)
	if err != nil {
		return Entry{}, fmt.Errorf("checkpoint: encode value of key %v: %w", k, err)
	}
	return Entry{Key: key, Value: value}, nil
}

// DeletedEntry returns the [Entry] recording that key k was removed, for a
// delta's Changed list.
func DeletedEntry[K comparable](k K) (Entry, error) {
	key, err := msgpack.Marshal(k)
	if err != nil {
		return Entry{}, fmt.Errorf("checkpoint: encode key %v: %w", k, err)
	}
	return Entry{Key: key, Deleted: true}, nil
}

// DecodeState turns the result of [Store.ReadState] into a typed map, the
// inverse of [EncodeEntry].
func DecodeState[K comparable, V any](raw map[string][]byte) (map[K]V, error) {
	out := make(map[K]V, len(raw))
	for key, value := range raw {
		var k K
		if err := msgpack.Unmarshal([]byte(key), &k); err != nil {
			return nil, fmt.Errorf("checkpoint: decode state key: %w: %w", ErrCorrupt, err)
		}
		var v V
		if err := msgpack.Unmarshal(value, &v); err != nil {
			return nil, fmt.Errorf("checkpoint: decode value of key %v: %w: %w", k, ErrCorrupt, err)
		}
		out[k] = v
	}
	return out, nil
}

// Entries is a list of state entries in the encoding of a state file: one
// buffer, each entry a msgpack [bin key, bin value or nil, bool deleted].
// [EntryEncoder] builds it, and the store writes its bytes as they are, so
// nothing is done per entry between the encoder and the file. The zero
// value is an empty list. Like a slice, copies share the buffer: append to
// one of them only.
type Entries struct {
	data    []byte
	n       int
	deleted int
}

// EntriesOf returns a list of the entries given, in order.
func EntriesOf(list ...Entry) Entries {
	var es Entries
	for _, e := range list {
		es.Append(e)
	}
	return es
}

// Append adds e at the end of the list.
func (es *Entries) Append(e Entry) {
	es.data = appendEntry(es.data, e)
	es.n++
	if e.Deleted {
		es.deleted++
	}
}

// Len returns the number of entries.
func (es Entries) Len() int { return es.n }

// Skip returns the list without its first n entries (all of them when it
// has fewer). The result shares the buffer; finding where it starts reads
// the n entries skipped.
func (es Entries) Skip(n int) Entries {
	n = min(max(n, 0), es.n)
	rest := es.data
	deleted := 0
	for range n {
		var e Entry
		if e, rest = nextEntry(rest); e.Deleted {
			deleted++
		}
	}
	return Entries{data: rest, n: es.n - n, deleted: es.deleted - deleted}
}

// nextEntry parses the entry at the start of b, a list's buffer, and
// returns it and what follows.
func nextEntry(b []byte) (Entry, []byte) {
	key, value, deleted, rest, err := parseEntry(b)
	if err != nil {
		// Entries is built only by Append and EntryEncoder.
		panic(fmt.Sprintf("checkpoint: Entries holds a malformed entry: %v", err))
	}
	return Entry{Key: key, Value: value, Deleted: deleted}, rest
}

// All yields the entries in order. Their keys and values share the list's
// buffer: they must not be modified.
func (es Entries) All() iter.Seq[Entry] {
	return func(yield func(Entry) bool) {
		rest := es.data
		for range es.n {
			var e Entry
			if e, rest = nextEntry(rest); !yield(e) {
				return
			}
		}
	}
}

// EntryEncoder encodes many entries of one key and value type with one
// msgpack encoder into one buffer, the [Entries] it returns: for a delta or
// a segment of thousands of entries, no allocation per entry, where
// [EncodeEntry] allocates several.
// The zero value is not usable; call [NewEntryEncoder].
type EntryEncoder[K comparable, V any] struct {
	buf bytes.Buffer
	enc *msgpack.Encoder
	// k and v are the values being encoded, reflected once, so encoding
	// does not box them into an interface per entry.
	k       K
	v       V
	kv, vv  reflect.Value
	kf, vf  fastKind
	n       int // entries encoded
	deleted int // of which deletions
	hint    int // entries expected
	prefix  []byte
}

// fastKind names the types EntryEncoder encodes itself, with the bytes
// msgpack's Encoder would write (see [AppendMsgpack]), without the
// Encoder's lookup of the type's encoder per value (a sync.Map read) and
// its calls per byte: exactly these types, not types defined on them, which
// may have encoders of their own.
type fastKind uint8

const (
	slowKind   fastKind = iota
	intKind             // int: compact, as EncodeInt
	int64Kind           // int64: 9 bytes, as EncodeInt64 by default
	stringKind          // string: as EncodeString
)

func fastKindOf(t reflect.Type) fastKind {
	switch t {
	case reflect.TypeFor[int]():
		return intKind
	case reflect.TypeFor[int64]():
		return int64Kind
	case reflect.TypeFor[string]():
		return stringKind
	}
	return slowKind
}

func (e *EntryEncoder[K, V]) encode(v reflect.Value, kind fastKind) error {
	switch kind {
	case intKind:
		e.buf.Write(appendInt(e.buf.AvailableBuffer(), v.Int()))
	case int64Kind:
		e.buf.Write(appendInt64(e.buf.AvailableBuffer(), v.Int()))
	case stringKind:
		e.buf.Write(appendString(e.buf.AvailableBuffer(), v.String()))
	default:
		return e.enc.EncodeValue(v)
	}
	return nil
}

// AppendMsgpack appends the msgpack encoding of v to b, the bytes
// msgpack.Marshal writes, when T is int, int64 or string, and reports
// whether it did: for any other type b is returned as it is. With
// [EntryEncoder.SetEncoded] it lets a caller encode a composite value of
// these types without msgpack's Encoder.
func AppendMsgpack[T any](b []byte, v T) ([]byte, bool) {
	switch x := any(v).(type) {
	case int:
		return appendInt(b, int64(x)), true
	case int64:
		return appendInt64(b, x), true
	case string:
		return appendString(b, x), true
	}
	return b, false
}

// appendInt appends n as msgpack's Encoder.EncodeInt does: in the fewest
// bytes.
func appendInt(b []byte, n int64) []byte {
	switch {
	case n >= 0:
		return appendUint(b, uint64(n))
	case n >= -32:
		return append(b, byte(n)) // negative fixint
	case n >= math.MinInt8:
		return append(b, msgpcode.Int8, byte(n))
	case n >= math.MinInt16:
		return append(b, msgpcode.Int16, byte(n>>8), byte(n))
	case n >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, msgpcode.Int32), uint32(n))
	}
	return appendInt64(b, n)
}

func appendUint(b []byte, n uint64) []byte {
	switch {
	case n <= math.MaxInt8:
		return append(b, byte(n)) // positive fixint
	case n <= math.MaxUint8:
		return append(b, msgpcode.Uint8, byte(n))
	case n <= math.MaxUint16:
		return append(b, msgpcode.Uint16, byte(n>>8), byte(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, msgpcode.Uint32), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, msgpcode.Uint64), n)
}

// appendInt64 appends n as msgpack's Encoder.EncodeInt64 does by default:
// always int 64.
func appendInt64(b []byte, n int64) []byte {
	return binary.BigEndian.AppendUint64(append(b, msgpcode.Int64), uint64(n))
}

// appendString appends s as msgpack's Encoder.EncodeString does.
func appendString(b []byte, s string) []byte {
	switch n := len(s); {
	case n < 32:
		b = append(b, msgpcode.FixedStrLow|byte(n))
	case n <= math.MaxUint8:
		b = append(b, msgpcode.Str8, byte(n))
	case n <= math.MaxUint16:
		b = append(b, msgpcode.Str16, byte(n>>8), byte(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, msgpcode.Str32), uint32(n))
	}
	return append(b, s...)
}

// NewEntryEncoder returns an encoder with room for about n entries.
func NewEntryEncoder[K comparable, V any](n int) *EntryEncoder[K, V] {
	e := &EntryEncoder[K, V]{hint: n}
	e.buf.Grow(64)
	e.enc = msgpack.NewEncoder(&e.buf)
	e.kv, e.vv = reflect.ValueOf(&e.k).Elem(), reflect.ValueOf(&e.v).Elem()
	e.kf, e.vf = fastKindOf(e.kv.Type()), fastKindOf(e.vv.Type())
	return e
}

// SetKeyPrefix makes the keys of the entries added next start with the
// bytes p, followed by the encoding of their K. With p the msgpack encoding
// of all but the last field of an as_array struct whose last field is a K
// (see [KeyPrefix]), the keys are those of that struct, without the cost of
// encoding the fields that are the same for every entry.
func (e *EntryEncoder[K, V]) SetKeyPrefix(p []byte) { e.prefix = p }

// KeyPrefix returns the prefix for [EntryEncoder.SetKeyPrefix] that makes
// keys of type K encode as key, a struct encoded as a msgpack array whose
// last field is of type K and holds the zero K.
func KeyPrefix[K comparable](key any) ([]byte, error) {
	whole, err := msgpack.Marshal(key)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: encode key prefix %v: %w", key, err)
	}
	var zero K
	last, err := msgpack.Marshal(zero)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: encode key prefix %v: %w", key, err)
	}
	prefix, ok := bytes.CutSuffix(whole, last)
	if !ok {
		return nil, fmt.Errorf("checkpoint: key prefix: %v does not end with the encoding of a zero %T", key, zero)
	}
	return prefix, nil
}

// Set adds the entry for key k set to v.
func (e *EntryEncoder[K, V]) Set(k K, v V) error {
	start, err := e.begin(k)
	if err != nil {
		return err
	}
	e.v = v
	bin := e.openBin()
	if err := e.encode(e.vv, e.vf); err != nil {
		e.buf.Truncate(start)
		return fmt.Errorf("checkpoint: encode value of key %v: %w", k, err)
	}
	e.closeBin(bin)
	e.buf.WriteByte(msgpcode.False)
	e.added(start)
	return nil
}

// SetEncoded adds the entry for key k set to the value whose msgpack
// encoding is value (see [AppendMsgpack]); the bytes are copied.
func (e *EntryEncoder[K, V]) SetEncoded(k K, value []byte) error {
	if len(value) == 0 {
		return fmt.Errorf("checkpoint: encode value of key %v: an encoded value is never empty", k)
	}
	start, err := e.begin(k)
	if err != nil {
		return err
	}
	e.buf.Write(appendBin(e.buf.AvailableBuffer(), value))
	e.buf.WriteByte(msgpcode.False)
	e.added(start)
	return nil
}

// Delete adds the entry recording that key k was removed, as
// [DeletedEntry] does.
func (e *EntryEncoder[K, V]) Delete(k K) error {
	start, err := e.begin(k)
	if err != nil {
		return err
	}
	e.buf.Write([]byte{msgpcode.Nil, msgpcode.True})
	e.deleted++
	e.added(start)
	return nil
}

// begin starts an entry, its array header and key (the key prefix and k),
// and returns where it starts. On error the buffer is left as it was.
func (e *EntryEncoder[K, V]) begin(k K) (int, error) {
	e.k = k
	start := e.buf.Len()
	e.buf.WriteByte(msgpcode.FixedArrayLow | 3)
	bin := e.openBin()
	e.buf.Write(e.prefix)
	if err := e.encode(e.kv, e.kf); err != nil {
		e.buf.Truncate(start)
		return 0, fmt.Errorf("checkpoint: encode key %v: %w", k, err)
	}
	e.closeBin(bin)
	return start, nil
}

// added counts the entry that starts at start. After the first, the buffer
// grows once to the size the expected entries will need if they are alike.
func (e *EntryEncoder[K, V]) added(start int) {
	e.n++
	if e.n == 1 && e.hint > 1 {
		e.buf.Grow((e.buf.Len() - start) * (e.hint - 1) * 9 / 8)
	}
}

// openBin starts a bin whose bytes are appended next, returning where its
// header is; closeBin writes the header once the length is known.
func (e *EntryEncoder[K, V]) openBin() int {
	at := e.buf.Len()
	e.buf.Write([]byte{msgpcode.Bin8, 0})
	return at
}

// closeBin sets the length of the bin opened at at, which runs to the end
// of the buffer, widening its header (and moving its bytes) past bin 8.
func (e *EntryEncoder[K, V]) closeBin(at int) {
	n := e.buf.Len() - at - 2
	if n <= math.MaxUint8 {
		e.buf.Bytes()[at+1] = byte(n)
		return
	}
	header := appendBinHeader(nil, n)
	e.buf.Write(header[2:]) // room for the wider header
	b := e.buf.Bytes()
	copy(b[at+len(header):], b[at+2:at+2+n])
	copy(b[at:], header)
}

// Entries returns the entries added, in order. They share the encoder's
// buffer, so the encoder must not be used afterwards.
func (e *EntryEncoder[K, V]) Entries() Entries {
	return Entries{data: e.buf.Bytes(), n: e.n, deleted: e.deleted}
}
