package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

// TestTransactionalRestartResumesFromGroupOffsets runs the transactional
// pipeline with a checkpoint directory and restarts it after batch 2's
// transaction committed: "checkpoint lost" removes batch 2's checkpoint, as
// if the process died before writing it, so batch 2 is generated again from
// the position of batch 1; "re-run" adds a stateful branch checkpointed
// every 4 batches, so batches 1 and 2 are re-run over their restored
// ranges. Either way the group already committed their offsets in their
// transactions: they must read nothing again, and the output must hold
// every input record exactly once. (They read their records again and
// produced them twice.)
func TestTransactionalRestartResumesFromGroupOffsets(t *testing.T) {
	for _, rerun := range []bool{false, true} {
		name := "checkpoint lost"
		if rerun {
			name = "re-run"
		}
		t.Run(name, func(t *testing.T) { testTransactionalRestart(t, rerun) })
	}
}

func testTransactionalRestart(t *testing.T, rerun bool) {
	c := newCluster(t, 2, "in", "out")
	dir := t.TempDir()
	parts := []int32{0, 1}
	at := batchAt
	start := func(now time.Duration) *life {
		t.Helper()
		return startLife(t, dir, now, func(ssc *streaming.StreamingContext) error {
			ds, err := kafka.NewDirectStream(ssc, c.ListenAddrs(), kafka.Subscribe([]string{"in"}, nil),
				kafka.StringDecoder, kafka.StringDecoder, kafka.WithGroup("g"), kafka.WithManualCommit(),
				kafka.WithStartFromEarliest(), kafka.WithReadCommitted())
			if err != nil {
				return err
			}
			if rerun {
				countPerPartition(ds)
			}
			upper := dstream.Map(ds.Stream(), func(r kafka.Record[string, string]) string { return strings.ToUpper(r.Value) })
			return kafka.SaveToKafkaTransactional(upper, ds, "wc-txn", func(s string) *kgo.Record {
				return &kgo.Record{Topic: "out", Value: []byte(s)}
			}, kafka.WithTransactionTimeout(5*time.Second))
		})
	}

	first := start(0)
	for i := 1; i <= 2; i++ {
		produce(t, c, "in", parts, 10*(i-1), 10)
		first.clock.Advance(time.Second)
		first.waitFor(t, at(i))
		require.NoError(t, first.ssc.AwaitCheckpoint(context.Background(), at(i)))
	}
	require.NoError(t, first.ssc.Stop(false))
	if !rerun {
		// Batch 2's transaction committed; its checkpoint was never written.
		require.NoError(t, os.Remove(filepath.Join(dir, fmt.Sprintf("checkpoint-%020d.meta", at(2).UnixNano()))))
	}

	second := start(2 * time.Second) // generates batch 2 (and 1 if rerun) again
	second.waitFor(t, at(2))
	produce(t, c, "in", parts, 20, 10)
	second.clock.Advance(time.Second)
	second.waitFor(t, at(3))
	require.NoError(t, second.ssc.Stop(false))

	got := readCommitted(t, c, "out")
	var want []string
	for _, p := range parts {
		for i := range 30 {
			want = append(want, strings.ToUpper(fmt.Sprintf("in/%d/%d", p, i)))
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	require.Equal(t, want, got, "read_committed output must hold every input record exactly once")
}
