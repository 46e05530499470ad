// SyslogListener (syslog_listener.h) on Boost.Asio.
#include "server/syslog_listener.h"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio.hpp>
#include <chrono>
#include <future>
#include <optional>
#include <set>
#include <thread>

#include "core/mutex.h"
#include "core/time.h"
#include "ingest/decode_syslog.h"

namespace loge::server {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;

namespace {

// Threads that run pushes: each blocks on its WAL fsync, and concurrent
// pushes share one (group commit), so a few serve many connections.
constexpr int kPushThreads = 4;
// Bytes one TCP read takes: a batch is what one read delivered.
constexpr size_t kReadBytes = 64 * 1024;
// Largest UDP datagram.
constexpr size_t kDatagramBytes = 65536;
// A syslog frame may carry this much header and structured data on top
// of the longest accepted line.
constexpr size_t kFrameSlackBytes = 64 * 1024;
// SO_RCVBUF asked for the UDP socket: a burst of ~10^4 datagrams waits in
// the kernel while the I/O thread is not scheduled (capped by rmem_max).
constexpr int kUdpReceiveBufferBytes = 8 << 20;
// UDP messages held while a push is in flight; past this, datagrams drop.
constexpr size_t kMaxUdpPending = 50000;
// A TCP batch refused with 429 is retried after this, doubling up to the max.
constexpr auto kRetryMin = std::chrono::milliseconds(50);
constexpr auto kRetryMax = std::chrono::seconds(1);
// While stopping, a TCP batch still refused after this long is dropped
// (and logged) so shutdown ends.
constexpr auto kStopRetryLimit = std::chrono::seconds(10);

class Connection;

// Splits "host:port", ":port", "port", "[v6]:port".
Status ParseListen(const std::string& s, std::string* host, uint16_t* port) {
  std::string h, p;
  if (!s.empty() && s[0] == '[') {
    const size_t close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return Status::InvalidArgument("--syslog-listen: want [v6-address]:port, got " + s);
    }
    h = s.substr(1, close - 1);
    p = s.substr(close + 2);
  } else if (const size_t colon = s.rfind(':'); colon != std::string::npos) {
    h = s.substr(0, colon);
    p = s.substr(colon + 1);
  } else {
    p = s;
  }
  int64_t v = 0;
  if (p.empty() || !ParseInt64(p, &v) || v < 0 || v > 65535) {
    return Status::InvalidArgument("--syslog-listen: want host:port with a port 0-65535, got " + s);
  }
  *host = h.empty() ? "0.0.0.0" : h;
  *port = static_cast<uint16_t>(v);
  return Status::OK();
}

}  // namespace

struct SyslogListener::Impl {
  SyslogListenerOptions opts;
  PushFn push;
  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  asio::thread_pool pushers{kPushThreads};
  tcp::acceptor acceptor{ioc};
  udp::socket udp_sock{ioc};
  std::thread io_thread;
  std::atomic<bool> stopping{false};
  Mutex stop_mu;  // serializes Stop; guards stopped
  bool stopped GUARDED_BY(stop_mu) = false;
  int port = 0;
  std::string address;
  Counters counters;

  // I/O thread only.
  std::set<std::shared_ptr<Connection>> conns;
  std::array<char, kDatagramBytes> udp_buf;
  udp::endpoint udp_from;
  std::unique_ptr<ingest::SyslogDecoder> udp_batch;
  bool udp_pushing = false;

  size_t MaxFrame() const { return opts.limits.max_line_bytes + kFrameSlackBytes; }
  void Accept();
  void ReceiveUdp();
  void FlushUdp();
  // On a pusher thread: stores p, waiting out 429s (TCP) or not (UDP).
  // True when stored.
  bool PushBatch(Payload p, bool wait_out_backpressure);
};

namespace {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(SyslogListener::Impl* impl, tcp::socket sock)
      : impl_(impl), sock_(std::move(sock)), framer_(impl->MaxFrame()), decoder_(impl->opts.limits) {}

  void Read() {
    sock_.async_read_some(asio::buffer(buf_), [self = shared_from_this()](boost::system::error_code ec, size_t n) {
      self->OnRead(ec, n);
    });
  }

  void Close() {
    boost::system::error_code ignored;
    sock_.close(ignored);
  }

 private:
  void Add(std::string_view frame, int64_t now) {
    if (!decoder_.Add(frame, now).ok()) impl_->counters.invalid++;
  }

