package slogloge

import (
	"context"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Handler is a slog.Handler that ships records to loge. Handlers derived
// with WithAttrs and WithGroup share the first one's buffer and worker, so
// Flush, Close and Stats on any of them act on all.
//
// Handle renders the record to JSON on the caller's goroutine and appends it
// to the buffer; it never waits for the network. It is safe for concurrent
// use.
type Handler struct {
	c *client

	// prefix is the attributes given to WithAttrs, already encoded, with the
	// groups they sit in opened: `"a":1,"G":{"b":2`. Empty, or else it ends
	// with a complete member.
	prefix []byte
	// open counts the groups opened in prefix; each needs a closing brace.
	open int
	// pending are groups named by WithGroup that no attribute has followed
	// yet. They are opened only if a record brings attributes, so an empty
	// group never appears in the output.
	pending []string
}

// New starts a worker goroutine that pushes to o.URL and returns a Handler
// writing to it. Call Close before the program exits, or the last
// BatchInterval of records may be lost.
func New(o Options) (*Handler, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Handler{c: newClient(o)}, nil
}

// Enabled reports whether level is at or above Options.Level.
func (h *Handler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.c.opts.Level.Level()
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// Handle renders r as one JSON line {"msg":…,"source":…,attributes…} and
// queues it with r.Time (or the current time when r.Time is zero) as its
// timestamp and r.Level as its "level" label. It returns ErrClosed after
// Close; a record dropped because the buffer is full is counted in Stats, not
// reported here.
func (h *Handler) Handle(_ context.Context, r slog.Record) error {
	bp := bufPool.Get().(*[]byte)
	b := append((*bp)[:0], `{"msg":`...)
	b = appendString(b, r.Message)
	if h.c.opts.AddSource && r.PC != 0 {
		b = appendSource(b, r.PC)
	}
	if len(h.prefix) > 0 {
		b = append(b, ',')
		b = append(b, h.prefix...)
	}
	mark := len(b)
	for _, g := range h.pending {
		b = append(b, ',')
		b = appendString(b, g)
		b = append(b, ":{"...)
	}
	needComma := len(h.pending) == 0
	wrote := false
	r.Attrs(func(a slog.Attr) bool {
		var w bool
		b, w = appendAttr(b, a, needComma)
		if w {
			needComma, wrote = true, true
		}
		return true
	})
	closers := h.open + len(h.pending)
	if !wrote {
		b = b[:mark]
		closers = h.open
	}
	for i := 0; i < closers; i++ {
		b = append(b, '}')
	}
	b = append(b, '}')

	t := r.Time
	if t.IsZero() {
		t = h.c.opts.now()
	}
	err := h.c.enqueue(t.UnixNano(), levelName(r.Level), string(b))
	if cap(b) <= 64<<10 { // keep one huge line from pinning memory in the pool
		*bp = b
		bufPool.Put(bp)
	}
	return err
}

// WithAttrs returns a Handler whose records carry attrs, inside the groups
// opened so far.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	b := slices.Clone(h.prefix)
	needComma := len(b) > 0
	for _, g := range h.pending {
		if needComma {
			b = append(b, ',')
		}
		b = appendString(b, g)
		b = append(b, ":{"...)
		needComma = false
	}
	wrote := false
	for _, a := range attrs {
		var w bool
		b, w = appendAttr(b, a, needComma)
		if w {
			needComma, wrote = true, true
		}
	}
	if !wrote {
		return h // only empty attributes: the pending groups stay pending
	}
	return &Handler{c: h.c, prefix: b, open: h.open + len(h.pending)}
}

// WithGroup returns a Handler that puts later attributes under name. An
// empty name returns h, as slog requires.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &Handler{
		c:       h.c,
		prefix:  h.prefix,
		open:    h.open,
		pending: append(slices.Clip(h.pending), name),
	}
}

// Flush pushes every record handled before the call and waits until each
// is delivered or given up, or ctx ends. It returns the last push error of
// that work, or ctx's error.
func (h *Handler) Flush(ctx context.Context) error { return h.c.flush(ctx) }

// Close flushes like Flush, then stops the worker. If ctx ends first, the
// pushes under way are abandoned, what is still buffered is counted as
// dropped, and ctx's error is returned. Later records get ErrClosed.
// Calling Close again returns the first call's result.
func (h *Handler) Close(ctx context.Context) error { return h.c.close(ctx) }

// Stats returns the delivery counters.
func (h *Handler) Stats() Stats { return h.c.stats() }

// appendAttr appends a as a JSON member, preceded by a comma if needComma.
// It reports whether it wrote anything: empty attributes and groups without
// attributes are left out, and a group with an empty key is inlined.
func appendAttr(b []byte, a slog.Attr, needComma bool) ([]byte, bool) {
	a.Value = a.Value.Resolve()
	if a.Key == "" && a.Value.Kind() == slog.KindAny && a.Value.Any() == nil {
		return b, false
	}
	if a.Value.Kind() != slog.KindGroup {
		if needComma {
			b = append(b, ',')
		}
		b = appendString(b, a.Key)
		b = append(b, ':')
		return appendValue(b, a.Value), true
	}
	attrs := a.Value.Group()
	if a.Key == "" {
		wrote := false
		for _, ga := range attrs {
			var w bool
			b, w = appendAttr(b, ga, needComma)
			if w {
				needComma, wrote = true, true
			}
		}
		return b, wrote
	}
	mark := len(b)
	if needComma {
		b = append(b, ',')
	}
	b = appendString(b, a.Key)
	b = append(b, ":{"...)
	inner := false
	for _, ga := range attrs {
		var w bool
		b, w = appendAttr(b, ga, inner)
		inner = inner || w
	}
	if !inner {
		return b[:mark], false
	}
	return append(b, '}'), true
}

func appendSource(b []byte, pc uintptr) []byte {
	f, _ := runtime.CallersFrames([]uintptr{pc}).Next()
	b = append(b, `,"source":{"function":`...)
	b = appendString(b, f.Function)
	b = append(b, `,"file":`...)
	b = appendString(b, f.File)
	b = append(b, `,"line":`...)
	b = strconv.AppendInt(b, int64(f.Line), 10)
	return append(b, '}')
}

// levelName is the "level" label: "debug", "info", "warn", "error", or
// e.g. "info+2" for a level between the named ones.
func levelName(l slog.Level) string {
	switch l {
	case slog.LevelDebug:
		return "debug"
	case slog.LevelInfo:
		return "info"
	case slog.LevelWarn:
		return "warn"
	case slog.LevelError:
		return "error"
	}
	return strings.ToLower(l.String())
}
