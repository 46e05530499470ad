// loge::Client ships log records to a loge server's /api/v1/push.
//
// Each record becomes one JSON line {"msg":…,"source":{…},<fields>}; its time
// travels beside the line as the entry timestamp (unix ns) and its level as
// the "level" stream label, next to the static labels of Options. Records are
// queued and pushed in batches by a background thread.
//
// Thread-safety: every method may be called from any thread. Log and Push
// only render and queue under a mutex and never wait for the network: when
// the server is slow or unreachable the queue is bounded (Options
// buffer_size, buffer_bytes) and the oldest records are dropped and counted.
//
// Threads: Create starts one worker thread; Close (or the destructor) joins
// it. The worker wakes when a batch's worth is queued, when the oldest queued
// record has waited batch_interval, and for Flush and Close; it does all HTTP
// (libcurl, one keep-alive connection) without holding the mutex.
#ifndef LOGE_CLIENT_H_
#define LOGE_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace loge {

// Each field's default is given beside it; only url is required.
struct Options {
  // The server's base URL, e.g. "http://localhost:3000"; /api/v1/push is
  // appended unless the URL already ends with it.
  std::string url;
  // Static stream labels, e.g. {{"app","web"}}; names must match
  // [a-zA-Z_][a-zA-Z0-9_]*. "level" is set per record and overrides one here.
  std::map<std::string, std::string> labels;
  // Sent as "Authorization: Bearer <api_key>" when not empty.
  std::string api_key;

  // Most records in one push: ~100-300 KiB of JSON, which amortises the
  // fsync the server does per push.
  size_t batch_size = 1000;
  // A partial batch is pushed once its oldest record has waited this long.
  std::chrono::milliseconds batch_interval{1000};
  // Most records queued; past it the oldest are dropped. Ten batches ride out
  // a server restart of several seconds.
  size_t buffer_size = 10000;
  // Most bytes of queued lines, whatever their count: 16 MiB.
  size_t buffer_bytes = 16u << 20;
  // A record whose line is longer is dropped alone: loge's --max-line-size
  // default, past which the server would reject the whole batch.
  size_t max_line_bytes = 256u << 10;

  // Retries of a batch answered 429, 5xx or failing in transport before it
  // is given up; with the backoff below, ~35 s: longer than a restart.
  int max_retries = 8;
  // Backoff between retries when the server sends no Retry-After: starts at
  // min_backoff, doubles up to max_backoff, with jitter. Retry-After is
  // honoured up to 60 s.
  std::chrono::milliseconds min_backoff{250};
  std::chrono::milliseconds max_backoff{10000};
  // One push request, connect to answer. A durable push is one fsync.
  std::chrono::milliseconds request_timeout{10000};
  // How long the destructor's Close may take to deliver what is buffered.
  std::chrono::milliseconds close_timeout{5000};

  // Called on the worker thread with a description of each batch given up
  // (rejected with a 4xx, or out of retries). Must not block or log to this
  // client.
  std::function<void(const std::string&)> on_error;
};

// What became of the records, counted since Create.
struct Stats {
  uint64_t sent = 0;     // accepted by the server
  uint64_t dropped = 0;  // from a full buffer, too long, after Close, or left at a timed-out Close
  uint64_t failed = 0;   // in batches given up: rejected (4xx) or out of retries
  uint64_t retries = 0;  // push attempts repeated after a 429, 5xx or transport error
  size_t pending = 0;    // queued or in flight now
};

// One attribute of a record: a key and a JSON string, number, bool or null.
class Field {
 public:
  Field(std::string key, std::string_view v) : key_(std::move(key)), kind_(Kind::kString), text_(v) {}
  Field(std::string key, const char* v) : Field(std::move(key), std::string_view(v ? v : "")) {}
  Field(std::string key, const std::string& v) : Field(std::move(key), std::string_view(v)) {}
  Field(std::string key, bool v) : key_(std::move(key)), kind_(Kind::kBool), int_(v) {}
  Field(std::string key, double v) : key_(std::move(key)), kind_(Kind::kDouble), double_(v) {}
  Field(std::string key, float v) : Field(std::move(key), static_cast<double>(v)) {}
  Field(std::string key, std::nullptr_t) : key_(std::move(key)), kind_(Kind::kNull) {}
  template <typename T, typename = std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>>
  Field(std::string key, T v) : key_(std::move(key)) {
    if constexpr (std::is_signed_v<T>) {
      kind_ = Kind::kInt;
      int_ = static_cast<int64_t>(v);
    } else {
      kind_ = Kind::kUint;
      uint_ = static_cast<uint64_t>(v);
    }
  }

  // Appends `"key":value` to out.
  void AppendTo(std::string* out) const;

 private:
  enum class Kind { kString, kInt, kUint, kDouble, kBool, kNull };
  std::string key_;
  Kind kind_ = Kind::kNull;
  std::string text_;
  int64_t int_ = 0;
  uint64_t uint_ = 0;
  double double_ = 0;
};

// Where a record was logged; rendered as "source" when file is set.
struct Source {
  const char* file = nullptr;
  int line = 0;
  const char* function = nullptr;
};

class Client {
 public:
  // Checks options and starts the worker. Returns nullptr with *error set
  // (if error is not null) when an option is invalid.
  static std::unique_ptr<Client> Create(Options options, std::string* error);

  // Close(options.close_timeout).
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Renders {"msg":message,"source":…,fields…} and queues it with the
  // level label and time (the current time when time is the epoch). Returns
  // false if it was dropped: longer than max_line_bytes, or after Close.
  bool Log(std::string_view level, std::string_view message, const std::vector<Field>& fields = {},
           const Source& source = {},
           std::chrono::system_clock::time_point time = std::chrono::system_clock::time_point{});

  // Queues a line rendered by the caller (any text; loge stores it as is).
  bool Push(std::string_view level, int64_t unix_ns, std::string line);

  // Pushes everything queued before the call and waits until it is
  // delivered or given up, at most timeout. True if it all was delivered;
  // false on timeout or if a batch was given up meanwhile (see LastError).
  bool Flush(std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

  // Flushes like Flush, then stops the worker. If timeout ends first, the
  // push under way is abandoned and what is left is counted as dropped.
  // Later records are dropped. True if everything was delivered. Calling it
  // again returns at once.
  bool Close(std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

  Stats GetStats() const;
  // The last reason a batch was given up, or "".
  std::string LastError() const;

  // The JSON line Log sends, for tests and for callers of Push.
  static std::string RenderLine(std::string_view message, const std::vector<Field>& fields,
                                const Source& source);

  class Impl;

 private:
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Appends s to out as a JSON string literal: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD.
void AppendJsonString(std::string_view s, std::string* out);

}  // namespace loge

#endif  // LOGE_CLIENT_H_
