package main

import (
	"bufio"
	"bytes"
	stdcontext "context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-io/sluice/dstream/dstreamtest"
)

// kafkaWithLines starts a kfake cluster of three brokers with topic "wc" of
// three partitions holding lines, spread round-robin.
func kafkaWithLines(t *testing.T, lines []string) *kfake.Cluster {
	c, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(3, "wc"))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("wc"),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	require.NoError(t, err)
	defer cl.Close()
	recs := make([]*kgo.Record, len(lines))
	for i, l := range lines {
		recs[i] = &kgo.Record{Value: []byte(l)}
	}
	require.NoError(t, cl.ProduceSync(stdcontext.Background(), recs...).FirstErr())
	return c
}

func TestKafkaWordCountMatchesIndependentCount(t *testing.T) {
	data, err := os.ReadFile(warAndPeace)
	require.NoError(t, err)
	// The first 5,000 lines keep the test quick under -race.
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() && len(lines) < 5000 {
		lines = append(lines, sc.Text())
	}
	want, _ := independentCount(t, []byte(strings.Join(lines, "\n")))
	c := kafkaWithLines(t, lines)
	cfg := config{kafka: kafkaConfig{brokers: strings.Join(c.ListenAddrs(), ","), topic: "wc", group: "wc-test"}}

	h := dstreamtest.NewHarness(t, time.Second)
	in, err := kafkaLines(h.Context(), cfg.kafka)
	require.NoError(t, err)
	out := dstreamtest.Collect(countWords(in, cfg))
	h.Start()
	h.Step()
	h.Step()
	h.Stop()
	got := map[string]int64{}
	for _, batch := range out.Batches() {
		for _, p := range batch {
			got[p.Key] += p.Value
		}
	}
	require.Equal(t, want, got)

	// Each batch's offsets were committed to the group.
	admin, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	require.NoError(t, err)
	defer admin.Close()
	offs, err := kadm.NewClient(admin).FetchOffsets(stdcontext.Background(), "wc-test")
	require.NoError(t, err)
	var total int64
	for _, o := range offs["wc"] {
		total += o.At
	}
	require.Equal(t, int64(len(lines)), total)
}

func TestKafkaWordCountSetupPrints(t *testing.T) {
	c := kafkaWithLines(t, []string{"to be or not to be"})
	h := dstreamtest.NewHarness(t, time.Second)
	var buf safeBuffer
	cfg := config{show: 10, kafka: kafkaConfig{brokers: strings.Join(c.ListenAddrs(), ","), topic: "wc", group: "g"}}
	require.NoError(t, setup(h.Context(), cfg, &buf))
	h.Start()
	h.Step()
	h.Stop()
	require.Contains(t, buf.String(), "(to,2)")
	require.Contains(t, buf.String(), "(be,2)")
	require.ErrorContains(t, setup(h.Context(), config{socket: "x:1", kafka: kafkaConfig{brokers: "y:1"}}, &buf), "not both")
}

// safeBuffer is a bytes.Buffer safe for the batch runner and the test.
type safeBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *safeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *safeBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
