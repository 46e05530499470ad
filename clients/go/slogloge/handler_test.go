package slogloge

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"testing"
	"testing/slogtest"
	"time"
)

// sentinelNow is the clock the slogtest handler uses for zero-time records,
// so the result can tell "the handler used the record's time" from "it
// ignored a zero time" even though time travels outside the line.
var sentinelNow = time.Unix(0, 42)

// TestSlogtest runs the standard library's handler conformance suite. The
// result map is the record as loge stores it: the JSON line's members, plus
// "level" from the stream label and "time" from the entry timestamp.
func TestSlogtest(t *testing.T) {
	var f *fakeLoge
	var h *Handler
	newHandler := func(t *testing.T) slog.Handler {
		f = newFakeLoge(t)
		h = newTestHandler(t, f, Options{AddSource: true, now: func() time.Time { return sentinelNow }})
		return h
	}
	result := func(t *testing.T) map[string]any {
		flush(t, h)
		recs := f.records()
		if len(recs) != 1 {
			t.Fatalf("got %d records, want 1", len(recs))
		}
		return recordMap(t, recs[0])
	}
	slogtest.Run(t, newHandler, result)
}

func recordMap(t *testing.T, r record) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.line), &m); err != nil {
		t.Fatalf("line is not a JSON object: %v: %s", err, r.line)
	}
	if lvl, ok := r.labels["level"]; ok {
		m[slog.LevelKey] = lvl
	}
	ns, err := strconv.ParseInt(r.ts, 10, 64)
	if err != nil {
		t.Fatalf("timestamp %q: %v", r.ts, err)
	}
	if ns != sentinelNow.UnixNano() {
		m[slog.TimeKey] = time.Unix(0, ns)
	}
	return m
}

func TestRecordBecomesJSONLineWithTimestampOutOfBand(t *testing.T) {
	f := newFakeLoge(t)
	h := newTestHandler(t, f, Options{Labels: map[string]string{"app": "web"}})
	at := time.Date(2026, 6, 1, 12, 0, 0, 123456789, time.UTC)
	r := slog.NewRecord(at, slog.LevelWarn, "disk nearly full", 0)
	r.AddAttrs(slog.Int("free_mb", 12), slog.String("mount", "/data"))
	if err := h.Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	flush(t, h)
	recs := f.records()
	if len(recs) != 1 {
		t.Fatalf("got %d records, want 1", len(recs))
	}
	got := recs[0]
	if want := strconv.FormatInt(at.UnixNano(), 10); got.ts != want {
		t.Errorf("timestamp %s, want %s", got.ts, want)
	}
	if want := `{"msg":"disk nearly full","free_mb":12,"mount":"/data"}`; got.line != want {
		t.Errorf("line\n got %s\nwant %s", got.line, want)
	}
	if got.labels["app"] != "web" || got.labels["level"] != "warn" || len(got.labels) != 2 {
		t.Errorf("labels %v, want app=web level=warn", got.labels)
	}
}

func TestEachLevelIsItsOwnStream(t *testing.T) {
	f := newFakeLoge(t)
	h := newTestHandler(t, f, Options{Level: slog.LevelDebug, Labels: map[string]string{"level": "ignored"}})
	l := slog.New(h)
	l.Debug("d")
	l.Info("i1")
	l.Error("e")
	l.Info("i2")
	l.Log(context.Background(), slog.LevelInfo+2, "between")
	flush(t, h)
	reqs := f.got()
	if len(reqs) != 1 {
		t.Fatalf("got %d pushes, want 1", len(reqs))
	}
	var got []string
	for _, s := range reqs[0].body.Streams {
		var lines []string
		for _, v := range s.Values {
			var m map[string]any
			_ = json.Unmarshal([]byte(v[1]), &m)
			lines = append(lines, m["msg"].(string))
		}
		got = append(got, s.Stream["level"]+":"+strings.Join(lines, ","))
	}
	want := "debug:d info:i1,i2 error:e info+2:between"
	if strings.Join(got, " ") != want {
		t.Errorf("streams %q, want %q", strings.Join(got, " "), want)
	}
}

func TestLevelBelowMinimumIsNotEnabled(t *testing.T) {
	f := newFakeLoge(t)
	h := newTestHandler(t, f, Options{Level: slog.LevelWarn})
	if h.Enabled(context.Background(), slog.LevelInfo) || !h.Enabled(context.Background(), slog.LevelWarn) {
		t.Error("Enabled disagrees with Options.Level=warn")
	}
}

