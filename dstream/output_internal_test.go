package dstream

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBatchFileName checks Spark's rddToFileName: the prefix and its dash,
// and the dot and suffix, only when given.
func TestBatchFileName(t *testing.T) {
	at := time.UnixMilli(1500)
	for _, tc := range []struct{ prefix, suffix, want string }{
		{"out", "txt", "out-1500.txt"},
		{"out", "", "out-1500"},
		{"", "txt", "1500.txt"},
		{"", "", "1500"},
	} {
		require.Equal(t, tc.want, batchFileName(tc.prefix, tc.suffix, at), "prefix %q suffix %q", tc.prefix, tc.suffix)
	}
}
