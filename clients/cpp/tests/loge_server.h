// LogeServer: runs the real loge binary ($LOGE_BIN) on a free port in a
// fresh temp directory for the integration tests, and queries it.
//
// Threads: a reader thread drains the server's stdout (so it never blocks on
// a full pipe) and reports the "listening on" port; the destructor sends
// SIGTERM, waits for the process and joins the reader.
#ifndef LOGE_CLIENT_TESTS_LOGE_SERVER_H_
#define LOGE_CLIENT_TESTS_LOGE_SERVER_H_

#include <sys/types.h>

#include <map>
#include <string>
#include <thread>
#include <vector>

namespace loge::test {

struct Row {
  std::string timestamp;
  std::string line;
  std::map<std::string, std::string> labels;
};

class LogeServer {
 public:
  // The binary's path from $LOGE_BIN, or "" when unset.
  static std::string BinaryPath();

  // Starts the server with extra args on port ("0": any free port). Check
  // ok() and error() afterwards.
  explicit LogeServer(std::vector<std::string> args = {}, const std::string& port = "0");
  ~LogeServer();
  LogeServer(const LogeServer&) = delete;
  LogeServer& operator=(const LogeServer&) = delete;

  bool ok() const { return !url_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& url() const { return url_; }

  // Runs a LogQL selector; rows newest first. Fails the test on an error.
  std::vector<Row> Query(const std::string& selector, const std::string& api_key = "") const;

 private:
  pid_t pid_ = -1;
  std::string dir_;
  std::string url_;
  std::string error_;
  std::thread reader_;
};

}  // namespace loge::test

#endif  // LOGE_CLIENT_TESTS_LOGE_SERVER_H_
