package slogloge

// Threads: Handle runs on the application's goroutines and only appends to
// the buffer under mu (dropping the oldest record when it is full). One
// worker goroutine, started by newClient and ended by close, owns the batch
// in flight and does all network I/O without holding mu. It wakes when a
// batch's worth is queued (wake), every BatchInterval (ticker), for a Flush
// (flushes) and for Close (closing).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is returned by Handle and Flush after Close.
var ErrClosed = errors.New("slogloge: handler closed")

// ErrLineTooLong is returned by Handle for a record whose JSON line is longer
// than Options.MaxLineBytes; the record is dropped and counted.
var ErrLineTooLong = errors.New("slogloge: line longer than MaxLineBytes, dropped")

// Stats counts records by what became of them.
type Stats struct {
	Sent    uint64 // accepted by the server
	Dropped uint64 // dropped from a full buffer, too long, handled after Close, or left at a Close that timed out
	Failed  uint64 // in batches given up: rejected by the server (4xx) or out of retries
	Retries uint64 // push attempts repeated after a 429, 5xx or network error
	Pending int    // queued or in flight now
}

// PushError is a push the server answered with a status other than 2xx.
type PushError struct {
	Status  int    // HTTP status
	Message string // the server's "error" text, or the start of the body
}

func (e *PushError) Error() string {
	return fmt.Sprintf("slogloge: push answered %d: %s", e.Status, e.Message)
}

// entry is one rendered record.
type entry struct {
	ts    int64  // unix nanoseconds
	level string // the "level" label
	line  string // the JSON line
}

type flushRequest struct {
	ctx    context.Context
	target uint64     // done once this many records have left the queue
	result chan error // buffered, 1
}

type client struct {
	opts Options
	// labelsJSON is the static labels, sorted, encoded as `"a":"1","b":"2",`
	// ready to be followed by the level label.
	labelsJSON []byte

	mu sync.Mutex
	// queue[head:] are the records waiting for a batch, oldest first. Guarded by mu.
	queue []entry
	head  int
	// queuedBytes is the sum of the queued lines' lengths. Guarded by mu.
	queuedBytes int
	// enqueued and dequeued count records ever added to and taken from the
	// queue (into a batch or dropped); a Flush waits for dequeued to reach
	// the enqueued it saw. Guarded by mu.
	enqueued, dequeued uint64
	// closed is set by close; Handle then refuses records. Guarded by mu.
	closed bool

	// inFlight is the batch being pushed; only the worker touches it. It
	// survives a Flush whose context ended, to be retried by the next pass.
	inFlight []entry
	// inFlightLen mirrors len(inFlight) for Stats.
	inFlightLen atomic.Int64

	sent, dropped, failed, retries atomic.Uint64

	wake    chan struct{} // capacity 1: a full batch is queued
	flushes chan *flushRequest
	closing chan struct{} // closed by close
	done    chan struct{} // closed when the worker has returned
	// ctx bounds every push; cancelled when a Close's context ends first.
	ctx    context.Context
	cancel context.CancelFunc

	closeOnce sync.Once
	// closeErr is the worker's last push error at Close; written before done
	// is closed.
	closeErr error
}

func newClient(o Options) *client {
	c := &client{
		opts:       o,
		labelsJSON: encodeLabels(o.Labels),
		wake:       make(chan struct{}, 1),
		flushes:    make(chan *flushRequest),
		closing:    make(chan struct{}),
		done:       make(chan struct{}),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	go c.run()
	return c
}

func encodeLabels(labels map[string]string) []byte {
	names := make([]string, 0, len(labels))
	for k := range labels {
		names = append(names, k)
	}
	sort.Strings(names)
	var b []byte
	for _, k := range names {
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, labels[k])
		b = append(b, ',')
	}
	return b
}