  void OnRead(boost::system::error_code ec, size_t n) {
    const int64_t now = NowNanos();
    if (ec) {
      done_ = true;
      if (ec != asio::error::eof && ec != asio::error::operation_aborted && ec != asio::error::connection_reset) {
        spdlog::debug("syslog: connection read failed: {}", ec.message());
      }
    } else {
      framer_.Append(std::string_view(buf_.data(), n));
    }
    std::string_view frame;
    for (;;) {
      auto r = framer_.Next(&frame);
      if (!r.ok()) {
        spdlog::warn("syslog: closing a TCP connection: {}", r.status().message());
        done_ = true;
        break;
      }
      if (!*r) break;
      Add(frame, now);
    }
    if (done_ && framer_.Rest(&frame)) Add(frame, now);
    if (decoder_.lines() == 0) return AfterPush();
    auto payload = decoder_.Take();
    if (!payload.ok()) {  // cannot happen: the decoder makes valid labels
      spdlog::error("syslog: dropping a batch: {}", payload.status().ToString());
      return AfterPush();
    }
    asio::post(impl_->pushers, [self = shared_from_this(), p = std::move(*payload)]() mutable {
      self->impl_->PushBatch(std::move(p), /*wait_out_backpressure=*/true);
      asio::post(self->impl_->ioc, [self] { self->AfterPush(); });
    });
  }

  void AfterPush() {
    if (done_ || impl_->stopping.load()) {
      Close();
      impl_->conns.erase(shared_from_this());
      return;
    }
    Read();
  }

  SyslogListener::Impl* impl_;
  tcp::socket sock_;
  ingest::SyslogFramer framer_;
  ingest::SyslogDecoder decoder_;
  std::array<char, kReadBytes> buf_;
  bool done_ = false;  // the peer closed, a read failed, or the stream cannot be framed
};

}  // namespace

bool SyslogListener::Impl::PushBatch(Payload p, bool wait_out_backpressure) {
  const size_t lines = p.Lines();
  auto backoff = std::chrono::duration_cast<std::chrono::milliseconds>(kRetryMin);
  std::optional<std::chrono::steady_clock::time_point> stop_deadline;
  for (;;) {
    // The push consumes its payload; keep ours for a retry after a 429.
    Status st = wait_out_backpressure ? push(Payload(p)) : push(std::move(p));
    if (st.ok()) {
      counters.stored += lines;
      return true;
    }
    if (!wait_out_backpressure || st.code() != Code::kResourceExhausted) {
      if (wait_out_backpressure) spdlog::warn("syslog: dropping {} messages: {}", lines, st.ToString());
      if (!wait_out_backpressure) counters.udp_dropped += lines;
      return false;
    }
    if (stopping.load()) {
      if (!stop_deadline) stop_deadline = std::chrono::steady_clock::now() + kStopRetryLimit;
      if (std::chrono::steady_clock::now() > *stop_deadline) {
        spdlog::warn("syslog: dropping {} messages at shutdown: {}", lines, st.ToString());
        return false;
      }
    }
    std::this_thread::sleep_for(backoff);  // a retry delay, not a stand-in for a condition
    backoff = std::min(backoff * 2, std::chrono::duration_cast<std::chrono::milliseconds>(kRetryMax));
  }
}

void SyslogListener::Impl::Accept() {
  acceptor.async_accept([this](boost::system::error_code ec, tcp::socket sock) {
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping.load()) return;
      spdlog::warn("syslog: accept failed: {}", ec.message());
    } else {
      counters.tcp_connections++;
      auto c = std::make_shared<Connection>(this, std::move(sock));
      conns.insert(c);
      c->Read();
    }
    Accept();
  });
}

void SyslogListener::Impl::ReceiveUdp() {
  udp_sock.async_receive_from(asio::buffer(udp_buf), udp_from, [this](boost::system::error_code ec, size_t n) {
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping.load()) return;
      spdlog::debug("syslog: UDP receive failed: {}", ec.message());
      ReceiveUdp();
      return;
    }
    // Take every datagram already queued before waiting again: one wake-up
    // per burst rather than per datagram keeps the socket buffer from
    // overflowing when a sender blasts.
    const int64_t now = NowNanos();
    for (;;) {
      if (udp_batch->lines() >= kMaxUdpPending) {
        counters.udp_dropped++;
      } else if (!udp_batch->Add(std::string_view(udp_buf.data(), n), now).ok()) {
        counters.invalid++;
      }
      boost::system::error_code e;
      n = udp_sock.receive_from(asio::buffer(udp_buf), udp_from, 0, e);
      if (e) break;  // would_block: the queue is empty
    }
    FlushUdp();
    ReceiveUdp();
  });
}

