package kafka

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/twmb/franz-go/pkg/kadm"
)

// committer sends offset commits to a group from one goroutine, in order,
// merging commits queued while one is in flight. Offsets are committed
// without group membership (generation -1), as Kafka allows for a group
// with no active member.
type committer struct {
	admin   *kadm.Client
	group   string
	timeout time.Duration // of one commit request (WithRequestTimeout)
	log     hclog.Logger

	mu        sync.Mutex
	pending   map[TopicPartition]int64
	callbacks []func(error)
	wake      chan struct{}
	done      chan struct{}
	closed    bool
	failures  int64
}

func newCommitter(admin *kadm.Client, group string, timeout time.Duration, log hclog.Logger) *committer {
	return &committer{admin: admin, group: group, timeout: timeout, log: log, pending: map[TopicPartition]int64{},
		wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (c *committer) enqueue(ranges []OffsetRange, callback func(error)) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		if callback != nil {
			callback(fmt.Errorf("%w: stream stopped", ErrCommit))
		}
		return
	}
	for _, o := range ranges {
		tp := o.TopicPartition()
		if cur, ok := c.pending[tp]; !ok || o.UntilOffset > cur {
			c.pending[tp] = o.UntilOffset
		}
	}
	if callback != nil {
		c.callbacks = append(c.callbacks, callback)
	}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// stop sends what is pending and ends run.
func (c *committer) stop() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.done)
	}
	c.mu.Unlock()
}

func (c *committer) run() {
	for {
		select {
		case <-c.wake:
			c.flush()
		case <-c.done:
			c.flush()
			return
		}
	}
}

func (c *committer) flush() {
	c.mu.Lock()
	pending, callbacks := c.pending, c.callbacks
	c.pending, c.callbacks = map[TopicPartition]int64{}, nil
	c.mu.Unlock()
	if len(pending) == 0 && len(callbacks) == 0 {
		return
	}
	err := commitOffsets(c.admin, c.group, pending, c.timeout)
	if err != nil {
		c.mu.Lock()
		c.failures++
		// Keep what failed unless a newer commit of the partition came in.
		for tp, o := range pending {
			if cur, ok := c.pending[tp]; !ok || o > cur {
				c.pending[tp] = o
			}
		}
		c.mu.Unlock()
		c.log.Warn("committing offsets failed; retried with the next commit", "group", c.group,
			"offsets", formatOffsets(pending), "error", err)
	}
	for _, cb := range callbacks {
		cb(err)
	}
}

// commitOffsets commits offsets to group outside any group generation,
// waiting at most timeout for the broker.
func commitOffsets(admin *kadm.Client, group string, offsets map[TopicPartition]int64, timeout time.Duration) error {
	if len(offsets) == 0 {
		return nil
	}
	var os kadm.Offsets
	for tp, o := range offsets {
		os.Add(kadm.Offset{Topic: tp.Topic, Partition: tp.Partition, At: o, LeaderEpoch: -1})
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	resps, err := admin.CommitOffsets(ctx, group, os)
	if err == nil {
		err = resps.Error()
	}
	if err != nil {
		return fmt.Errorf("%w: group %q, offsets %s: %w", ErrCommit, group, formatOffsets(offsets), err)
	}
	return nil
}

// formatOffsets returns offsets as "t[0]@5, t[1]@7", sorted by partition.
func formatOffsets(offsets map[TopicPartition]int64) string {
	tps := slices.SortedFunc(maps.Keys(offsets), compareTP)
	parts := make([]string, len(tps))
	for i, tp := range tps {
		parts[i] = fmt.Sprintf("%s@%d", tp, offsets[tp])
	}
	return strings.Join(parts, ", ")
}
