// HttpPush: one keep-alive libcurl connection that POSTs push bodies.
// Internal to the client; used by the worker thread only (not thread-safe).
#ifndef LOGE_CLIENT_HTTP_PUSH_H_
#define LOGE_CLIENT_HTTP_PUSH_H_

#include <atomic>
#include <chrono>
#include <string>

typedef void CURL;

namespace loge {

struct PushResult {
  int status = 0;             // HTTP status; 0 when the transport failed
  std::string error;          // transport error, or the server's "error" text
  double retry_after_s = -1;  // the Retry-After header in seconds; -1 when absent
};

class HttpPush {
 public:
  // abort, when it becomes true, ends a transfer under way at curl's next
  // progress callback (at most about a second).
  HttpPush(std::string url, std::string api_key, std::chrono::milliseconds timeout,
           const std::atomic<bool>* abort);
  ~HttpPush();
  HttpPush(const HttpPush&) = delete;
  HttpPush& operator=(const HttpPush&) = delete;

  PushResult Post(const std::string& body);

  // Seconds from a Retry-After value (delta-seconds or an HTTP date), or -1.
  static double ParseRetryAfter(std::string value);

  // Calls curl_global_init once per process.
  static void GlobalInit();

 private:
  std::string url_;
  std::string authorization_;
  std::chrono::milliseconds timeout_;
  const std::atomic<bool>* abort_;
  CURL* curl_ = nullptr;
};

}  // namespace loge

#endif  // LOGE_CLIENT_HTTP_PUSH_H_
