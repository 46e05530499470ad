package slogloge

// Tests against the real loge binary named by $LOGE_BIN (ctest sets it).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"
)

var listeningRE = regexp.MustCompile(`listening on \S+:(\d+)`)

// startLoge runs $LOGE_BIN on a free port in a temp directory and returns
// its base URL; the process is stopped when the test ends.
func startLoge(t *testing.T, args ...string) string {
	t.Helper()
	return startLogeOn(t, "0", args...)
}

// startLogeOn is startLoge on a given port.
func startLogeOn(t *testing.T, port string, args ...string) string {
	t.Helper()
	bin := os.Getenv("LOGE_BIN")
	if bin == "" {
		t.Skip("LOGE_BIN is not set: skipping the test against the real server (ctest sets it; " +
			"or run LOGE_BIN=/path/to/loge go test ./...)")
	}
	args = append([]string{"--port", port, "--output-path", t.TempDir()}, args...)
	cmd := exec.Command(bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Error("loge did not stop within 30s of SIGTERM")
		}
	})
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		found := false
		for sc.Scan() {
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil && !found {
				found = true
				listening <- m[1]
			}
		}
	}()
	select {
	case p := <-listening:
		return "http://127.0.0.1:" + p
	case <-time.After(30 * time.Second):
		t.Fatal("loge did not log 'listening on' within 30s")
	}
	return ""
}

type queryRow struct {
	Timestamp json.Number       `json:"timestamp"`
	Line      string            `json:"line"`
	Labels    map[string]string `json:"labels"`
}

// query runs a LogQL selector against base and returns the rows, newest first.
func query(t *testing.T, base, apiKey, selector string) []queryRow {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": selector, "limit": 5000})
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("query %s: %d %s", selector, resp.StatusCode, raw)
	}
	var answer struct {
		Data []queryRow `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&answer); err != nil {
		t.Fatalf("query answer %s: %v", raw, err)
	}
	return answer.Data
}

func TestIntegrationRecordsAreQueryableWithLabelsAndTimestamps(t *testing.T) {
	base := startLoge(t)
	h, err := New(Options{URL: base, Labels: map[string]string{"app": "slogloge_it", "env": "test"},
		Level: slog.LevelDebug, AddSource: true, BatchSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 4, 5, 6, 7, 891011121, time.UTC)
	r := slog.NewRecord(at, slog.LevelError, "payment failed", 0)
	r.AddAttrs(slog.String("order", "A-17"), slog.Group("card", slog.String("brand", "visa")))
	if err := h.Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	l := slog.New(h).With("request_id", "r-1").WithGroup("http")
	for i := 0; i < 120; i++ { // more than two full batches
		l.Info("served", "status", 200, "n", i)
	}
	l.Debug("cache miss", "key", "user:7")
	if err := h.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if s := h.Stats(); s.Sent != 122 || s.Dropped+s.Failed != 0 {
		t.Errorf("stats %+v, want 122 sent", s)
	}

	rows := query(t, base, "", `{app="slogloge_it", level="error"}`)
	if len(rows) != 1 {
		t.Fatalf("error rows: %d, want 1", len(rows))
	}
	if got, want := rows[0].Timestamp.String(), strconv.FormatInt(at.UnixNano(), 10); got != want {
		t.Errorf("timestamp %s, want the record's time %s", got, want)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(rows[0].Line), &m); err != nil {
		t.Fatalf("stored line is not JSON: %s", rows[0].Line)
	}
	if m["msg"] != "payment failed" || m["order"] != "A-17" || fmt.Sprint(m["card"]) != "map[brand:visa]" {
		t.Errorf("line %s lost message or attributes", rows[0].Line)
	}
	if rows[0].Labels["app"] != "slogloge_it" || rows[0].Labels["env"] != "test" || rows[0].Labels["level"] != "error" {
		t.Errorf("labels %v", rows[0].Labels)
	}

	if n := len(query(t, base, "", `{app="slogloge_it", level="info"}`)); n != 120 {
		t.Errorf("info rows: %d, want 120", n)
	}
	debug := query(t, base, "", `{app="slogloge_it", level="debug"}`)
	if len(debug) != 1 {
		t.Fatalf("debug rows: %d, want 1", len(debug))
	}
	var dm struct {
		RequestID string         `json:"request_id"`
		HTTP      map[string]any `json:"http"`
		Source    map[string]any `json:"source"`
	}
	if err := json.Unmarshal([]byte(debug[0].Line), &dm); err != nil || dm.RequestID != "r-1" ||
		dm.HTTP["key"] != "user:7" || dm.Source["function"] == nil {
		t.Errorf("debug line %s: want request_id, the http group and source", debug[0].Line)
	}
}

func TestIntegrationPushCarriesTheAPIKey(t *testing.T) {
	base := startLoge(t, "--api-key", "k3y")
	h, err := New(Options{URL: base, APIKey: "k3y", Labels: map[string]string{"app": "slogloge_auth"}})
	if err != nil {
		t.Fatal(err)
	}
	slog.New(h).Warn("with key")
	if err := h.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	rows := query(t, base, "k3y", `{app="slogloge_auth"}`)
	if len(rows) != 1 || rows[0].Labels["level"] != "warn" {
		t.Errorf("rows %+v, want the one warn line", rows)
	}
}

func TestIntegrationRecordsWaitForAServerThatStartsLate(t *testing.T) {
	if os.Getenv("LOGE_BIN") == "" {
		t.Skip("LOGE_BIN is not set")
	}
	// A port nobody listens on yet: the first pushes are refused and retried
	// while the buffer holds the records.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	h, err := New(Options{URL: "http://127.0.0.1:" + port, Labels: map[string]string{"app": "slogloge_late"},
		BatchInterval: 5 * time.Millisecond, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		MaxRetries: 1000})
	if err != nil {
		t.Fatal(err)
	}
	slog.New(h).Info("before the server")
	waitFor(t, "a refused push to be retried", func() bool { return h.Stats().Retries > 0 })
	base := startLogeOn(t, port)
	slog.New(h).Info("after the server")
	if err := h.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if s := h.Stats(); s.Sent != 2 || s.Dropped+s.Failed != 0 {
		t.Errorf("stats %+v, want both records sent", s)
	}
	if n := len(query(t, base, "", `{app="slogloge_late"}`)); n != 2 {
		t.Errorf("rows %d, want 2", n)
	}
}
