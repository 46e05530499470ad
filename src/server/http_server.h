// HttpServer: HTTP/1.1 with keep-alive on Boost.Beast. It only moves bytes:
// what a request means is the Handler's business.
//
// Threads: `io_threads` run the asio io_context (accept, read, write).
// Handlers run on a separate pool of `handler_threads`, because a push
// handler blocks until its WAL fsync and a query handler does disk work; the
// response is posted back to the connection's executor.
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

struct HttpServerOptions {
  std::string address = "0.0.0.0";
  int port = 3000;                          // 0 picks a free port (tests)
  int io_threads = 2;                       // asio threads: I/O only
  int handler_threads = 16;                 // handlers; pushes among them wait on fsync
  size_t max_body_bytes = 64ull << 20;      // --max-body-size: larger bodies get 413
  int idle_timeout_seconds = 120;           // keep-alive connections idle this long are closed
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
  // Stops accepting, lets in-flight requests finish, closes WebSockets
  // (1001 going away), joins. Idempotent.
  void Stop();

  struct Impl;  // opaque; public so the connection class can reach it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace loge::server
