// Internal to server/: the state an HttpServer shares between accepting
// and stopping (http_server.cc) and its connections (http_session.cc). Not
// included outside those two files.
#pragma once

#include <atomic>
#include <boost/asio.hpp>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "core/log_throttle.h"
#include "server/http_server.h"
#include "server/websocket_session.h"

namespace loge::server {

class Session;  // one HTTP connection (http_session.cc)

// Bytes a connection's read buffer holds, so one read can take 64 KB.
constexpr size_t kReadBufferBytes = 64 * 1024;

// Seconds a client is told to wait (Retry-After) after a pool's 429.
constexpr int kBusyRetryAfterSeconds = 1;

// One handler pool and its counters.
struct HttpPool {
  HandlerPoolOptions opts;
  std::unique_ptr<boost::asio::thread_pool> threads;
  std::atomic<uint64_t> in_flight{0};
  std::atomic<uint64_t> rejected{0};
};

struct HttpServer::Impl {
  HttpServerOptions opts;
  Handler handler;
  UpgradeHandler upgrade;  // null: upgrade requests go to `handler`
  boost::asio::io_context ioc;
  // Keeps the I/O threads running until Stop has drained every connection:
  // a handler finishing after the acceptor closed still needs them to write.
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;
  std::vector<std::unique_ptr<HttpPool>> pools;  // fixed after Start
  boost::asio::ip::tcp::acceptor acceptor{ioc};
  boost::asio::steady_timer accept_timer{ioc};  // kAcceptBackoff after EMFILE
  LogThrottle accept_log;
  std::atomic<uint64_t> accept_paused_count{0};
  std::atomic<uint64_t> accept_errors{0};
  std::atomic<uint64_t> clients_gone{0};
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  std::atomic<bool> stopped{false};
  int bound_port = 0;

  std::mutex mu;  // guards sessions
  std::condition_variable cv;
  std::set<std::shared_ptr<Session>> sessions;
  std::set<std::shared_ptr<WebSocketSession>> ws_sessions;  // guarded by mu
  // The acceptor waits for a connection to close (max_connections); guarded by mu.
  bool accept_paused = false;

  void Accept();
  // After a connection closed: wakes the acceptor if it paused at the cap.
  void ResumeAcceptIfPaused() {
    bool resume = false;
    {
      std::lock_guard<std::mutex> l(mu);
      if (accept_paused && !AtCapLocked()) {
        accept_paused = false;
        resume = true;
      }
    }
    if (resume) boost::asio::post(ioc, [this] { Accept(); });
  }
  bool AtCapLocked() const {
    return opts.max_connections > 0 && sessions.size() + ws_sessions.size() >= opts.max_connections;
  }
  void Remove(const std::shared_ptr<Session>& s) {
    {
      std::lock_guard<std::mutex> l(mu);
      sessions.erase(s);
      cv.notify_all();
    }
    ResumeAcceptIfPaused();
  }
  void RemoveWs(const std::shared_ptr<WebSocketSession>& s) {
    {
      std::lock_guard<std::mutex> l(mu);
      ws_sessions.erase(s);
      cv.notify_all();
    }
    ResumeAcceptIfPaused();
  }
};

// A connection's session, registered by the caller in Impl::sessions.
std::shared_ptr<Session> NewSession(boost::asio::ip::tcp::socket sock, HttpServer::Impl* srv);
void StartSession(const std::shared_ptr<Session>& s);
// Closes the connection unless a request is in flight (which closes it
// when answered): HttpServer::Stop.
void CloseSessionIfIdle(const std::shared_ptr<Session>& s);

}  // namespace loge::server