// Pushes the pending UDP messages unless a push is already in flight (its
// completion pushes what arrived meanwhile).
void SyslogListener::Impl::FlushUdp() {
  if (udp_pushing || udp_batch->lines() == 0) return;
  auto payload = udp_batch->Take();
  if (!payload.ok()) return;
  udp_pushing = true;
  asio::post(pushers, [this, p = std::move(*payload)]() mutable {
    PushBatch(std::move(p), /*wait_out_backpressure=*/false);
    asio::post(ioc, [this] {
      udp_pushing = false;
      FlushUdp();
    });
  });
}

Result<std::unique_ptr<SyslogListener>> SyslogListener::Start(const SyslogListenerOptions& opts, PushFn push) {
  std::string host;
  uint16_t port = 0;
  LOGE_RETURN_IF_ERROR(ParseListen(opts.listen, &host, &port));
  boost::system::error_code ec;
  const asio::ip::address addr = asio::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument("--syslog-listen: not an IP address: " + host);

  auto impl = std::make_unique<Impl>();
  impl->opts = opts;
  impl->push = std::move(push);
  impl->udp_batch = std::make_unique<ingest::SyslogDecoder>(impl->opts.limits);
  // With port 0 the kernel picks the TCP port, and UDP takes the same
  // number; if that one is taken for UDP, try another.
  constexpr int kBindAttempts = 20;
  Status last;
  for (int attempt = 0; attempt < kBindAttempts; attempt++) {
    boost::system::error_code e;
    impl->acceptor = tcp::acceptor(impl->ioc);
    impl->udp_sock = udp::socket(impl->ioc);
    tcp::endpoint tep(addr, port);
    impl->acceptor.open(tep.protocol(), e);
    if (!e) impl->acceptor.set_option(asio::socket_base::reuse_address(true), e);
    if (!e) impl->acceptor.bind(tep, e);
    if (!e) impl->acceptor.listen(asio::socket_base::max_listen_connections, e);
    if (e) return Status::IOError("syslog: cannot listen on tcp " + opts.listen + ": " + e.message());
    const uint16_t bound = impl->acceptor.local_endpoint().port();
    udp::endpoint uep(addr, bound);
    impl->udp_sock.open(uep.protocol(), e);
    if (!e) impl->udp_sock.bind(uep, e);
    if (!e) impl->udp_sock.non_blocking(true, e);
    if (!e) {
      // Room for bursts; the kernel caps it at net.core.rmem_max.
      boost::system::error_code ignored;
      impl->udp_sock.set_option(asio::socket_base::receive_buffer_size(kUdpReceiveBufferBytes), ignored);
      impl->port = bound;
      break;
    }
    last = Status::IOError("syslog: cannot bind udp " + host + ":" + std::to_string(bound) + ": " + e.message());
    if (port != 0) return last;
  }
  if (impl->port == 0) return last;
  impl->address = host;
  impl->work.emplace(asio::make_work_guard(impl->ioc));
  impl->Accept();
  impl->ReceiveUdp();
  Impl* raw = impl.get();
  impl->io_thread = std::thread([raw] { raw->ioc.run(); });
  return std::unique_ptr<SyslogListener>(new SyslogListener(std::move(impl)));
}

SyslogListener::SyslogListener(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SyslogListener::~SyslogListener() { Stop(); }

int SyslogListener::port() const { return impl_->port; }
const std::string& SyslogListener::address() const { return impl_->address; }
const SyslogListener::Counters& SyslogListener::counters() const { return impl_->counters; }

void SyslogListener::Stop() {
  MutexLock l(&impl_->stop_mu);
  if (impl_->stopped) return;
  impl_->stopped = true;
  Impl* d = impl_.get();
  d->stopping = true;
  // 1. On the I/O thread: stop accepting and receiving, close connections
  //    that are waiting for data (those with a push in flight close when it
  //    completes). What UDP still holds is pushed.
  std::promise<void> closed;
  asio::post(d->ioc, [d, &closed] {
    boost::system::error_code ignored;
    d->acceptor.close(ignored);
    d->udp_sock.close(ignored);
    for (const auto& c : d->conns) c->Close();
    d->FlushUdp();
    closed.set_value();
  });
  closed.get_future().wait();
  // 2. Pushes in flight finish; their completions run on the I/O thread.
  d->pushers.join();
  // 3. Nothing is left to wait for: let the I/O thread run out.
  d->work.reset();
  d->ioc.stop();
  if (d->io_thread.joinable()) d->io_thread.join();
  d->conns.clear();
}

}  // namespace loge::server
