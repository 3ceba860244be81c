package receivers

import (
	"bufio"
	"errors"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestScanLines(t *testing.T) {
	long := strings.Repeat("x", 100<<10) // longer than the bufio buffer
	tests := []struct {
		name    string
		in      string
		max     int
		want    []string
		bad     []string // "line:error"
		wantErr bool
	}{
		{name: "lines", in: "a\nb\r\n\nc", max: 10, want: []string{"a", "b", "", "c"}},
		{name: "empty", in: "", max: 10},
		{name: "invalid utf8", in: "ok\n\xff\xfe\nfine\n", max: 10, want: []string{"ok", "fine"}, bad: []string{"2:" + ErrInvalidUTF8.Error()}},
		{name: "too long", in: "12345\n123456\n123\n", max: 5, want: []string{"12345", "123"}, bad: []string{"2:" + ErrLineTooLong.Error()}},
		{name: "too long at EOF", in: "1\n123456789", max: 5, want: []string{"1"}, bad: []string{"2:" + ErrLineTooLong.Error()}},
		{name: "crlf at the limit", in: "12345\r\n", max: 5, want: []string{"12345"}},
		{name: "long line within limit", in: long + "\nend\n", max: DefaultMaxLineBytes, want: []string{long, "end"}},
		{name: "long line over limit", in: long + long + "\nend\n", max: 150 << 10, want: []string{"end"}, bad: []string{"1:" + ErrLineTooLong.Error()}},
	}
	for _, tt := range tests {
		for _, oneByte := range []bool{false, true} {
			var r io.Reader = strings.NewReader(tt.in)
			if oneByte {
				r = iotest.OneByteReader(r)
			}
			var got, bad []string
			err := scanLines(r, tt.max, func(s string) error { got = append(got, s); return nil },
				func(line int, err error) { bad = append(bad, strconv.Itoa(line)+":"+err.Error()) })
			if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) || !slices.Equal(bad, tt.bad) {
				t.Errorf("%s (one byte %v): got %d lines %.40q bad %v err %v; want %.40q bad %v", tt.name, oneByte, len(got), got, bad, err, tt.want, tt.bad)
			}
		}
	}
	// A read error drops the partial line and is returned.
	var got []string
	err := scanLines(io.MultiReader(strings.NewReader("a\npar"), iotest.ErrReader(errors.New("reset"))), 10,
		func(s string) error { got = append(got, s); return nil }, func(int, error) {})
	if err == nil || !slices.Equal(got, []string{"a"}) {
		t.Errorf("read error: got %q, %v", got, err)
	}
}

// server is a line server on 127.0.0.1 that can go away and come back on the same port.
type server struct {
	t     *testing.T
	addr  string
	ln    net.Listener
	conns chan net.Conn
}

func newServer(t *testing.T) *server {
	s := &server{t: t, conns: make(chan net.Conn, 16)}
	s.listen("127.0.0.1:0")
	s.addr = s.ln.Addr().String()
	return s
}

func (s *server) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.t.Fatal(err)
	}
	s.ln = ln
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns <- c
		}
	}()
	s.t.Cleanup(func() { ln.Close(); <-done })
}

func (s *server) accept() net.Conn {
	select {
	case c := <-s.conns:
		s.t.Cleanup(func() { c.Close() })
		return c
	case <-time.After(failAfter):
		s.t.Fatal("receiver did not connect")
		return nil
	}
}

func startText(t *testing.T, addr string, opts ...SocketOption) (*Supervisor[string], *collector[string], *recorder) {
	t.Helper()
	rec := newRecorder()
	r := NewSocketTextReceiver(addr, append([]SocketOption{WithReconnectBackoff(time.Millisecond, 10*time.Millisecond)}, opts...)...)
	sup, err := NewSupervisor[string](r, WithListener(rec), WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	c := newCollector(sup)
	if err := sup.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sup.Stop() })
	return sup, c, rec
}

func isConnError(info ReceiverInfo) bool { return errors.Is(info.LastError, ErrConnection) }

