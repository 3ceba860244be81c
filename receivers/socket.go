package receivers

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
	"unicode/utf8"
)

// Defaults of the socket receiver; each option's doc names the one it overrides.
const (
	// DefaultMaxLineBytes is the longest line a text socket receiver accepts: 1 MiB.
	DefaultMaxLineBytes = 1 << 20
	// DefaultReconnectMinBackoff is the first wait before reconnecting.
	DefaultReconnectMinBackoff = 100 * time.Millisecond
	// DefaultReconnectMaxBackoff caps the doubling wait between connection attempts.
	DefaultReconnectMaxBackoff = 5 * time.Second
)

// SocketOption configures a SocketReceiver.
type SocketOption interface{ applySocket(*socketConfig) }

type socketOptionFunc func(*socketConfig)

func (f socketOptionFunc) applySocket(c *socketConfig) { f(c) }

type socketConfig struct {
	maxLine    int
	minBackoff time.Duration
	maxBackoff time.Duration
}

// WithMaxLineBytes sets the longest line a text socket receiver accepts
// (default DefaultMaxLineBytes, 1 MiB); a longer line is reported with
// ErrLineTooLong and skipped.
func WithMaxLineBytes(n int) SocketOption {
	return socketOptionFunc(func(c *socketConfig) { c.maxLine = n })
}

// WithReconnectBackoff sets the exponential backoff between connection
// attempts (default DefaultReconnectMinBackoff doubling up to
// DefaultReconnectMaxBackoff); it resets after each connection that sent
// data, so a server that accepts and closes at once is retried ever more
// slowly.
func WithReconnectBackoff(min, max time.Duration) SocketOption {
	return socketOptionFunc(func(c *socketConfig) { c.minBackoff, c.maxBackoff = min, max })
}

// SocketReceiver connects as a TCP client to an address, the way Spark's
// socketTextStream connects to `nc -lk 9999`, and stores what a converter
// reads from the connection. When the server refuses, goes away or resets the
// connection, it reports a receiver error wrapping ErrConnection and
// reconnects with backoff; records already stored are kept. An error of
// the converter itself (a record it refuses) is reported as such, not as
// ErrConnection, and the receiver reconnects too, as Spark restarts it.
type SocketReceiver[T any] struct {
	addr    string
	cfg     socketConfig
	convert func(h *Handle[T], conn io.Reader) error
}

// NewSocketReceiver returns a receiver that reads from addr with convert
// (Spark's socketStream with a converter): convert reads the connection and
// calls emit for every record; it returns when the reader fails or ends, or
// when emit returns an error (the receiver is stopping), and its result is
// reported.
func NewSocketReceiver[T any](addr string, convert func(r io.Reader, emit func(T) error) error, opts ...SocketOption) *SocketReceiver[T] {
	r := &SocketReceiver[T]{addr: addr, cfg: newSocketConfig(opts)}
	r.convert = func(h *Handle[T], conn io.Reader) error { return convert(conn, h.Store) }
	return r
}

// NewSocketTextReceiver returns a receiver of UTF-8 lines from addr (Spark's
// socketTextStream); "\n" and "\r\n" end a line and are not part of it. A
// line that is not valid UTF-8 or is longer than the limit is reported with
// the source address and line number and skipped. A last line cut by the
// server closing the connection is stored, as Spark's readLine does; one cut
// by a read error is reported and dropped.
func NewSocketTextReceiver(addr string, opts ...SocketOption) *SocketReceiver[string] {
	r := &SocketReceiver[string]{addr: addr, cfg: newSocketConfig(opts)}
	r.convert = func(h *Handle[string], conn io.Reader) error {
		return scanLines(conn, r.cfg.maxLine, h.Store, func(line int, err error) {
			h.ReportError(fmt.Sprintf("skipping line %d from %s", line, r.addr),
				fmt.Errorf("%w: line %d from %s", err, line, r.addr))
		})
	}
	return r
}

