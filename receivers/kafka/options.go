package kafka

import (
	"fmt"
	"maps"
	"regexp"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ConsumerStrategy says which partitions a direct stream reads and,
// optionally, where each starts, Spark's ConsumerStrategies. Build one with
// Subscribe, SubscribePattern or Assign.
type ConsumerStrategy struct {
	topics  []string
	pattern *regexp.Regexp
	assign  []TopicPartition
	offsets map[TopicPartition]int64
}

// Subscribe reads every partition of topics, including partitions added
// while the stream runs (picked up at the next batch). offsets, which may be
// nil, are starting offsets the user keeps in their own store; they win over
// the consumer group's committed offsets but not over a restored checkpoint
// position.
func Subscribe(topics []string, offsets map[TopicPartition]int64) ConsumerStrategy {
	return ConsumerStrategy{topics: append([]string(nil), topics...), offsets: maps.Clone(offsets)}
}

// SubscribePattern reads every partition of every topic whose name matches
// pattern, re-listing topics at every batch, so topics created while the
// stream runs are picked up. Internal topics (names starting with "__") are
// left out.
func SubscribePattern(pattern *regexp.Regexp, offsets map[TopicPartition]int64) ConsumerStrategy {
	return ConsumerStrategy{pattern: pattern, offsets: maps.Clone(offsets)}
}

// Assign reads exactly the given partitions, Spark's Assign, starting at
// offsets where given.
func Assign(partitions []TopicPartition, offsets map[TopicPartition]int64) ConsumerStrategy {
	return ConsumerStrategy{assign: append([]TopicPartition(nil), partitions...), offsets: maps.Clone(offsets)}
}

func (s ConsumerStrategy) validate() error {
	if len(s.topics) == 0 && s.pattern == nil && len(s.assign) == 0 {
		return ErrNoTopics
	}
	return nil
}

// String returns the strategy for logs: Subscribe([topics]),
// SubscribePattern(regexp) or Assign([partitions]).
func (s ConsumerStrategy) String() string {
	switch {
	case s.pattern != nil:
		return "SubscribePattern(" + s.pattern.String() + ")"
	case len(s.assign) > 0:
		return fmt.Sprintf("Assign(%v)", s.assign)
	default:
		return fmt.Sprintf("Subscribe(%v)", s.topics)
	}
}

// Option configures a direct stream. Each option's doc names the default
// it overrides.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	group               string
	commitOnCompletion  bool
	maxRatePerPartition float64
	minRatePerPartition int64
	backpressure        bool
	initialRate         float64
	startFromEarliest   bool
	readCommitted       bool
	skipBadRecords      bool
	clientOpts          []kgo.Opt
	startTimeout        time.Duration
	requestTimeout      time.Duration
	fetchTimeout        time.Duration
	logger              hclog.Logger
	// stopHook, when set (tests), runs when Stop returns, with its
	// argument.
	stopHook func(graceful bool)
}

func defaultConfig() config {
	return config{
		minRatePerPartition: 1,
		startTimeout:        30 * time.Second,
		requestTimeout:      30 * time.Second,
		fetchTimeout:        30 * time.Second,
	}
}

// WithGroup sets the consumer group (Spark's group.id): partitions with no
// other starting offset start from the group's committed offsets, and after
// every batch that completes without failure its offsets are committed to
// the group (Spark's commitAsync after the outputs). A failed batch's
// offsets are not committed, nor, for its partitions, any later batch's
// past them (with WithContinueOnBatchFailure the stream goes on, but a
// program restarted from the group reads the failed records again). The
// default is no group: nothing is read from or committed to Kafka's offset
// store.
func WithGroup(group string) Option {
	return optionFunc(func(c *config) { c.group, c.commitOnCompletion = group, true })
}

// WithManualCommit keeps the group of WithGroup for starting offsets but
// does not commit after each batch: the program calls
// (*DirectStream).CommitAsync itself, as in Spark. The transactional output
// commits in its transaction and needs neither. The default, with a group,
// commits after every batch that completes.
func WithManualCommit() Option {
	return optionFunc(func(c *config) { c.commitOnCompletion = false })
}

// WithMaxRatePerPartition bounds how many records a batch takes from each
// partition to recordsPerSecond × the batch interval, Spark's
// spark.streaming.kafka.maxRatePerPartition. The default is no bound: a
// batch takes everything up to the end of each partition.
func WithMaxRatePerPartition(recordsPerSecond float64) Option {
	return optionFunc(func(c *config) { c.maxRatePerPartition = recordsPerSecond })
}