func TestAddSourceNamesTheCaller(t *testing.T) {
	f := newFakeLoge(t)
	h := newTestHandler(t, f, Options{AddSource: true})
	slog.New(h).Info("here")
	flush(t, h)
	var m struct {
		Source struct {
			Function string `json:"function"`
			File     string `json:"file"`
			Line     int    `json:"line"`
		} `json:"source"`
	}
	if err := json.Unmarshal([]byte(f.records()[0].line), &m); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(m.Source.Function, "TestAddSourceNamesTheCaller") ||
		!strings.HasSuffix(m.Source.File, "handler_test.go") || m.Source.Line == 0 {
		t.Errorf("source %+v does not name this test", m.Source)
	}
}

type secret string

func (secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }

type point struct{ X, Y int }

func TestValuesRenderAsJSON(t *testing.T) {
	f := newFakeLoge(t)
	h := newTestHandler(t, f, Options{})
	check := func(attr slog.Attr, want string) {
		t.Helper()
		r := slog.NewRecord(time.Now(), slog.LevelInfo, "m", 0)
		r.AddAttrs(attr)
		if err := h.Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		flush(t, h)
		recs := f.records()
		got := recs[len(recs)-1].line
		if want = `{"msg":"m",` + want + `}`; got != want {
			t.Errorf("\n got %s\nwant %s", got, want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("not valid JSON: %s", got)
		}
	}
	check(slog.String("s", "quote\" backslash\\ newline\n tab\t nul\x00 <html>"),
		`"s":"quote\" backslash\\ newline\n tab\t nul\u0000 <html>"`)
	check(slog.String("bad", "a\xffb"), `"bad":"a\ufffdb"`)
	check(slog.String("utf8", "héllo ✓"), `"utf8":"héllo ✓"`)
	check(slog.Int64("i", -7), `"i":-7`)
	check(slog.Uint64("u", math.MaxUint64), `"u":18446744073709551615`)
	check(slog.Float64("f", 1.5), `"f":1.5`)
	check(slog.Float64("nan", math.NaN()), `"nan":"NaN"`)
	check(slog.Float64("inf", math.Inf(-1)), `"inf":"-Inf"`)
	check(slog.Bool("b", true), `"b":true`)
	check(slog.Duration("d", 1500*time.Millisecond), `"d":"1.5s"`)
	check(slog.Time("t", time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)), `"t":"2026-01-02T03:04:05.000000006Z"`)
	check(slog.Any("err", errors.New("boom")), `"err":"boom"`)
	check(slog.Any("p", point{1, 2}), `"p":{"X":1,"Y":2}`)
	check(slog.Any("nil", nil), `"nil":null`)
	check(slog.Any("pw", secret("hunter2")), `"pw":"REDACTED"`)
	check(slog.Group("req", slog.String("method", "GET"), slog.Group("empty"), slog.Int("status", 200)),
		`"req":{"method":"GET","status":200}`)

	// A channel has no JSON form: it falls back to %+v, an address.
	slog.New(h).Info("m", "ch", make(chan int))
	flush(t, h)
	recs := f.records()
	if got := recs[len(recs)-1].line; !strings.HasPrefix(got, `{"msg":"m","ch":"0x`) {
		t.Errorf("channel rendered as %s, want its address as a string", got)
	}
}

func TestGroupsNestAcrossWithGroupAndWithAttrs(t *testing.T) {
	f := newFakeLoge(t)
	h := newTestHandler(t, f, Options{})
	l := slog.New(h).With("a", 1).WithGroup("G").With("b", 2).WithGroup("H")
	l.Info("m", "c", 3)
	l.Info("no attrs")
	slog.New(h).WithGroup("G").WithGroup("H").Info("only empty", slog.Group("x"))
	flush(t, h)
	var lines []string
	for _, r := range f.records() {
		lines = append(lines, r.line)
	}
	want := []string{
		`{"msg":"m","a":1,"G":{"b":2,"H":{"c":3}}}`,
		`{"msg":"no attrs","a":1,"G":{"b":2}}`,
		`{"msg":"only empty"}`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("\n got %s\nwant %s", strings.Join(lines, "\n     "), strings.Join(want, "\n     "))
	}
}