func newSocketConfig(opts []SocketOption) socketConfig {
	cfg := socketConfig{maxLine: DefaultMaxLineBytes, minBackoff: DefaultReconnectMinBackoff, maxBackoff: DefaultReconnectMaxBackoff}
	for _, o := range opts {
		o.applySocket(&cfg)
	}
	if cfg.maxLine <= 0 {
		cfg.maxLine = DefaultMaxLineBytes
	}
	if cfg.maxBackoff < cfg.minBackoff {
		cfg.maxBackoff = cfg.minBackoff
	}
	return cfg
}

// Addr returns the address the receiver connects to.
func (r *SocketReceiver[T]) Addr() string { return r.addr }

// OnStart starts the connection loop.
func (r *SocketReceiver[T]) OnStart(h *Handle[T]) {
	h.Go(func(ctx context.Context) { r.connectLoop(ctx, h) })
}

// OnStop does nothing: the connection loop ends with the Handle's Context.
func (r *SocketReceiver[T]) OnStop() {}

func (r *SocketReceiver[T]) connectLoop(ctx context.Context, h *Handle[T]) {
	var dialer net.Dialer
	backoff := r.cfg.minBackoff
	for ctx.Err() == nil {
		conn, err := dialer.DialContext(ctx, "tcp", r.addr)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			h.ReportError("connecting to "+r.addr+" failed, retrying in "+backoff.String(), fmt.Errorf("%w: %w", ErrConnection, err))
			if !sleepCtx(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, r.cfg.maxBackoff)
			continue
		}
		h.Logger().Info("connected", "addr", r.addr)
		stopClose := context.AfterFunc(ctx, func() { conn.Close() })
		read := &countingReader{r: conn}
		err = r.convert(h, read)
		stopClose()
		conn.Close()
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = io.EOF
		}
		// A connection that sent something resets the backoff; one that
		// ended before sending a byte (a server that accepts and closes)
		// counts as a failed attempt, so the reconnects slow down.
		if read.n > 0 {
			backoff = r.cfg.minBackoff
		}
		if err != io.EOF && (read.err == nil || !errors.Is(err, read.err)) {
			// The converter's own error (a record it refused), not the
			// connection's: reported as such, then reconnect (Spark's
			// receiver restarts on a converter's exception too).
			h.ReportError("converting the data from "+r.addr+" failed, reconnecting in "+backoff.String(), fmt.Errorf("receivers: converter of %s: %w", r.addr, err))
		} else {
			h.ReportError("connection to "+r.addr+" ended, reconnecting in "+backoff.String(), fmt.Errorf("%w: %w", ErrConnection, err))
		}
		if !sleepCtx(ctx, backoff) {
			return
		}
		if read.n == 0 {
			backoff = min(2*backoff, r.cfg.maxBackoff)
		}
	}
}

// countingReader counts the bytes read through it and keeps the read
// error (io.EOF when the server closed), to tell the connection's errors
// from the converter's.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil {
		c.err = err
	}
	return n, err
}

// sleepCtx waits d or until ctx is done; it reports whether d elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// scanLines reads lines from r and emits the valid ones; bad lines go to bad
// with their 1-based number. It returns nil at EOF, the error of emit, or the
// read error (a partial line is then dropped).
func scanLines(r io.Reader, maxLine int, emit func(string) error, bad func(line int, err error)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var line []byte
	tooLong := false
	lineNo := 0
	finish := func() error {
		lineNo++
		content := bytes.TrimSuffix(bytes.TrimSuffix(line, []byte{'\n'}), []byte{'\r'})
		defer func() { line, tooLong = line[:0], false }()
		switch {
		case tooLong || len(content) > maxLine:
			bad(lineNo, ErrLineTooLong)
		case !utf8.Valid(content):
			bad(lineNo, ErrInvalidUTF8)
		default:
			return emit(string(content))
		}
		return nil
	}
	for {
		frag, err := br.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(frag) > maxLine+2 {
				tooLong, line = true, line[:0]
			} else {
				line = append(line, frag...)
			}
		}
		switch {
		case err == nil:
			if err := finish(); err != nil {
				return err
			}
		case errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			if len(line) > 0 || tooLong {
				return finish()
			}
			return nil
		default:
			if len(line) > 0 || tooLong {
				return fmt.Errorf("partial line %d dropped: %w", lineNo+1, err)
			}
			return err
		}
	}
}
