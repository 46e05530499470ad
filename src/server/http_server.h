// HttpServer: HTTP/1.1 with keep-alive on Boost.Beast. It only moves bytes:
// what a request means is the Handler's business.
//
// Threads: `io_threads` run the asio io_context (accept, read, write).
// Handlers run on separate pools, because a push handler blocks until its
// WAL fsync and a query handler does disk work; the response is posted back
// to the connection's executor. `classify` picks a request's pool, so one
// class of requests (queries) cannot take the threads of another (pushes,
// probes). A pool with `max_in_flight` answers 429 at once, on the I/O
// thread, to a request beyond its cap instead of queueing it.
//
// Client disconnect: while a handler runs, the connection watches its
// socket; when the client closes it (or resets it), HttpRequest::client_gone
// is set, so a long handler (a query) can stop (query/cancel.h).
//
// Connections: at most `max_connections` at once; at the cap the acceptor
// pauses (new clients wait in the kernel's backlog) until one closes. When
// accept() fails for want of file descriptors (EMFILE/ENFILE), it backs off
// (kAcceptBackoff) instead of retrying in a loop, and the log line is
// throttled (core/log_throttle.h).
//
// Shutdown (Stop): close the acceptor; idle connections are closed; a
// request being handled finishes and its response is written with
// "Connection: close"; WebSockets get a close frame (or, when a write is
// stuck on a client that does not read, their socket closed); then the
// threads are joined.
//
// WebSockets (websocket_session.h): an upgrade request goes to the
// UpgradeHandler on the handler pool; once accepted, the connection's
// frames are written on its I/O strand, one at a time in order.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace loge::server {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: path and query string
  std::string path;    // target before '?', percent-decoding not applied
  std::string query;   // after '?', raw
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;
  // Set (by an I/O thread) once the client closed or reset the connection
  // while the request was being handled; never null for a request from the
  // socket.
  std::shared_ptr<std::atomic<bool>> client_gone = std::make_shared<std::atomic<bool>>(false);
  // The first header with this (lowercase) name, or "".
  std::string_view Header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

using Handler = std::function<HttpResponse(HttpRequest&)>;

// One WebSocket connection after its upgrade (RFC 6455), as a handler sees it.
// Thread-safety: any thread; the work happens on the connection's I/O strand.
class WebSocketConn {
 public:
  virtual ~WebSocketConn() = default;
  // Writes one text frame after the ones queued before it. `done(ok)` runs
  // on an I/O thread once the frame is written (true) or the connection
  // failed or closed first (false). It must not block.
  virtual void SendText(std::string text, std::function<void(bool ok)> done) = 0;
  // Starts the closing handshake (after the frames already queued) with a
  // status code: 1000 normal, 1001 going away, 1011 server error.
  virtual void Close(uint16_t code, std::string reason) = 0;
};

// The application's side of one WebSocket connection. Messages the client
// sends are read (so pings, pongs and its close get answered) and dropped.
class WebSocketHandler {
 public:
  virtual ~WebSocketHandler() = default;
  // After the handshake, on an I/O thread. Must not block.
  virtual void OnOpen(std::shared_ptr<WebSocketConn> conn) = 0;
  // Exactly once, whether or not OnOpen ran: the client closed or went
  // away, the handshake failed, a write failed, or the server is stopping.
  // On an I/O thread; must not block.
  virtual void OnClose() = 0;
};

// The answer to a WebSocket upgrade request (runs on the handler pool):
// `accept` to upgrade, else `refuse` is written as a plain response (400,
// 401, ...) and the connection closed.
struct UpgradeAnswer {
  std::shared_ptr<WebSocketHandler> accept;
  HttpResponse refuse;
};
using UpgradeHandler = std::function<UpgradeAnswer(HttpRequest&)>;

// One pool of handler threads.
struct HandlerPoolOptions {
  std::string name;          // in logs and HttpServerStats ("ingest", "query", ...)
  int threads = 16;          // handlers of this pool running at once
  // Requests of this pool queued or running at most; one more is answered
  // 429 with Retry-After and `busy_reason` at once. 0 = no cap (queue).
  size_t max_in_flight = 0;
  std::string busy_reason;
  // Largest body a request of this pool may send (413 before it is read,
  // naming `body_limit_flag`); 0 = max_body_bytes.
  size_t max_body_bytes = 0;
  std::string body_limit_flag = "--max-body-size";
};

struct HttpServerOptions {
  std::string address = "0.0.0.0";
  int port = 3000;                          // 0 picks a free port (tests)
  int io_threads = 2;                       // asio threads: I/O only
  int handler_threads = 16;                 // the one pool when `pools` is empty
  // Handler pools; empty = one pool of handler_threads without a cap.
  std::vector<HandlerPoolOptions> pools;
  // The pool (index into `pools`) that serves a request; null = pool 0.
  // Runs on an I/O thread: must be cheap and must not block.
  std::function<size_t(const HttpRequest&)> classify;
  size_t max_body_bytes = 64ull << 20;      // --max-body-size: larger bodies get 413
  int idle_timeout_seconds = 120;           // keep-alive connections idle this long are closed
  size_t max_connections = 0;               // --max-connections: open at once; 0 = no cap
};

// Counters of a running HttpServer (GET /metrics).
struct HttpServerStats {
  struct Pool {
    std::string name;
    uint64_t in_flight = 0;  // queued or running now
    uint64_t rejected = 0;   // answered 429 at the cap since start
  };
  std::vector<Pool> pools;
  uint64_t connections = 0;         // open now (HTTP and WebSocket)
  uint64_t accept_paused = 0;       // times the acceptor paused at max_connections
  uint64_t accept_errors = 0;       // accept() failures (EMFILE, ...) since start
  uint64_t clients_gone = 0;        // requests whose client left while handled
};

class HttpServer {
 public:
  // `upgrade` answers requests that ask for a WebSocket (Upgrade:
  // websocket); without it they go to `handler` like any other.
  HttpServer(const HttpServerOptions& opts, Handler handler, UpgradeHandler upgrade = nullptr);
  ~HttpServer();  // Stop()s
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the threads. IOError if the port is taken.
  Status Start();
  // The bound port (useful with port 0).
  int port() const;
  HttpServerStats Stats() const;
  // Stops accepting, lets in-flight requests finish, closes WebSockets
  // (1001 going away), joins. Idempotent.
  void Stop();

  struct Impl;  // opaque; public so the connection class can reach it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace loge::server
