package slogloge

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// pushBody is the JSON push body as the server sees it.
type pushBody struct {
	Streams []struct {
		Stream map[string]string `json:"stream"`
		Values [][]string        `json:"values"`
	} `json:"streams"`
}

// received is one push request that reached the fake.
type received struct {
	header http.Header
	body   pushBody
	raw    []byte
	at     time.Time
}

// record is one entry of a push, flattened.
type record struct {
	ts     string
	line   string
	labels map[string]string
}

func (r received) records() []record {
	var out []record
	for _, s := range r.body.Streams {
		for _, v := range s.Values {
			out = append(out, record{ts: v[0], line: v[1], labels: s.Stream})
		}
	}
	return out
}

// fakeLoge is an httptest server standing in for loge's push endpoint. Each
// request is recorded, then answered by respond (200 by default).
type fakeLoge struct {
	*httptest.Server
	t *testing.T

	mu       sync.Mutex
	requests []received // guarded by mu
	// respond decides the answer to the n-th request (0-based); it may block.
	respond func(n int, w http.ResponseWriter) // guarded by mu
}

func newFakeLoge(t *testing.T) *fakeLoge {
	f := &fakeLoge{t: t}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeLoge) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/push" || r.Method != http.MethodPost {
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
		return
	}
	raw, _ := io.ReadAll(r.Body)
	var body pushBody
	if err := json.Unmarshal(raw, &body); err != nil {
		f.t.Errorf("push body is not JSON: %v: %s", err, raw)
	}
	f.mu.Lock()
	n := len(f.requests)
	f.requests = append(f.requests, received{header: r.Header.Clone(), body: body, raw: raw, at: time.Now()})
	respond := f.respond
	f.mu.Unlock()
	if respond != nil {
		respond(n, w)
	}
}

func (f *fakeLoge) setRespond(fn func(n int, w http.ResponseWriter)) {
	f.mu.Lock()
	f.respond = fn
	f.mu.Unlock()
}

func (f *fakeLoge) got() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.requests...)
}

// records returns every entry of every request, in arrival order.
func (f *fakeLoge) records() []record {
	var out []record
	for _, r := range f.got() {
		out = append(out, r.records()...)
	}
	return out
}

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// newTestHandler makes a Handler on f whose batches leave only when full or
// flushed, unless o says otherwise, and closes it at the end of the test.
func newTestHandler(t *testing.T, f *fakeLoge, o Options) *Handler {
	t.Helper()
	o.URL = f.URL
	if o.BatchInterval == 0 {
		o.BatchInterval = time.Hour
	}
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = h.Close(ctx)
	})
	return h
}

func flush(t *testing.T, h *Handler) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}