func TestSocketReceiverReconnectsWhenServerRestarts(t *testing.T) {
	srv := newServer(t)
	sup, c, rec := startText(t, srv.addr)
	conn := srv.accept()
	io.WriteString(conn, "a\nb\n")
	c.waitRecords(t, 2)
	conn.Close() // server closes the connection: reported, reconnect
	rec.waitFor(t, "error", isConnError)
	conn = srv.accept()
	io.WriteString(conn, "c\n")
	c.waitRecords(t, 3)
	// The server goes away entirely, then comes back on the same port.
	srv.ln.Close()
	conn.Close()
	rec.waitFor(t, "error", func(i ReceiverInfo) bool {
		return isConnError(i) && strings.Contains(i.LastErrorMessage, "connecting to")
	})
	srv.listen(srv.addr)
	conn = srv.accept()
	io.WriteString(conn, "d\n")
	if got := c.waitRecords(t, 4); !slices.Equal(got, []string{"a", "b", "c", "d"}) {
		t.Fatalf("records %q", got)
	}
	if err := sup.Stop(); err != nil {
		t.Fatal(err)
	}
}

func TestSocketReceiverRefusedThenServerAppears(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: connections are refused
	_, c, rec := startText(t, addr)
	info := rec.waitFor(t, "error", isConnError)
	if !strings.Contains(info.LastErrorMessage, addr) {
		t.Errorf("error message %q does not name %s", info.LastErrorMessage, addr)
	}
	srv := &server{t: t, conns: make(chan net.Conn, 4), addr: addr}
	srv.listen(addr)
	io.WriteString(srv.accept(), "hello\n")
	if got := c.waitRecords(t, 1); !slices.Equal(got, []string{"hello"}) {
		t.Fatalf("records %q", got)
	}
}

func TestSocketReceiverSlowServer(t *testing.T) {
	srv := newServer(t)
	_, c, _ := startText(t, srv.addr)
	conn := srv.accept()
	// Lines arrive in fragments written separately; the receiver joins them.
	for _, frag := range []string{"hel", "lo\nwor", "ld", "\n"} {
		io.WriteString(conn, frag)
	}
	if got := c.waitRecords(t, 2); !slices.Equal(got, []string{"hello", "world"}) {
		t.Fatalf("records %q", got)
	}
}

func TestSocketReceiverAbruptCloseMidLine(t *testing.T) {
	srv := newServer(t)
	_, c, rec := startText(t, srv.addr)
	conn := srv.accept()
	io.WriteString(conn, "full\npart")
	conn.Close() // EOF mid-line: the partial line is stored, as Spark's readLine does
	rec.waitFor(t, "error", isConnError)
	if got := c.waitRecords(t, 2); !slices.Equal(got, []string{"full", "part"}) {
		t.Fatalf("records %q", got)
	}
}

func TestSocketReceiverConnectionResetKeepsStoredRecords(t *testing.T) {
	srv := newServer(t)
	_, c, rec := startText(t, srv.addr)
	conn := srv.accept()
	io.WriteString(conn, "a\nb\n")
	c.waitRecords(t, 2)
	io.WriteString(conn, "partial-lost")
	conn.(*net.TCPConn).SetLinger(0) // close with RST
	conn.Close()
	rec.waitFor(t, "error", isConnError)
	io.WriteString(srv.accept(), "c\n")
	got := c.waitRecords(t, 3)
	if !slices.Equal(got[:2], []string{"a", "b"}) || got[len(got)-1] != "c" {
		t.Fatalf("records %q", got)
	}
}

func TestSocketReceiverBadInputIsReportedAndSkipped(t *testing.T) {
	srv := newServer(t)
	_, c, rec := startText(t, srv.addr, WithMaxLineBytes(8))
	conn := srv.accept()
	io.WriteString(conn, "ok1\n\xff\xfe\nthis line is too long\nok2\n")
	if got := c.waitRecords(t, 2); !slices.Equal(got, []string{"ok1", "ok2"}) {
		t.Fatalf("records %q", got)
	}
	utf := rec.waitFor(t, "error", func(i ReceiverInfo) bool { return errors.Is(i.LastError, ErrInvalidUTF8) })
	long := rec.waitFor(t, "error", func(i ReceiverInfo) bool { return errors.Is(i.LastError, ErrLineTooLong) })
	local := conn.LocalAddr().String()
	if !strings.Contains(utf.LastErrorMessage, "line 2 from "+local) || !strings.Contains(long.LastError.Error(), "line 3 from "+local) {
		t.Errorf("reports %q / %v do not name the line and source", utf.LastErrorMessage, long.LastError)
	}
}

