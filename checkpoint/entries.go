package checkpoint

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"iter"
	"math"
	"reflect"
	"slices"
	"sync/atomic"
	"unsafe"

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
	// reuse tells lists that start in the same buffer apart: Reuse gives
	// each list it returns a number of its own, which appending and
	// NewEntryEncoderAfter keep (see aheadFile.extends).
	reuse uint64
}

// reuses numbers the lists returned by Reuse.
var reuses atomic.Uint64

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

// AppendList adds the entries of other at the end of the list.
func (es *Entries) AppendList(other Entries) {
	es.data = append(es.data, other.data...)
	es.n += other.n
	es.deleted += other.deleted
}

// Grow makes room for n more bytes of entries, so that appending them
// does not move the list to a new buffer.
func (es *Entries) Grow(n int) {
	es.data = slices.Grow(es.data, n)
}

// Reuse returns an empty list on the buffer of es, for building another
// list once the entries of es are no longer read.
func (es Entries) Reuse() Entries { return Entries{data: es.data[:0], reuse: reuses.Add(1)} }

// Size returns the length of the entries' encoding in bytes.
func (es Entries) Size() int { return len(es.data) }

// JoinEntries returns one list of the entries of lists, in order: lists
// encoded apart, by several EntryEncoders at once, become one. The bytes
// are copied once into a buffer of the size needed, unless only one list
// has entries, which is returned as it is.
func JoinEntries(lists ...Entries) Entries {
	var out Entries
	size, nonEmpty := 0, 0
	for _, es := range lists {
		if es.n > 0 {
			size += len(es.data)
			nonEmpty++
			out = es
		}
	}
	if nonEmpty <= 1 {
		return out
	}
	out = Entries{data: make([]byte, 0, size)}
	for _, es := range lists {
		out.data = append(out.data, es.data...)
		out.n += es.n
		out.deleted += es.deleted
	}
	return out
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
	return Entries{data: rest, n: es.n - n, deleted: es.deleted - deleted, reuse: es.reuse}
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
	buf []byte
	// enc writes to buf, for the keys and values that appendFast does
	// not encode itself.
	enc *msgpack.Encoder
	// k and v are the values being encoded, reflected once, so encoding
	// them with enc does not box them into an interface per entry.
	k       K
	v       V
	kv, vv  reflect.Value
	va      MsgpackAppender // &v when V's pointer is one
	n       int             // entries encoded
	deleted int             // of which deletions
	reuse   uint64          // of the list it continues (NewEntryEncoderAfter)
	hint    int             // entries expected
	prefix  []byte
	// keyKind is what appendFast would find K to be, found once: keys
	// are encoded without a type switch per entry.
	keyKind fastKind
}

// fastKind is a type that appendFast encodes itself: exactly int, int64
// or string (not a type defined on one, which may have an encoder of its
// own), or none of them.
type fastKind uint8

const (
	kindOther fastKind = iota
	kindInt
	kindInt64
	kindString
)

// fastKindOf returns the fastKind of T.
func fastKindOf[T any]() fastKind {
	switch any((*T)(nil)).(type) {
	case *int:
		return kindInt
	case *int64:
		return kindInt64
	case *string:
		return kindString
	}
	return kindOther
}

// appendKind appends the msgpack encoding of *v, whose type's fastKind is
// kind (not kindOther), as appendFast does, without its type switch.
func appendKind[T any](b []byte, v *T, kind fastKind) []byte {
	p := unsafe.Pointer(v)
	switch kind {
	case kindInt64:
		return appendInt64(b, *(*int64)(p))
	case kindInt:
		return appendInt(b, int64(*(*int)(p)))
	}
	return appendString(b, *(*string)(p))
}

// bufWriter is the io.Writer through which an EntryEncoder's msgpack
// encoder appends to its buffer.
type bufWriter struct{ b *[]byte }

func (w bufWriter) Write(p []byte) (int, error) {
	*w.b = append(*w.b, p...)
	return len(p), nil
}

func (w bufWriter) WriteByte(c byte) error {
	*w.b = append(*w.b, c)
	return nil
}

func (w bufWriter) WriteString(s string) (int, error) {
	*w.b = append(*w.b, s...)
	return len(s), nil
}

// MsgpackAppender is implemented by the pointer of a value type that
// appends its own msgpack encoding, faster than msgpack's Encoder (with
// [AppendMsgpack] for its fields, say): [EntryEncoder.Set] uses it for
// the values of an entry. AppendMsgpack appends exactly the bytes
// msgpack.Marshal writes for the value and reports true, or reports false,
// and the encoder then drops what it appended and uses msgpack's Encoder.
type MsgpackAppender interface {
	AppendMsgpack(b []byte) ([]byte, bool)
}

// appendFast appends the msgpack encoding of *v to b when T is exactly
// int, int64 or string (not a type defined on one, which may have an
// encoder of its own), with the bytes msgpack's Encoder writes, and
// reports whether it did. Matching on the pointer boxes nothing.
func appendFast[T any](b []byte, v *T) ([]byte, bool) {
	if kind := fastKindOf[T](); kind != kindOther {
		return appendKind(b, v, kind), true
	}
	return b, false
}

