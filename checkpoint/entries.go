package checkpoint

import (
	"bytes"
	"fmt"
	"reflect"

	"github.com/vmihailenco/msgpack/v5"
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

// EntryEncoder encodes many entries of one key and value type with one
// msgpack encoder into one buffer, for a delta or a segment of thousands of
// entries: no allocation per entry, where [EncodeEntry] allocates several.
// The zero value is not usable; call [NewEntryEncoder].
type EntryEncoder[K comparable, V any] struct {
	buf bytes.Buffer
	enc *msgpack.Encoder
	// k and v are the values being encoded, reflected once, so encoding
	// does not box them into an interface per entry.
	k      K
	v      V
	kv, vv reflect.Value
	kf, vf fastKind
	ends   []entryEnd
	prefix []byte
}

// fastKind names the types EntryEncoder encodes by calling the msgpack
// Encoder method msgpack itself would choose, without its lookup of the
// type's encoder per value (a sync.Map read): exactly these types, not
// types defined on them, which may have encoders of their own.
type fastKind uint8

const (
	slowKind   fastKind = iota
	intKind             // int: EncodeInt, compact
	int64Kind           // int64: EncodeInt64, as msgpack encodes int64 by default
	stringKind          // string: EncodeString
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
		return e.enc.EncodeInt(v.Int())
	case int64Kind:
		return e.enc.EncodeInt64(v.Int())
	case stringKind:
		return e.enc.EncodeString(v.String())
	}
	return e.enc.EncodeValue(v)
}

type entryEnd struct {
	key, value int // end offsets in buf
	deleted    bool
}

// NewEntryEncoder returns an encoder with room for about n entries.
func NewEntryEncoder[K comparable, V any](n int) *EntryEncoder[K, V] {
	e := &EntryEncoder[K, V]{ends: make([]entryEnd, 0, n)}
	e.buf.Grow(n * 16)
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
	e.k, e.v = k, v
	e.buf.Write(e.prefix)
	if err := e.encode(e.kv, e.kf); err != nil {
		return fmt.Errorf("checkpoint: encode key %v: %w", k, err)
	}
	keyEnd := e.buf.Len()
	if err := e.encode(e.vv, e.vf); err != nil {
		return fmt.Errorf("checkpoint: encode value of key %v: %w", k, err)
	}
	e.ends = append(e.ends, entryEnd{key: keyEnd, value: e.buf.Len()})
	return nil
}

// Delete adds the entry recording that key k was removed, as
// [DeletedEntry] does.
func (e *EntryEncoder[K, V]) Delete(k K) error {
	e.k = k
	e.buf.Write(e.prefix)
	if err := e.encode(e.kv, e.kf); err != nil {
		return fmt.Errorf("checkpoint: encode key %v: %w", k, err)
	}
	n := e.buf.Len()
	e.ends = append(e.ends, entryEnd{key: n, value: n, deleted: true})
	return nil
}

// Entries returns the entries added, in order. They share the encoder's
// buffer, so the encoder must not be used afterwards.
func (e *EntryEncoder[K, V]) Entries() []Entry {
	data := e.buf.Bytes()
	out := make([]Entry, len(e.ends))
	start := 0
	for i, end := range e.ends {
		out[i] = Entry{Key: data[start:end.key:end.key], Deleted: end.deleted}
		if !end.deleted {
			out[i].Value = data[end.key:end.value:end.value]
		}
		start = end.value
	}
	return out
}