func TestSocketReceiverWithConverter(t *testing.T) {
	srv := newServer(t)
	words := func(r io.Reader, emit func(int) error) error {
		b, err := io.ReadAll(r)
		for _, w := range strings.Fields(string(b)) {
			if err := emit(len(w)); err != nil {
				return err
			}
		}
		return err
	}
	r := NewSocketReceiver(srv.addr, words, WithReconnectBackoff(time.Millisecond, time.Millisecond))
	if r.Addr() != srv.addr {
		t.Errorf("Addr %q", r.Addr())
	}
	sup, _ := NewSupervisor[int](r, WithLogger(quietLogger()))
	c := newCollector(sup)
	sup.Start()
	defer sup.Stop()
	conn := srv.accept()
	io.WriteString(conn, "a bb ccc")
	conn.Close()
	if got := c.waitRecords(t, 3); !slices.Equal(got, []int{1, 2, 3}) {
		t.Fatalf("records %v", got)
	}
}

// TestSocketReceiverBacksOffFromServerClosingAtOnce checks that a server
// that accepts and closes without sending anything is reconnected to with
// a growing backoff (a connect alone used to reset it, so the receiver
// reconnected at the shortest wait for ever), and that a connection that
// sends data resets it.
func TestSocketReceiverBacksOffFromServerClosingAtOnce(t *testing.T) {
	srv := newServer(t)
	_, c, _ := startText(t, srv.addr, WithReconnectBackoff(10*time.Millisecond, time.Second))
	first := time.Now()
	for range 5 {
		srv.accept().Close()
	}
	// Waits of 10, 20, 40 and 80 ms at least between the five connects
	// (a constant 10 ms before the fix).
	if d := time.Since(first); d < 150*time.Millisecond {
		t.Fatalf("five connects to a server closing at once took %v, want at least 150ms of backoff", d)
	}
	conn := srv.accept()
	io.WriteString(conn, "a\n")
	c.waitRecords(t, 1)
	conn.Close()
	start := time.Now()
	srv.accept().Close()
	// 10 ms after the reset, against 320 ms without it.
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Fatalf("reconnect after a connection that sent data took %v, want the reset backoff (10ms)", d)
	}
}

// A converter that refuses a record reports its own error, not a
// connection error, and the receiver reconnects and goes on.
func TestSocketReceiverConverterErrorIsNotAConnectionError(t *testing.T) {
	srv := newServer(t)
	errBad := errors.New("bad record")
	words := func(r io.Reader, emit func(string) error) error {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if sc.Text() == "bad" {
				return errBad
			}
			if err := emit(sc.Text()); err != nil {
				return err
			}
		}
		return sc.Err()
	}
	rec := newRecorder()
	r := NewSocketReceiver(srv.addr, words, WithReconnectBackoff(time.Millisecond, time.Millisecond))
	sup, _ := NewSupervisor[string](r, WithListener(rec), WithLogger(quietLogger()))
	c := newCollector(sup)
	sup.Start()
	defer sup.Stop()
	io.WriteString(srv.accept(), "a\nbad\n")
	conn := srv.accept() // reconnected after the converter's error
	io.WriteString(conn, "b\n")
	conn.Close()
	if got := c.waitRecords(t, 2); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("records %v", got)
	}
	info := rec.waitFor(t, "error", nil)
	if !errors.Is(info.LastError, errBad) || isConnError(info) {
		t.Fatalf("first error %v: want the converter's, not a connection error", info.LastError)
	}
	if !strings.Contains(info.LastError.Error(), srv.addr) {
		t.Errorf("error %v does not name the address", info.LastError)
	}
}
