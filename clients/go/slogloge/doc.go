// Package slogloge is a log/slog Handler that ships records to a loge server.
// It uses the standard library only.
//
//	h, err := slogloge.New(slogloge.Options{
//		URL:    "http://localhost:3000",
//		Labels: map[string]string{"app": "checkout", "env": "prod"},
//	})
//	if err != nil { ... }
//	defer func() {
//		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
//		defer cancel()
//		h.Close(ctx)
//	}()
//	logger := slog.New(h)
//	logger.Info("order placed", "order_id", 17, slog.Group("user", "id", 7))
//
// Each record becomes one JSON line:
//
//	{"msg":"order placed","source":{…},"order_id":17,"user":{"id":7}}
//
// with groups as nested objects ("source" only with Options.AddSource). The
// record's time is sent beside the line as the entry timestamp in unix
// nanoseconds, and its level as the "level" stream label ("debug", "info",
// "warn", "error"), next to Options.Labels. One stream is pushed per level.
//
// Delivery: Handle renders and queues; a worker goroutine pushes batches of
// Options.BatchSize records, or fewer once the oldest has waited
// Options.BatchInterval. While the server is slow or down the queue is
// bounded by BufferSize records and BufferBytes bytes; past them the oldest
// records are dropped and counted (Stats.Dropped), so logging never blocks
// and memory stays bounded. A push answered 429 or 5xx, or failing in
// transport, is retried up to MaxRetries times with exponential backoff and
// jitter, or after the server's Retry-After; a 4xx other than 429 is not
// retried. A batch given up is counted in Stats.Failed and passed to
// Options.OnError. Flush and Close deliver what is buffered.
package slogloge
