package slogloge

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults for the zero fields of Options, each with its reason.
const (
	// A batch of 1000 lines is about 100–300 KiB of JSON: one request per
	// second at a few hundred lines/s, large enough to amortise the fsync the
	// server does per push.
	DefaultBatchSize = 1000
	// A line is visible in loge at most about a second after it was logged.
	DefaultBatchInterval = time.Second
	// Ten batches: a server restart of several seconds loses nothing at
	// moderate rates, and the memory stays bounded (see DefaultBufferBytes).
	DefaultBufferSize = 10000
	// Bounds memory when lines are long: 16 MiB of queued JSON lines at most.
	DefaultBufferBytes = 16 << 20
	// Retries of one batch before it is given up: with the backoff below
	// about 35 s of trying, longer than a typical server restart.
	DefaultMaxRetries = 8
	// First wait before a retry; doubled each time up to MaxBackoff.
	DefaultMinBackoff = 250 * time.Millisecond
	DefaultMaxBackoff = 10 * time.Second
	// One push request, connect to answer; the server answers a durable push
	// after an fsync, so a few seconds is already a sick server.
	DefaultRequestTimeout = 10 * time.Second
	// The server's --max-line-size default: a longer line would make it reject
	// the whole batch (400), so such a record is dropped alone instead.
	DefaultMaxLineBytes = 256 << 10
)

// maxRetryAfter caps a server's Retry-After, so a bad header cannot park the
// worker for hours.
const maxRetryAfter = time.Minute

const pushPath = "/api/v1/push"

// Options configures a Handler. The zero value of each field means its
// default; URL is the only required field.
type Options struct {
	// URL of the loge server, e.g. "http://localhost:3000". The push path
	// /api/v1/push is appended unless the URL already ends with it.
	URL string

	// Labels are static stream labels added to every record, e.g.
	// {"app": "web", "env": "prod"}. Names must match [a-zA-Z_][a-zA-Z0-9_]*.
	// The record's level is always the "level" label and overrides one here.
	Labels map[string]string

	// Level is the minimum level handled. Default slog.LevelInfo.
	Level slog.Leveler

	// AddSource adds {"function","file","line"} of the call site under
	// "source" in each line. Default false.
	AddSource bool

	// APIKey, if set, is sent as "Authorization: Bearer <APIKey>".
	APIKey string

	// BatchSize is the most records in one push. Default DefaultBatchSize.
	BatchSize int
	// BatchInterval is how long a record may wait for its batch to fill
	// before it is pushed anyway. Default DefaultBatchInterval.
	BatchInterval time.Duration

	// BufferSize is the most records queued while the server is slow or
	// unreachable; past it, the oldest queued records are dropped and
	// counted. Default DefaultBufferSize.
	BufferSize int
	// BufferBytes bounds the queued lines' bytes the same way. Default
	// DefaultBufferBytes.
	BufferBytes int
	// MaxLineBytes drops (and counts) a record whose JSON line is longer.
	// Default DefaultMaxLineBytes.
	MaxLineBytes int

	// MaxRetries is how often a batch answered with 429, 5xx or a network
	// error is retried before it is given up and counted as failed. Default
	// DefaultMaxRetries; a negative value means no retries.
	MaxRetries int
	// MinBackoff and MaxBackoff bound the exponential backoff between retries
	// when the server sends no Retry-After. Defaults DefaultMinBackoff and
	// DefaultMaxBackoff.
	MinBackoff time.Duration
	MaxBackoff time.Duration

	// HTTPClient sends the pushes. Default: a client with
	// DefaultRequestTimeout.
	HTTPClient *http.Client

	// OnError, if set, is called on the worker goroutine for each batch given
	// up (rejected by the server or out of retries). It must not block.
	OnError func(error)

	// now supplies the time of a record whose Time is zero; tests set it.
	now func() time.Time
}

// withDefaults checks o and fills its zero fields.
func (o Options) withDefaults() (Options, error) {
	if o.URL == "" {
		return o, errors.New("slogloge: Options.URL is required")
	}
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return o, fmt.Errorf("slogloge: Options.URL %q: want http(s)://host[:port]", o.URL)
	}
	if !strings.HasSuffix(strings.TrimRight(u.Path, "/"), pushPath) {
		u.Path = strings.TrimRight(u.Path, "/") + pushPath
	}
	o.URL = u.String()
	labels := make(map[string]string, len(o.Labels))
	for k, v := range o.Labels {
		if !validLabelName(k) {
			return o, fmt.Errorf("slogloge: label name %q: want [a-zA-Z_][a-zA-Z0-9_]*", k)
		}
		if k != levelLabel {
			labels[k] = v
		}
	}
	o.Labels = labels
	if o.Level == nil {
		o.Level = slog.LevelInfo
	}
	setDefault(&o.BatchSize, DefaultBatchSize)
	setDefault(&o.BatchInterval, DefaultBatchInterval)
	setDefault(&o.BufferSize, DefaultBufferSize)
	setDefault(&o.BufferBytes, DefaultBufferBytes)
	setDefault(&o.MaxLineBytes, DefaultMaxLineBytes)
	setDefault(&o.MinBackoff, DefaultMinBackoff)
	setDefault(&o.MaxBackoff, DefaultMaxBackoff)
	if o.MaxRetries == 0 {
		o.MaxRetries = DefaultMaxRetries
	} else if o.MaxRetries < 0 {
		o.MaxRetries = 0
	}
	// A batch is taken from the buffer, so it can be no larger.
	o.BatchSize = min(o.BatchSize, o.BufferSize)
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: DefaultRequestTimeout}
	}
	if o.now == nil {
		o.now = time.Now
	}
	return o, nil
}

func setDefault[T int | time.Duration](p *T, def T) {
	if *p <= 0 {
		*p = def
	}
}

const levelLabel = "level"

func validLabelName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		alpha := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !alpha && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}
