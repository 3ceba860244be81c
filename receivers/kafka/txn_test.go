package kafka_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	streaming "github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/receivers/kafka"
)

// runTopicToTopic runs the upper-casing pipeline from "in" to "out" for
// steps batches with hook on its transactions, and returns the batches'
// errors.
func runTopicToTopic(t *testing.T, c *kfake.Cluster, steps int, hook func(string) error) []error {
	t.Helper()
	h := dstreamtest.NewHarness(t, time.Second, streaming.WithContinueOnBatchFailure())
	ds, err := kafka.NewDirectStream(h.Context(), c.ListenAddrs(), kafka.Subscribe([]string{"in"}, nil),
		kafka.StringDecoder, kafka.StringDecoder, kafka.WithGroup("g"), kafka.WithManualCommit(),
		kafka.WithStartFromEarliest(), kafka.WithReadCommitted())
	require.NoError(t, err)
	upper := dstream.Map(ds.Stream(), func(r kafka.Record[string, string]) string { return strings.ToUpper(r.Value) })
	opts := []kafka.TxnOption{kafka.WithTransactionTimeout(5 * time.Second)}
	if hook != nil {
		opts = append(opts, kafka.WithTxnHook(hook))
	}
	require.NoError(t, kafka.SaveToKafkaTransactional(upper, ds, "wc-txn", func(s string) *kgo.Record {
		return &kgo.Record{Topic: "out", Value: []byte(s)}
	}, opts...))
	h.Start()
	var errs []error
	for range steps {
		errs = append(errs, h.Step().Err())
	}
	h.Stop()
	return errs
}

func TestSaveToKafkaTransactionalExactlyOnceUnderCrashes(t *testing.T) {
	for _, crashAt := range []string{"produced", "offsets", "abort"} {
		t.Run(crashAt, func(t *testing.T) {
			c := newCluster(t, 3, "in", "out")
			produce(t, c, "in", []int32{0, 1, 2}, 0, 10)
			// Run 1: the first batch commits, then more input arrives and
			// the second batch dies between its steps.
			var batch atomic.Int32
			errs := runTopicToTopic(t, c, 1, nil)
			require.NoError(t, errs[0])
			produce(t, c, "in", []int32{0, 1, 2}, 10, 10)
			errs = runTopicToTopic(t, c, 1, func(step string) error {
				batch.Add(1)
				switch {
				case crashAt == "abort" && step == "offsets":
					return errors.New("injected failure")
				case step == crashAt:
					return kafka.ErrCrash
				}
				return nil
			})
			require.ErrorIs(t, errs[0], kafka.ErrTransaction)
			// Run 2 restarts from the group's committed offsets.
			errs = runTopicToTopic(t, c, 2, nil)
			require.NoError(t, errs[0])
			require.NoError(t, errs[1])

			got := readCommitted(t, c, "out")
			var want []string
			for p := range 3 {
				for i := range 20 {
					want = append(want, strings.ToUpper(fmt.Sprintf("in/%d/%d", p, i)))
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			require.Equal(t, want, got, "read_committed output must hold every input record exactly once")
		})
	}
}

func TestTxnOffsetCommitErrorNamesTopic(t *testing.T) {
	c := newCluster(t, 1, "in", "out")
	produce(t, c, "in", []int32{0}, 0, 3)
	c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.TxnOffsetCommit}, Group: "g", Err: kerr.GroupAuthorizationFailed, Count: -1})
	errs := runTopicToTopic(t, c, 1, nil)
	require.ErrorIs(t, errs[0], kafka.ErrTransaction)
	require.Contains(t, errs[0].Error(), `TxnOffsetCommit of group "g", in[0] at offset 3`)
}
