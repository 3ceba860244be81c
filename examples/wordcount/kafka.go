package main

import (
	"errors"
	"flag"
	"strings"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/receivers/kafka"
)

// kafkaConfig is the -kafka mode: Spark's DirectKafkaWordCount.
type kafkaConfig struct {
	brokers string // -kafka host:port[,host:port...]
	topic   string
	group   string
}

func kafkaFlags(cfg *kafkaConfig) {
	flag.StringVar(&cfg.brokers, "kafka", "", "read lines from a Kafka topic on the brokers at `host:port` (comma-separated)")
	flag.StringVar(&cfg.topic, "topic", "wc", "the Kafka `topic` of -kafka")
	flag.StringVar(&cfg.group, "group", "sluice-wordcount", "the Kafka consumer `group` of -kafka: where it resumes, where each batch's offsets are committed")
}

// kafkaLines is the stream of the values of cfg.topic's records, read by a
// direct stream from the group's committed offsets (the earliest offsets
// the first time).
func kafkaLines(ssc *context.StreamingContext, cfg kafkaConfig) (dstream.DStream[string], error) {
	if cfg.topic == "" {
		return dstream.DStream[string]{}, errors.New("-kafka needs -topic")
	}
	ds, err := kafka.NewDirectStream(ssc, strings.Split(cfg.brokers, ","), kafka.Subscribe([]string{cfg.topic}, nil),
		kafka.BytesDecoder, kafka.StringDecoder, kafka.WithGroup(cfg.group), kafka.WithStartFromEarliest())
	if err != nil {
		return dstream.DStream[string]{}, err
	}
	return dstream.Map(ds.Stream(), func(r kafka.Record[[]byte, string]) string { return r.Value }), nil
}
