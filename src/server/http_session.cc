// One HTTP/1.1 connection: reads requests, runs each on its route's handler
// pool (or answers 429 when the pool is full), watches for the client
// hanging up while a handler runs, writes answers, upgrades to WebSocket.
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "server/http_request_parse.h"
#include "server/http_server_impl.h"

namespace loge::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket sock, HttpServer::Impl* srv) : stream_(std::move(sock)), srv_(srv) {
    // Beast reads at most the buffer's free space per call: without room, a
    // 250 KB push arrives in ~500 reads of 512 bytes, each with a timer
    // re-arm (measured: a third of the server's CPU under load).
    buffer_.reserve(kReadBufferBytes);
  }

  void Start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadHeader(); });
  }

  // Closes the connection unless a handler is working on its request or its
  // response is being written (called on Stop): a connection waiting for, or
  // in the middle of, a request is cut, as it would be at any restart.
  void CloseIfIdle() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->handling_) {
        beast::error_code ec;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        self->stream_.close();
      }
    });
  }

 private:
  void ReadHeader() {
    parser_.emplace();
    parser_->body_limit(srv_->opts.max_body_bytes);
    pool_ = nullptr;
    parser_->header_limit(kMaxHeaderBytes);
    stream_.expires_after(std::chrono::seconds(srv_->opts.idle_timeout_seconds));
    if (srv_->stopping) return Close();
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    auto& req = parser_->get();
    // The pool is known from the request line: its body limit applies
    // before the body is read (a query's is small: --max-query-size).
    pool_ = &PoolFor(RequestHead(req));
    parser_->body_limit(CurrentBodyLimit().bytes);
    // Refuse a declared oversize body before reading it.
    if (auto refused = RefuseDeclaredLength(req, CurrentBodyLimit())) {
      return Respond(std::move(*refused), /*close=*/true);
    }
    if (beast::iequals(req[http::field::expect], "100-continue")) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
      http::async_write(stream_, *cont, [self = shared_from_this(), cont](beast::error_code ec, size_t) {
        if (ec) return self->Close();
        self->ReadBody();
      });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    stream_.expires_after(std::chrono::seconds(srv_->opts.idle_timeout_seconds));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->OnBody(ec); });
  }

  void OnReadError(beast::error_code ec) {
    if (auto answer = ReadErrorAnswer(ec, CurrentBodyLimit())) return Respond(std::move(*answer), /*close=*/true);
    Close();
  }

  void OnBody(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    auto msg = parser_->release();
    auto req = std::make_shared<HttpRequest>(RequestHead(msg));
    if (srv_->upgrade && beast::websocket::is_upgrade(msg)) return Upgrade(std::move(msg), req);
    req->body = std::move(msg.body());
    keep_alive_ = msg.keep_alive();
    handling_ = true;
    HttpPool& pool = pool_ != nullptr ? *pool_ : PoolFor(*req);
    // Admission: beyond the pool's cap, 429 now rather than a queue that
    // holds the client (and its memory) for as long as the pool is busy.
    const uint64_t before = pool.in_flight.fetch_add(1);
    if (pool.opts.max_in_flight > 0 && before >= pool.opts.max_in_flight) {
      pool.in_flight.fetch_sub(1);
      pool.rejected.fetch_add(1);
      HttpResponse busy = HttpErrorResponse(429, pool.opts.busy_reason);
      busy.headers.emplace_back("Retry-After", std::to_string(kBusyRetryAfterSeconds));
      return Respond(std::move(busy), !keep_alive_, req->method == "HEAD");
    }
    asio::post(*pool.threads, [self = shared_from_this(), req, &pool] {
      HttpResponse resp;
      try {
        resp = self->srv_->handler(*req);
      } catch (const std::exception& e) {
        spdlog::error("BUG: handler for {} {} threw: {}", req->method, req->path, e.what());
        resp = HttpErrorResponse(500, "internal error");
      }
      pool.in_flight.fetch_sub(1);
      const bool head = req->method == "HEAD";
      asio::post(self->stream_.get_executor(), [self, head, resp = std::move(resp)]() mutable {
        self->Respond(std::move(resp), !self->keep_alive_, head);
      });
    });
    WatchClient(req->client_gone);
  }

  // The current request's body limit: its pool's once its header is read.
  BodyLimit CurrentBodyLimit() const { return BodyLimitOf(srv_->opts, pool_ != nullptr ? &pool_->opts : nullptr); }

  HttpPool& PoolFor(const HttpRequest& req) { return *srv_->pools[PoolIndexFor(srv_->opts, req, srv_->pools.size())]; }

  // While a handler works on the request: a readable socket means the
  // client closed (a zero-byte peek), reset, or sent more (a pipelined
  // request: it is still there, stop watching). Respond() ends the watch.
  void WatchClient(std::shared_ptr<std::atomic<bool>> gone) {
    const uint64_t gen = ++watch_gen_;
    stream_.socket().async_wait(tcp::socket::wait_read, [self = shared_from_this(), gone, gen](beast::error_code ec) {
      if (ec || gen != self->watch_gen_ || !self->handling_) return;
      char c;
      const ssize_t n = ::recv(self->stream_.socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n > 0) return;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return self->WatchClient(gone);
      gone->store(true);
      self->srv_->clients_gone.fetch_add(1);
    });
  }

  void EndWatch() {
    if (watch_gen_ == watched_gen_) return;
    watched_gen_ = ++watch_gen_;
    beast::error_code ec;
    stream_.socket().cancel(ec);  // the only operation pending while a handler runs
  }

  // A WebSocket upgrade: the UpgradeHandler decides on the handler pool;
  // accepted, the socket moves to a WebSocketSession and this HTTP session
  // ends without closing it.
  void Upgrade(http::request<http::string_body> msg, std::shared_ptr<HttpRequest> req) {
    handling_ = true;
    auto m = std::make_shared<http::request<http::string_body>>(std::move(msg));
    asio::post(*PoolFor(*req).threads, [self = shared_from_this(), req, m] {
      UpgradeAnswer a;
      try {
        a = self->srv_->upgrade(*req);
      } catch (const std::exception& e) {
        spdlog::error("BUG: upgrade handler for {} threw: {}", req->path, e.what());
        a.accept = nullptr;
        a.refuse = HttpErrorResponse(500, "internal error");
      }
      asio::post(self->stream_.get_executor(), [self, m, a = std::move(a)]() mutable {
        if (!a.accept) return self->Respond(std::move(a.refuse), /*close=*/true);
        HttpServer::Impl* srv = self->srv_;
        if (srv->stopping) {
          a.accept->OnClose();
          return self->Respond(HttpErrorResponse(503, "loge is shutting down"), true);
        }
        auto ws = StartWebSocketSession(std::move(self->stream_), std::move(*m), a.accept,
                                        [srv](const std::shared_ptr<WebSocketSession>& s) { srv->RemoveWs(s); });
        bool late;  // Stop began after the check above and may have missed it
        {
          std::lock_guard<std::mutex> l(srv->mu);
          srv->ws_sessions.insert(ws);
          srv->sessions.erase(self);
          srv->cv.notify_all();
          late = srv->stopping;
        }
        if (late) ShutdownWebSocketSession(ws);
      });
    });
  }

  // head: the answer to a HEAD request, i.e. the GET answer's header
  // (with its Content-Length) and no body (RFC 9110 9.3.2).
  void Respond(HttpResponse r, bool close, bool head = false) {
    EndWatch();
    if (srv_->stopping) close = true;
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(r.status));
    res->set(http::field::server, "loge");
    if (!r.content_type.empty() && r.status != 204) res->set(http::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) res->set(k, v);
    res->body() = std::move(r.body);
    res->keep_alive(!close);
    res->prepare_payload();
    stream_.expires_after(std::chrono::seconds(srv_->opts.idle_timeout_seconds));
    handling_ = true;
    auto done = [self = shared_from_this(), res, close](beast::error_code ec, size_t) {
      self->handling_ = false;
      if (ec || close) return self->Close();
      self->ReadHeader();
    };
    if (head) {
      auto sr = std::make_shared<http::response_serializer<http::string_body>>(*res);
      http::async_write_header(stream_, *sr, [sr, done = std::move(done)](beast::error_code ec, size_t n) {
        done(ec, n);
      });
      return;
    }
    http::async_write(stream_, *res, std::move(done));
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
    srv_->Remove(shared_from_this());
  }

  beast::tcp_stream stream_;
  HttpServer::Impl* srv_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool keep_alive_ = true;
  bool handling_ = false;  // a handler owns the request, or its response is being written
  // WatchClient's generation: a wait whose generation is stale is ignored.
  uint64_t watch_gen_ = 0;
  uint64_t watched_gen_ = 0;  // the generation EndWatch last closed
  HttpPool* pool_ = nullptr;  // the current request's, once its header is read
};

std::shared_ptr<Session> NewSession(tcp::socket sock, HttpServer::Impl* srv) {
  return std::make_shared<Session>(std::move(sock), srv);
}

void StartSession(const std::shared_ptr<Session>& s) { s->Start(); }

void CloseSessionIfIdle(const std::shared_ptr<Session>& s) { s->CloseIfIdle(); }

}  // namespace loge::server
