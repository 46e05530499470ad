package slogloge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// msgs returns the "msg" of each record, in arrival order.
func msgs(t *testing.T, recs []record) []string {
	t.Helper()
	var out []string
	for _, r := range recs {
		out = append(out, recordMap(t, r)["msg"].(string))
	}
	return out
}

func logN(l *slog.Logger, from, to int) {
	for i := from; i < to; i++ {
		l.Info(fmt.Sprint(i))
	}
}

func seq(from, to int) string {
	var s []string
	for i := from; i < to; i++ {
		s = append(s, fmt.Sprint(i))
	}
	return strings.Join(s, " ")
}

func TestFullBatchIsPushedWithoutWaitingForTheInterval(t *testing.T) {
	f := newFakeLoge(t)
	h := newTestHandler(t, f, Options{BatchSize: 10}) // interval: an hour
	logN(slog.New(h), 0, 25)
	waitFor(t, "two full batches", func() bool { return len(f.got()) == 2 })
	flush(t, h)
	var sizes []int
	for _, r := range f.got() {
		sizes = append(sizes, len(r.records()))
	}
	if fmt.Sprint(sizes) != "[10 10 5]" {
		t.Errorf("batch sizes %v, want [10 10 5]", sizes)
	}
	if got := strings.Join(msgs(t, f.records()), " "); got != seq(0, 25) {
		t.Errorf("records %q, want 0..24 in order", got)
	}
	if s := h.Stats(); s.Sent != 25 || s.Dropped != 0 || s.Pending != 0 {
		t.Errorf("stats %+v, want 25 sent", s)
	}
}

func TestIntervalPushesAPartialBatch(t *testing.T) {
	f := newFakeLoge(t)
	h := newTestHandler(t, f, Options{BatchInterval: 20 * time.Millisecond})
	slog.New(h).Info("alone")
	waitFor(t, "the interval's push", func() bool { return len(f.records()) == 1 })
	slog.New(h).Info("again, after the worker went idle")
	waitFor(t, "the second interval's push", func() bool { return len(f.records()) == 2 })
}

func TestFullBufferDropsTheOldestAndCountsThem(t *testing.T) {
	f := newFakeLoge(t)
	release := make(chan struct{})
	f.setRespond(func(n int, w http.ResponseWriter) {
		if n == 0 {
			<-release // the server hangs on the first batch
		}
	})
	h := newTestHandler(t, f, Options{BatchSize: 2, BufferSize: 3})
	l := slog.New(h)
	logN(l, 0, 2)
	waitFor(t, "the first batch in flight", func() bool { return len(f.got()) == 1 })
	logN(l, 2, 8) // the buffer keeps 5 6 7
	if s := h.Stats(); s.Dropped != 3 || s.Pending != 5 {
		t.Errorf("stats %+v, want 3 dropped and 5 pending (2 in flight, 3 queued)", s)
	}
	close(release)
	flush(t, h)
	if got := strings.Join(msgs(t, f.records()), " "); got != "0 1 5 6 7" {
		t.Errorf("delivered %q, want the first batch and the newest three: 0 1 5 6 7", got)
	}
	if s := h.Stats(); s.Sent != 5 || s.Dropped != 3 {
		t.Errorf("stats %+v, want 5 sent 3 dropped", s)
	}
}

func TestBufferBytesBoundsMemory(t *testing.T) {
	f := newFakeLoge(t)
	h := newTestHandler(t, f, Options{BufferBytes: 300})
	l := slog.New(h)
	for i := 0; i < 10; i++ {
		l.Info(fmt.Sprint(i), "pad", strings.Repeat("x", 80)) // ~100 bytes a line
	}
	flush(t, h)
	if got := strings.Join(msgs(t, f.records()), " "); got != "7 8 9" {
		t.Errorf("delivered %q, want the newest lines that fit in 300 bytes: 7 8 9", got)
	}
	if s := h.Stats(); s.Dropped != 7 {
		t.Errorf("dropped %d, want 7", s.Dropped)
	}
}

