#include "server/websocket_session.h"

#include <spdlog/spdlog.h>

#include <boost/beast/websocket.hpp>
#include <deque>
#include <optional>
#include <string>
#include <utility>

namespace loge::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

namespace {

// A handshake (opening or closing) that takes longer than this ends the
// connection: a client that does not answer our close cannot hold a stop.
constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
// A connection silent this long gets a ping at half of it and is closed
// when nothing came back: how a vanished client (no FIN) is noticed.
constexpr auto kIdleTimeout = std::chrono::seconds(120);

}  // namespace

class WebSocketSession : public WebSocketConn, public std::enable_shared_from_this<WebSocketSession> {
 public:
  using Finished = std::function<void(const std::shared_ptr<WebSocketSession>&)>;

  WebSocketSession(beast::tcp_stream stream, std::shared_ptr<WebSocketHandler> handler, Finished finished)
      : ws_(std::move(stream)), handler_(std::move(handler)), finished_(std::move(finished)) {}

  void Start(http::request<http::string_body> req) {
    beast::get_lowest_layer(ws_).expires_never();  // the websocket's own timeouts take over
    websocket::stream_base::timeout t;
    t.handshake_timeout = kHandshakeTimeout;
    t.idle_timeout = kIdleTimeout;
    t.keep_alive_pings = true;
    ws_.set_option(t);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "loge"); }));
    auto r = std::make_shared<http::request<http::string_body>>(std::move(req));
    ws_.async_accept(*r, [self = shared_from_this(), r](beast::error_code ec) {
      if (ec) return self->Finish();
      self->open_ = true;
      self->handler_->OnOpen(self);
      self->Read();
      if (!self->writing_) self->WriteNext();
    });
  }

  void SendText(std::string text, std::function<void(bool)> done) override {
    asio::post(ws_.get_executor(), [self = shared_from_this(), text = std::move(text), done = std::move(done)]() mutable {
      if (self->finished_called_ || self->closing_) {
        if (done) done(false);
        return;
      }
      self->out_.emplace_back(std::move(text), std::move(done));
      if (self->open_ && !self->writing_) self->WriteNext();
    });
  }

  void Close(uint16_t code, std::string reason) override {
    asio::post(ws_.get_executor(), [self = shared_from_this(), code, reason = std::move(reason)]() mutable {
      if (self->finished_called_ || self->closing_) return;
      self->close_ = websocket::close_reason(static_cast<websocket::close_code>(code), reason);
      if (self->open_ && !self->writing_) self->DoClose();
    });
  }

  void Shutdown() {
    asio::post(ws_.get_executor(), [self = shared_from_this()] {
      if (self->finished_called_) return;
      if (!self->open_ || self->writing_) {
        // A handshake or a write in progress may wait on the client for
        // ever: cut the socket; the pending operation fails and finishes.
        beast::error_code ec;
        beast::get_lowest_layer(self->ws_).socket().close(ec);
        return;
      }
      if (self->closing_) return;
      self->close_ = websocket::close_reason(websocket::close_code::going_away, "loge is shutting down");
      self->DoClose();
    });
  }

 private:
  void Read() {
    ws_.async_read(in_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->Finish();
      self->in_.clear();
      self->Read();
    });
  }

  void WriteNext() {
    if (out_.empty()) {
      writing_ = false;
      if (close_) DoClose();
      return;
    }
    writing_ = true;
    ws_.text(true);
    ws_.async_write(asio::buffer(out_.front().first), [self = shared_from_this()](beast::error_code ec, size_t) {
      auto done = std::move(self->out_.front().second);
      self->out_.pop_front();
      if (done) done(!ec);
      if (ec) return self->Finish();
      self->WriteNext();
    });
  }

  void DoClose() {
    closing_ = true;
    ws_.async_close(*close_, [self = shared_from_this()](beast::error_code) { self->Finish(); });
  }

  // The connection is over: fail what is queued, tell the handler, let the
  // server forget it. Pending operations complete with errors afterwards
  // and find finished_called_ set.
  void Finish() {
    if (finished_called_) return;
    finished_called_ = true;
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().close(ec);
    // A write in flight still owns the front frame; its completion fails it.
    const size_t keep = writing_ ? 1 : 0;
    while (out_.size() > keep) {
      auto done = std::move(out_.back().second);
      out_.pop_back();
      if (done) done(false);
    }
    handler_->OnClose();
    finished_(shared_from_this());
  }

  websocket::stream<beast::tcp_stream> ws_;
  std::shared_ptr<WebSocketHandler> handler_;
  Finished finished_;
  beast::flat_buffer in_;
  // Frames waiting to be written, the front one being written when writing_.
  std::deque<std::pair<std::string, std::function<void(bool)>>> out_;
  std::optional<websocket::close_reason> close_;  // Close() asked; sent after out_
  bool open_ = false;     // handshake done
  bool writing_ = false;  // an async_write is in flight
  bool closing_ = false;  // async_close started
  bool finished_called_ = false;
};

std::shared_ptr<WebSocketSession> StartWebSocketSession(beast::tcp_stream stream, http::request<http::string_body> req,
                                                        std::shared_ptr<WebSocketHandler> handler,
                                                        WebSocketSession::Finished finished) {
  auto s = std::make_shared<WebSocketSession>(std::move(stream), std::move(handler), std::move(finished));
  s->Start(std::move(req));
  return s;
}

void ShutdownWebSocketSession(const std::shared_ptr<WebSocketSession>& s) { s->Shutdown(); }

}  // namespace loge::server
