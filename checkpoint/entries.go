package checkpoint

import (
	"fmt"

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