// AppendMsgpack appends the msgpack encoding of v to b, the bytes
// msgpack.Marshal writes, when T is int, int64 or string, and reports
// whether it did: for any other type b is returned as it is. It lets a
// [MsgpackAppender] encode a composite value of these types without
// msgpack's Encoder.
func AppendMsgpack[T any](b []byte, v T) ([]byte, bool) {
	return appendFast(b, &v)
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

// AppendInt64 appends n as msgpack's Encoder.EncodeInt64 does by default
// (always int 64, 9 bytes), for a [MsgpackAppender] whose field is an
// int64 encoded so: unlike [AppendMsgpack], it costs no type switch.
func AppendInt64(b []byte, n int64) []byte { return appendInt64(b, n) }

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
	e := &EntryEncoder[K, V]{hint: n, buf: make([]byte, 0, 64)}
	e.enc = msgpack.NewEncoder(bufWriter{&e.buf})
	e.kv, e.vv = reflect.ValueOf(&e.k).Elem(), reflect.ValueOf(&e.v).Elem()
	e.va, _ = any(&e.v).(MsgpackAppender)
	e.keyKind = fastKindOf[K]()
	return e
}

// NewEntryEncoderAfter returns an encoder whose entries are those of es
// and then those added, written into es's buffer after them (the encoder
// grows it when full): a list built up batch by batch, in a buffer used
// again, costs no new memory. es must not be appended to elsewhere.
func NewEntryEncoderAfter[K comparable, V any](es Entries) *EntryEncoder[K, V] {
	e := NewEntryEncoder[K, V](0)
	e.buf, e.n, e.deleted, e.reuse = es.data, es.n, es.deleted, es.reuse
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
	if e.keyKind != kindOther && e.va != nil && e.setFast(&k, v) {
		return nil
	}
	start, err := e.begin(k)
	if err != nil {
		return err
	}
	bin := e.openBin()
	var ok bool
	if e.buf, ok = appendFast(e.buf, &v); !ok {
		e.v = v
		if e.va != nil {
			e.buf, ok = e.va.AppendMsgpack(e.buf)
		}
	}
	if !ok {
		e.buf = e.buf[:bin+2] // the bin's header, which closeBin sets
		if err := e.enc.EncodeValue(e.vv); err != nil {
			e.buf = e.buf[:start]
			return fmt.Errorf("checkpoint: encode value of key %v: %w", k, err)
		}
	}
	e.closeBin(bin)
	e.buf = append(e.buf, msgpcode.False)
	e.added(start)
	return nil
}

// setFast is Set for a key that appendFast encodes and a value that
// appends itself, when both fit a bin 8: the inner loop of a state
// checkpoint, on a local slice (the general path goes through the
// buffer in e for every piece, a load and a store each). It reports false,
// having added nothing, when they do not fit or V's appender declines.
func (e *EntryEncoder[K, V]) setFast(k *K, v V) bool {
	b := e.buf
	start := len(b)
	b = append(b, msgpcode.FixedArrayLow|3, msgpcode.Bin8, 0)
	b = append(b, e.prefix...)
	b = appendKind(b, k, e.keyKind)
	keyLen := len(b) - start - 3
	if keyLen > math.MaxUint8 {
		return false
	}
	b[start+2] = byte(keyLen)
	at := len(b)
	b = append(b, msgpcode.Bin8, 0)
	e.v = v
	b, ok := e.va.AppendMsgpack(b)
	if n := len(b) - at - 2; !ok || n > math.MaxUint8 {
		return false
	} else {
		b[at+1] = byte(n)
	}
	e.buf = append(b, msgpcode.False)
	e.added(start)
	return true
}

// Delete adds the entry recording that key k was removed, as
// [DeletedEntry] does.
func (e *EntryEncoder[K, V]) Delete(k K) error {
	start, err := e.begin(k)
	if err != nil {
		return err
	}
	e.buf = append(e.buf, msgpcode.Nil, msgpcode.True)
	e.deleted++
	e.added(start)
	return nil
}

// begin starts an entry, its array header and key (the key prefix and k),
// and returns where it starts. On error the buffer is left as it was.
func (e *EntryEncoder[K, V]) begin(k K) (int, error) {
	start := len(e.buf)
	e.buf = append(e.buf, msgpcode.FixedArrayLow|3)
	bin := e.openBin()
	e.buf = append(e.buf, e.prefix...)
	if e.keyKind != kindOther {
		e.buf = appendKind(e.buf, &k, e.keyKind)
	} else {
		e.k = k
		if err := e.enc.EncodeValue(e.kv); err != nil {
			e.buf = e.buf[:start]
			return 0, fmt.Errorf("checkpoint: encode key %v: %w", k, err)
		}
	}
	e.closeBin(bin)
	return start, nil
}

// added counts the entry that starts at start. After the first, the buffer
// grows once to the size the expected entries will need if they are alike.
func (e *EntryEncoder[K, V]) added(start int) {
	e.n++
	if e.n == 1 && e.hint > 1 {
		e.buf = slices.Grow(e.buf, (len(e.buf)-start)*(e.hint-1)*9/8)
	}
}

// openBin starts a bin whose bytes are appended next, returning where its
// header is; closeBin writes the header once the length is known.
func (e *EntryEncoder[K, V]) openBin() int {
	at := len(e.buf)
	e.buf = append(e.buf, msgpcode.Bin8, 0)
	return at
}

// closeBin sets the length of the bin opened at at, which runs to the end
// of the buffer, widening its header (and moving its bytes) past bin 8.
func (e *EntryEncoder[K, V]) closeBin(at int) {
	n := len(e.buf) - at - 2
	if n <= math.MaxUint8 {
		e.buf[at+1] = byte(n)
		return
	}
	header := appendBinHeader(nil, n)
	e.buf = append(e.buf, header[2:]...) // room for the wider header
	copy(e.buf[at+len(header):], e.buf[at+2:at+2+n])
	copy(e.buf[at:], header)
}

// Entries returns the entries added, in order. They share the encoder's
// buffer, so the encoder must not be used afterwards.
func (e *EntryEncoder[K, V]) Entries() Entries {
	return Entries{data: e.buf, n: e.n, deleted: e.deleted, reuse: e.reuse}
}