// WithMinRatePerPartition is the least number of records per second a
// partition with a backlog gives each batch under backpressure, Spark's
// spark.streaming.kafka.minRatePerPartition. The default is 1.
func WithMinRatePerPartition(recordsPerSecond int64) Option {
	return optionFunc(func(c *config) { c.minRatePerPartition = recordsPerSecond })
}

// WithBackpressure bounds each batch by the rate Spark's PID estimator
// computes from completed batches, shared among partitions in proportion to
// their backlog and capped by WithMaxRatePerPartition (Spark's
// spark.streaming.backpressure.enabled). The default is off.
func WithBackpressure() Option { return optionFunc(func(c *config) { c.backpressure = true }) }

// WithInitialRate bounds the batches under WithBackpressure before the
// estimator has a rate (the first batches, and after a restart) to
// recordsPerSecond in all, shared among partitions by backlog, Spark's
// spark.streaming.backpressure.initialRate. The default is no bound: the
// first batch takes the whole backlog (or WithMaxRatePerPartition's share).
func WithInitialRate(recordsPerSecond float64) Option {
	return optionFunc(func(c *config) { c.initialRate = recordsPerSecond })
}

// WithStartFromEarliest starts partitions that have no other starting
// offset at their earliest offset (Spark's auto.offset.reset=earliest). The
// default is the latest offset, for the partitions known at Start (the
// first batch's, if the brokers did not answer then) of a stream that
// resumes nothing; partitions discovered later, or missing
// from a restored or committed position, always start at their earliest
// offset so that no record written before they were seen is lost.
func WithStartFromEarliest() Option {
	return optionFunc(func(c *config) { c.startFromEarliest = true })
}

// WithReadCommitted reads only records of committed transactions and ends
// every range at the last stable offset (isolation.level=read_committed).
// The default reads uncommitted records too, up to the high watermark.
func WithReadCommitted() Option { return optionFunc(func(c *config) { c.readCommitted = true }) }

// WithSkipBadRecords skips records the decoders refuse: each is logged with
// its topic, partition and offset and counted (SkippedRecords). The default
// fails the batch with the *DecodeError.
func WithSkipBadRecords() Option { return optionFunc(func(c *config) { c.skipBadRecords = true }) }

// WithClientOptions adds franz-go options (TLS, SASL, client ID, ...) to
// every client the stream creates. The seed brokers are set already; the
// default adds none (plaintext, franz-go's defaults).
func WithClientOptions(opts ...kgo.Opt) Option {
	return optionFunc(func(c *config) { c.clientOpts = append(c.clientOpts, opts...) })
}

// WithStartTimeout bounds how long Start retries, with backoff, to reach a
// broker before failing with ErrBrokerUnreachable. The default is 30s.
func WithStartTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.startTimeout = d })
}

// WithRequestTimeout bounds the metadata and offset requests of one batch
// (franz-go retries inside it); past it the batch fails with ErrListOffsets
// and ErrBrokerUnreachable, and the next batch starts where it would have.
// It also bounds each offset commit, the last one at Stop included. The
// default is 30s.
func WithRequestTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.requestTimeout = d })
}

// WithFetchTimeout bounds how long a task waits without progress for the
// records of its range before failing with ErrFetch. The default is 30s.
func WithFetchTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.fetchTimeout = d })
}

// WithLogger sets the logger. The default is the context's logger, named
// "kafka".
func WithLogger(l hclog.Logger) Option { return optionFunc(func(c *config) { c.logger = l }) }

func (c *config) validate() error {
	switch {
	case c.maxRatePerPartition < 0:
		return fmt.Errorf("%w: negative max rate per partition %v", ErrInvalidOption, c.maxRatePerPartition)
	case c.initialRate < 0:
		return fmt.Errorf("%w: negative initial rate %v", ErrInvalidOption, c.initialRate)
	case c.minRatePerPartition < 1:
		return fmt.Errorf("%w: min rate per partition must be at least 1, got %d", ErrInvalidOption, c.minRatePerPartition)
	case c.startTimeout <= 0 || c.requestTimeout <= 0 || c.fetchTimeout <= 0:
		return fmt.Errorf("%w: timeouts must be positive", ErrInvalidOption)
	case c.commitOnCompletion && c.group == "":
		return fmt.Errorf("%w: empty group", ErrInvalidOption)
	}
	return nil
}
