package dstream

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/sluice-io/sluice/rdd"
)

// TestGraphForgetsLateInputRecords checks that the records of inputs
// computed after their own batch (here by a tumbling window that reads the
// batches before it only when it is due) are not kept forever, and that
// each batch reports the inputs computed for it.
func TestGraphForgetsLateInputRecords(t *testing.T) {
	g := NewGraph(time.Second, hclog.NewNullLogger())
	in := NewInputStream(g, "TestInputStream", SourceFunc[int](func(time.Time) (*rdd.RDD[int], int64, error) {
		return rdd.Parallelize([]int{1, 2}, 1), 2, nil
	}))
	in.Window(3*time.Second, 3*time.Second).ForeachRDD(func(ctx context.Context, r *rdd.RDD[int], _ time.Time) error {
		_, err := r.Count(ctx)
		return err
	})
	zero := time.Unix(1000, 0)
	require.NoError(t, g.Start(zero))
	for i := 1; i <= 30; i++ {
		bt := zero.Add(time.Duration(i) * time.Second)
		jobs, records, err := g.GenerateJobs(bt)
		require.NoError(t, err)
		for _, j := range jobs {
			require.NoError(t, j.run(context.Background()))
		}
		if i%3 == 0 {
			require.Equal(t, map[int]int64{in.ID(): 2}, records, "batch %d", i)
		}
		g.ClearMetadata(bt)
		g.mu.Lock()
		kept := len(g.inputRecords)
		g.mu.Unlock()
		require.Zero(t, kept, "batch %d: input records of batches already reported", i)
	}
}
