#include "server/http_server.h"

#include <spdlog/spdlog.h>

#include <cerrno>

#include <boost/beast/core.hpp>

#include "server/http_server_impl.h"

namespace loge::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

std::string_view HttpRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

namespace {

// How long accept() rests after failing for want of descriptors or memory:
// long enough that a full descriptor table costs a few wake-ups a second,
// short enough that a freed descriptor is used at once by human standards.
constexpr auto kAcceptBackoff = std::chrono::milliseconds(200);

// accept() errors that mean "out of descriptors or memory": back off.
bool ResourceShortage(const boost::system::error_code& ec) {
  const int v = ec.value();
  return ec.category() == boost::system::system_category() &&
         (v == EMFILE || v == ENFILE || v == ENOBUFS || v == ENOMEM);
}

}  // namespace

void HttpServer::Impl::Accept() {
  {
    std::lock_guard<std::mutex> l(mu);
    if (stopping) return;
    if (AtCapLocked()) {  // ResumeAcceptIfPaused calls again once one closes
      accept_paused = true;
      accept_paused_count.fetch_add(1);
      return;
    }
  }
  acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket sock) {
    if (ec) {
      if (stopping || ec == asio::error::operation_aborted) return;
      accept_errors.fetch_add(1);
      const bool shortage = ResourceShortage(ec);
      uint64_t dropped = 0;
      if (accept_log.Allow(ec.message(), &dropped)) {
        spdlog::warn("accept: {}{}{}", ec.message(),
                     shortage ? "; pausing accept (raise the file-descriptor limit or lower --max-connections)" : "",
                     dropped > 0 ? " (" + std::to_string(dropped) + " identical messages suppressed)" : "");
      }
      if (shortage) {
        accept_timer.expires_after(kAcceptBackoff);
        accept_timer.async_wait([this](beast::error_code wec) {
          if (!wec) Accept();
        });
        return;
      }
    } else {
      auto s = NewSession(std::move(sock), this);
      {
        std::lock_guard<std::mutex> l(mu);
        if (stopping) return;
        sessions.insert(s);
      }
      StartSession(s);
    }
    Accept();
  });
}

HttpServer::HttpServer(const HttpServerOptions& opts, Handler handler, UpgradeHandler upgrade)
    : impl_(std::make_unique<Impl>()) {
  impl_->opts = opts;
  impl_->handler = std::move(handler);
  impl_->upgrade = std::move(upgrade);
}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() {
  Impl* d = impl_.get();
  beast::error_code ec;
  auto addr = asio::ip::make_address(d->opts.address, ec);
  if (ec) return Status::InvalidArgument("bad listen address \"" + d->opts.address + "\": " + ec.message());
  tcp::endpoint ep(addr, static_cast<unsigned short>(d->opts.port));
  d->acceptor.open(ep.protocol(), ec);
  if (!ec) d->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) d->acceptor.bind(ep, ec);
  if (!ec) d->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::IOError("listen on " + d->opts.address + ":" + std::to_string(d->opts.port) + ": " + ec.message());
  }
  d->bound_port = d->acceptor.local_endpoint().port();
  std::vector<HandlerPoolOptions> pools = d->opts.pools;
  if (pools.empty()) pools.push_back(HandlerPoolOptions{"all", d->opts.handler_threads, 0, ""});
  for (const auto& po : pools) {
    auto p = std::make_unique<HttpPool>();
    p->opts = po;
    p->threads = std::make_unique<asio::thread_pool>(std::max(1, po.threads));
    d->pools.push_back(std::move(p));
  }
  d->work.emplace(d->ioc.get_executor());
  d->Accept();
  for (int i = 0; i < std::max(1, d->opts.io_threads); i++) {
    d->threads.emplace_back([d] { d->ioc.run(); });
  }
  return Status::OK();
}

int HttpServer::port() const { return impl_->bound_port; }

HttpServerStats HttpServer::Stats() const {
  const Impl* d = impl_.get();
  HttpServerStats s;
  for (const auto& p : d->pools) s.pools.push_back({p->opts.name, p->in_flight.load(), p->rejected.load()});
  {
    std::lock_guard<std::mutex> l(impl_->mu);
    s.connections = d->sessions.size() + d->ws_sessions.size();
  }
  s.accept_paused = d->accept_paused_count.load();
  s.accept_errors = d->accept_errors.load();
  s.clients_gone = d->clients_gone.load();
  return s;
}

void HttpServer::Stop() {
  Impl* d = impl_.get();
  if (d->stopped.exchange(true)) return;
  if (d->threads.empty()) return;
  d->stopping = true;
  asio::post(d->ioc, [d] {
    beast::error_code ec;
    d->acceptor.close(ec);
    d->accept_timer.cancel();
  });
  std::vector<std::shared_ptr<Session>> live;
  std::vector<std::shared_ptr<WebSocketSession>> live_ws;
  {
    std::lock_guard<std::mutex> l(d->mu);
    live.assign(d->sessions.begin(), d->sessions.end());
    live_ws.assign(d->ws_sessions.begin(), d->ws_sessions.end());
  }
  for (auto& s : live) CloseSessionIfIdle(s);
  for (auto& s : live_ws) ShutdownWebSocketSession(s);
  {
    // In-flight requests finish and close their connection, WebSockets
    // finish their close handshake; bounded wait.
    std::unique_lock<std::mutex> l(d->mu);
    d->cv.wait_for(l, std::chrono::seconds(30), [d] { return d->sessions.empty() && d->ws_sessions.empty(); });
  }
  for (auto& p : d->pools) p->threads->join();
  d->work.reset();
  d->ioc.stop();
  for (auto& t : d->threads) t.join();
  d->threads.clear();
  // Connections still open past the deadline are dropped here, while the
  // io_context they belong to is alive.
  std::set<std::shared_ptr<Session>> left;
  std::set<std::shared_ptr<WebSocketSession>> left_ws;
  {
    std::lock_guard<std::mutex> l(d->mu);
    left.swap(d->sessions);
    left_ws.swap(d->ws_sessions);
  }
  left.clear();
  left_ws.clear();
}

}  // namespace loge::server