func TestUnreachableServerNeverBlocksTheApplication(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: every push is refused
	h, err := New(Options{URL: "http://" + addr, BatchSize: 10, BufferSize: 100,
		BatchInterval: time.Millisecond, MaxRetries: 1000, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	l := slog.New(h)
	start := time.Now()
	logN(l, 0, 20000)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("20000 records took %v with the server down", d)
	}
	s := h.Stats()
	if s.Pending > 100+10 || s.Dropped < 20000-110 {
		t.Errorf("stats %+v: want at most 110 pending (buffer and batch), the rest dropped", s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := h.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close: %v, want deadline exceeded", err)
	}
	if s := h.Stats(); s.Dropped != 20000 || s.Pending != 0 || s.Retries == 0 {
		t.Errorf("after Close, stats %+v: want all 20000 dropped, retries counted", s)
	}
}

func TestServerErrorsAreRetriedWithBackoff(t *testing.T) {
	f := newFakeLoge(t)
	f.setRespond(func(n int, w http.ResponseWriter) {
		switch n {
		case 0:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 1:
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	h := newTestHandler(t, f, Options{MinBackoff: 20 * time.Millisecond, MaxBackoff: 40 * time.Millisecond})
	logN(slog.New(h), 0, 3)
	flush(t, h)
	reqs := f.got()
	if len(reqs) != 3 {
		t.Fatalf("%d attempts, want 3 (503, 500, 200)", len(reqs))
	}
	for i := 1; i < 3; i++ {
		if string(reqs[i].raw) != string(reqs[0].raw) {
			t.Errorf("attempt %d sent a different body", i)
		}
		// Backoff with jitter: at least half of MinBackoff, doubled the second time.
		if gap, min := reqs[i].at.Sub(reqs[i-1].at), 10*time.Millisecond*time.Duration(i); gap < min {
			t.Errorf("retry %d came after %v, want at least %v", i, gap, min)
		}
	}
	if s := h.Stats(); s.Sent != 3 || s.Retries != 2 || s.Failed != 0 {
		t.Errorf("stats %+v, want 3 sent after 2 retries", s)
	}
}

func TestTooManyRequestsHonoursRetryAfter(t *testing.T) {
	f := newFakeLoge(t)
	f.setRespond(func(n int, w http.ResponseWriter) {
		if n == 0 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	})
	h := newTestHandler(t, f, Options{MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	slog.New(h).Info("later")
	flush(t, h)
	reqs := f.got()
	if len(reqs) != 2 {
		t.Fatalf("%d attempts, want 2 (429, 200)", len(reqs))
	}
	if gap := reqs[1].at.Sub(reqs[0].at); gap < time.Second {
		t.Errorf("retried after %v, want the server's Retry-After of 1s", gap)
	}
}

func TestRetryAfterParsesSecondsAndDates(t *testing.T) {
	check := func(h string, lo, hi time.Duration) {
		t.Helper()
		if got := retryAfter(h); got < lo || got > hi {
			t.Errorf("retryAfter(%q) = %v, want in [%v, %v]", h, got, lo, hi)
		}
	}
	check("", 0, 0)
	check("3", 3*time.Second, 3*time.Second)
	check("-1", 0, 0)
	check("junk", 0, 0)
	check("86400", maxRetryAfter, maxRetryAfter)
	check(time.Now().Add(5*time.Second).UTC().Format(http.TimeFormat), 3*time.Second, 5*time.Second)
}

func TestBatchIsGivenUpAfterMaxRetries(t *testing.T) {
	f := newFakeLoge(t)
	f.setRespond(func(n int, w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) })
	var reported atomic.Value
	h := newTestHandler(t, f, Options{MaxRetries: 2, MinBackoff: time.Millisecond,
		OnError: func(err error) { reported.Store(err) }})
	logN(slog.New(h), 0, 4)
	err := h.Flush(context.Background())
	var perr *PushError
	if !errors.As(err, &perr) || perr.Status != http.StatusBadGateway {
		t.Fatalf("Flush: %v, want the 502", err)
	}
	if n := len(f.got()); n != 3 {
		t.Errorf("%d attempts, want 3 (1 + MaxRetries)", n)
	}
	if s := h.Stats(); s.Failed != 4 || s.Sent != 0 || s.Pending != 0 {
		t.Errorf("stats %+v, want 4 failed", s)
	}
	if e, _ := reported.Load().(error); e == nil || !strings.Contains(e.Error(), "3 attempts") {
		t.Errorf("OnError got %v, want a report naming 3 attempts", e)
	}
}

func TestBadRequestIsNotRetried(t *testing.T) {
	f := newFakeLoge(t)
	f.setRespond(func(n int, w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"status":"error","error":"streams[0].values[0][1]: line too long"}`)
	})
	h := newTestHandler(t, f, Options{MinBackoff: time.Millisecond})
	slog.New(h).Info("x")
	err := h.Flush(context.Background())
	if err == nil || !strings.Contains(err.Error(), "400: streams[0].values[0][1]: line too long") {
		t.Errorf("Flush: %v, want the server's message", err)
	}
	if n := len(f.got()); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
	if s := h.Stats(); s.Failed != 1 || s.Retries != 0 {
		t.Errorf("stats %+v, want 1 failed, no retries", s)
	}
}

func TestAPIKeyIsSentAsBearerToken(t *testing.T) {
	f := newFakeLoge(t)
	h := newTestHandler(t, f, Options{APIKey: "s3cret"})
	slog.New(h).Info("x")
	flush(t, h)
	if got := f.got()[0].header.Get("Authorization"); got != "Bearer s3cret" {
		t.Errorf("Authorization %q, want Bearer s3cret", got)
	}
	if got := f.got()[0].header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type %q", got)
	}

	f2 := newFakeLoge(t)
	h2 := newTestHandler(t, f2, Options{})
	slog.New(h2).Info("x")
	flush(t, h2)
	if got, ok := f2.got()[0].header["Authorization"]; ok {
		t.Errorf("Authorization %q sent without an API key", got)
	}
}

func TestCloseDeliversWhatIsBufferedThenRefuses(t *testing.T) {
	f := newFakeLoge(t)
	h, err := New(Options{URL: f.URL, BatchInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	l := slog.New(h.WithAttrs([]slog.Attr{slog.String("k", "v")}))
	logN(l, 0, 5)
	if err := h.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := strings.Join(msgs(t, f.records()), " "); got != seq(0, 5) {
		t.Errorf("delivered %q, want 0..4", got)
	}
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "late", 0)
	if err := h.Handle(context.Background(), r); !errors.Is(err, ErrClosed) {
		t.Errorf("Handle after Close: %v, want ErrClosed", err)
	}
	if err := h.Flush(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after Close: %v, want ErrClosed", err)
	}
	if err := h.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if s := h.Stats(); s.Sent != 5 || s.Dropped != 1 {
		t.Errorf("stats %+v, want 5 sent, the late record dropped", s)
	}
}

func TestFlushReturnsWhenItsContextEnds(t *testing.T) {
	f := newFakeLoge(t)
	f.setRespond(func(n int, w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) })
	h := newTestHandler(t, f, Options{MinBackoff: time.Hour, MaxBackoff: time.Hour})
	slog.New(h).Info("x")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := h.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Flush: %v, want deadline exceeded", err)
	}
	// The batch stays in flight for a later pass rather than being lost.
	if s := h.Stats(); s.Pending != 1 || s.Failed != 0 {
		t.Errorf("stats %+v, want the record still pending", s)
	}
}

func TestLongLineIsDroppedAlone(t *testing.T) {
	f := newFakeLoge(t)
	h := newTestHandler(t, f, Options{MaxLineBytes: 100})
	r := slog.NewRecord(time.Now(), slog.LevelInfo, strings.Repeat("x", 200), 0)
	if err := h.Handle(context.Background(), r); !errors.Is(err, ErrLineTooLong) {
		t.Errorf("Handle: %v, want ErrLineTooLong", err)
	}
	slog.New(h).Info("short")
	flush(t, h)
	if got := strings.Join(msgs(t, f.records()), " "); got != "short" {
		t.Errorf("delivered %q, want only the short line", got)
	}
	if s := h.Stats(); s.Dropped != 1 {
		t.Errorf("dropped %d, want 1", s.Dropped)
	}
}

func TestConcurrentLoggersLoseNothing(t *testing.T) {
	f := newFakeLoge(t)
	h := newTestHandler(t, f, Options{BatchSize: 100, BufferSize: 100000, BatchInterval: time.Millisecond})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := slog.New(h).With("g", g)
			logN(l, 0, 1000)
		}()
	}
	wg.Wait()
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(f.records()); n != 8000 {
		t.Errorf("delivered %d records, want 8000", n)
	}
}

func TestOptionsAreChecked(t *testing.T) {
	check := func(o Options, wantErr string) {
		t.Helper()
		h, err := New(o)
		if h != nil {
			defer h.Close(context.Background())
		}
		if wantErr == "" && err != nil || wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)) {
			t.Errorf("New(%+v): %v, want %q", o, err, wantErr)
		}
	}
	check(Options{}, "URL is required")
	check(Options{URL: "localhost:3000"}, "want http(s)://host")
	check(Options{URL: "http://localhost:3000", Labels: map[string]string{"bad-name": "x"}}, `label name "bad-name"`)
	check(Options{URL: "http://localhost:3000", Labels: map[string]string{"app": "x"}}, "")

	for _, u := range []string{"http://h:1", "http://h:1/", "http://h:1/api/v1/push"} {
		o, err := Options{URL: u}.withDefaults()
		if err != nil || o.URL != "http://h:1/api/v1/push" {
			t.Errorf("URL %q became %q (%v), want the push path once", u, o.URL, err)
		}
	}
}
