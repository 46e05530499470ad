// FakeLoge: a minimal HTTP/1.1 server on a free loopback port standing in
// for loge's push endpoint. It records every request and answers it with
// the responder (200 by default), which may block to hold a push in flight.
//
// Threads: one accept thread plus one thread per connection (keep-alive),
// all joined by the destructor, which shuts the sockets down first.
#ifndef LOGE_CLIENT_TESTS_FAKE_LOGE_H_
#define LOGE_CLIENT_TESTS_FAKE_LOGE_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace loge::test {

// One entry of a push body, flattened.
struct PushedRecord {
  std::string ts;
  std::string line;
  std::map<std::string, std::string> labels;
};

struct Request {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::chrono::steady_clock::time_point at;
  std::vector<PushedRecord> records;  // parsed from body; empty if it is not a push
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

inline Response WithStatus(int status) {
  Response r;
  r.status = status;
  return r;
}

// Parses a push body; fails the current test if it is not one.
std::vector<PushedRecord> ParsePush(const std::string& body);

class FakeLoge {
 public:
  // Answers the n-th request (0-based).
  using Responder = std::function<Response(size_t n)>;

  FakeLoge();
  ~FakeLoge();
  FakeLoge(const FakeLoge&) = delete;
  FakeLoge& operator=(const FakeLoge&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void SetResponder(Responder r);

  std::vector<Request> Requests() const;
  std::vector<PushedRecord> Records() const;
  // The "msg" of every record, in arrival order.
  std::vector<std::string> Messages() const;
  // Waits until at least n requests arrived; false at the deadline.
  bool WaitForRequests(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

 private:
  void AcceptLoop();
  void Serve(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  mutable std::mutex mu_;
  mutable std::condition_variable arrived_;  // signalled per request; guarded by mu_
  std::vector<Request> requests_;            // guarded by mu_
  Responder responder_;                      // guarded by mu_
  std::vector<int> conn_fds_;                // open connections; guarded by mu_
  std::vector<std::thread> conn_threads_;    // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::thread accept_thread_;
};

}  // namespace loge::test

#endif  // LOGE_CLIENT_TESTS_FAKE_LOGE_H_
