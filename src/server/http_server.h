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
// "Connection: close"; then the threads are joined.
#pragma once

#include <cstddef>
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
  HttpServer(const HttpServerOptions& opts, Handler handler);
  ~HttpServer();  // Stop()s
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the threads. IOError if the port is taken.
  Status Start();
  // The bound port (useful with port 0).
  int port() const;
  // Stops accepting, lets in-flight requests finish, joins. Idempotent.
  void Stop();

  struct Impl;  // opaque; public so the connection class can reach it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace loge::server