// enqueue adds one record, dropping the oldest queued ones past the bounds.
func (c *client) enqueue(ts int64, level, line string) error {
	if len(line) > c.opts.MaxLineBytes {
		c.dropped.Add(1)
		return ErrLineTooLong
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.dropped.Add(1)
		return ErrClosed
	}
	c.queue = append(c.queue, entry{ts: ts, level: level, line: line})
	c.queuedBytes += len(line)
	c.enqueued++
	var dropped uint64
	for n := len(c.queue) - c.head; n > 0 && (n > c.opts.BufferSize || c.queuedBytes > c.opts.BufferBytes); n-- {
		c.queuedBytes -= len(c.queue[c.head].line)
		c.queue[c.head] = entry{}
		c.head++
		c.dequeued++
		dropped++
	}
	c.compactLocked()
	full := len(c.queue)-c.head >= c.opts.BatchSize
	c.mu.Unlock()
	if dropped > 0 {
		c.dropped.Add(dropped)
	}
	if full {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// compactLocked moves the live records to the front once the dead prefix is
// at least half the slice, so appends reuse the array. Requires mu.
func (c *client) compactLocked() {
	if c.head < 64 || c.head < len(c.queue)/2 {
		return
	}
	n := copy(c.queue, c.queue[c.head:])
	clear(c.queue[n:])
	c.queue = c.queue[:n]
	c.head = 0
}

// takeLocked removes up to n of the oldest records. Requires mu.
func (c *client) takeLocked(n int) []entry {
	n = min(n, len(c.queue)-c.head)
	if n == 0 {
		return nil
	}
	batch := make([]entry, n)
	copy(batch, c.queue[c.head:c.head+n])
	clear(c.queue[c.head : c.head+n])
	c.head += n
	c.dequeued += uint64(n)
	for _, e := range batch {
		c.queuedBytes -= len(e.line)
	}
	c.compactLocked()
	return batch
}

func (c *client) stats() Stats {
	c.mu.Lock()
	queued := len(c.queue) - c.head
	c.mu.Unlock()
	return Stats{
		Sent:    c.sent.Load(),
		Dropped: c.dropped.Load(),
		Failed:  c.failed.Load(),
		Retries: c.retries.Load(),
		Pending: queued + int(c.inFlightLen.Load()),
	}
}

func (c *client) enqueuedCount() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.enqueued
}

func (c *client) run() {
	defer close(c.done)
	defer c.cancel()
	ticker := time.NewTicker(c.opts.BatchInterval)
	defer ticker.Stop()
	for {
		select {
		case <-c.wake:
			c.pushFullBatches(c.ctx)
		case <-ticker.C:
			c.drain(c.ctx, c.enqueuedCount())
		case req := <-c.flushes:
			ctx, cancel := context.WithCancel(req.ctx)
			stop := context.AfterFunc(c.ctx, cancel)
			req.result <- c.drain(ctx, req.target)
			stop()
			cancel()
		case <-c.closing:
			c.closeErr = c.drain(c.ctx, c.enqueuedCount())
			c.mu.Lock()
			left := len(c.queue) - c.head + len(c.inFlight)
			c.takeLocked(len(c.queue))
			c.mu.Unlock()
			c.dropped.Add(uint64(left))
			c.inFlight = nil
			c.inFlightLen.Store(0)
			return
		}
	}
}

// pushFullBatches pushes while at least BatchSize records are queued.
func (c *client) pushFullBatches(ctx context.Context) {
	for {
		if len(c.inFlight) == 0 {
			c.mu.Lock()
			if len(c.queue)-c.head < c.opts.BatchSize {
				c.mu.Unlock()
				return
			}
			c.setInFlight(c.takeLocked(c.opts.BatchSize))
			c.mu.Unlock()
		}
		if err := c.pushInFlight(ctx); err != nil && ctx.Err() != nil {
			return
		}
	}
}

// drain pushes batches until the first target records have left the queue
// and nothing is in flight, or ctx ends. It returns the last push error, or
// ctx's error if it ended first.
func (c *client) drain(ctx context.Context, target uint64) error {
	var last error
	for {
		if len(c.inFlight) == 0 {
			c.mu.Lock()
			if c.dequeued >= target {
				c.mu.Unlock()
				return last
			}
			c.setInFlight(c.takeLocked(c.opts.BatchSize))
			c.mu.Unlock()
		}
		if err := c.pushInFlight(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			last = err
		}
	}
}

func (c *client) setInFlight(batch []entry) {
	c.inFlight = batch
	c.inFlightLen.Store(int64(len(batch)))
}

// pushInFlight pushes the batch in flight, retrying 429, 5xx and network
// errors with backoff. The batch is finished (sent or given up and counted
// as failed) unless ctx ends first, when it stays in flight.
func (c *client) pushInFlight(ctx context.Context) error {
	batch := c.inFlight
	body := c.encodeBatch(batch)
	for attempt := 0; ; attempt++ {
		wait, err := c.post(ctx, body)
		if err == nil {
			c.sent.Add(uint64(len(batch)))
			c.setInFlight(nil)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if wait < 0 || attempt >= c.opts.MaxRetries {
			c.failed.Add(uint64(len(batch)))
			c.setInFlight(nil)
			if c.opts.OnError != nil {
				c.opts.OnError(fmt.Errorf("slogloge: gave up a batch of %d records after %d attempts: %w",
					len(batch), attempt+1, err))
			}
			return err
		}
		if wait == 0 {
			wait = c.backoff(attempt)
		}
		c.retries.Add(1)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// backoff is the wait before retry attempt+1: MinBackoff doubled per
// attempt up to MaxBackoff, with jitter so that many clients restarted
// together do not retry in step.
func (c *client) backoff(attempt int) time.Duration {
	d := c.opts.MinBackoff
	for i := 0; i < attempt && d < c.opts.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.opts.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

// encodeBatch renders a push body with one stream per level, records in
// their queued order within each stream.
func (c *client) encodeBatch(batch []entry) []byte {
	var levels []string
	byLevel := make(map[string][]int, 4)
	for i, e := range batch {
		if _, ok := byLevel[e.level]; !ok {
			levels = append(levels, e.level)
		}
		byLevel[e.level] = append(byLevel[e.level], i)
	}
	size := 64
	for _, e := range batch {
		size += len(e.line) + len(e.line)/8 + 32
	}
	b := make([]byte, 0, size)
	b = append(b, `{"streams":[`...)
	for li, level := range levels {
		if li > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"stream":{`...)
		b = append(b, c.labelsJSON...)
		b = append(b, `"level":`...)
		b = appendString(b, level)
		b = append(b, `},"values":[`...)
		for i, idx := range byLevel[level] {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `["`...)
			b = strconv.AppendInt(b, batch[idx].ts, 10)
			b = append(b, `",`...)
			b = appendString(b, batch[idx].line)
			b = append(b, ']')
		}
		b = append(b, "]}"...)
	}
	return append(b, "]}"...)
}

// post sends one push. On failure it returns how long to wait before a
// retry: the server's Retry-After, 0 for "use the backoff", or -1 for "do
// not retry" (a 4xx other than 429).
func (c *client) post(ctx context.Context, body []byte) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.opts.URL, bytes.NewReader(body))
	if err != nil {
		return -1, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "slogloge/1")
	if c.opts.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.APIKey)
	}
	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	// Read what is left so the connection is reused; the cap keeps a
	// misbehaving server from holding the worker.
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return 0, nil
	}
	perr := &PushError{Status: resp.StatusCode, Message: errorMessage(msg)}
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500 {
		return -1, perr
	}
	return retryAfter(resp.Header.Get("Retry-After")), perr
}

// retryAfter parses a Retry-After header, seconds or an HTTP date; 0 when
// absent or unreadable.
func retryAfter(h string) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(h, 10, 64); err == nil {
		d = time.Duration(max(secs, 0)) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = time.Until(t)
	}
	if d <= 0 {
		return 0
	}
	return min(d, maxRetryAfter)
}

// errorMessage is the "error" field of loge's {"status":"error","error":…}
// answer, or else the body's start.
func errorMessage(body []byte) string {
	var answer struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &answer) == nil && answer.Error != "" {
		return answer.Error
	}
	return strings.TrimSpace(string(body[:min(len(body), 200)]))
}

// flush is Handler.Flush.
func (c *client) flush(ctx context.Context) error {
	c.mu.Lock()
	target, closed := c.enqueued, c.closed
	c.mu.Unlock()
	if closed {
		return ErrClosed
	}
	req := &flushRequest{ctx: ctx, target: target, result: make(chan error, 1)}
	select {
	case c.flushes <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return ErrClosed
	}
	select {
	case err := <-req.result:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close is Handler.Close.
func (c *client) close(ctx context.Context) error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		close(c.closing)
	})
	select {
	case <-c.done:
		return c.closeErr
	case <-ctx.Done():
		c.cancel()
		<-c.done
		return ctx.Err()
	}
}
