// loge::Client: the bounded queue, the worker thread and the retry loop.
#include "loge/client.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <thread>
#include <utility>

#include "http_push.h"

namespace loge {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kPushPath = "/api/v1/push";
// A server's Retry-After is honoured up to this many seconds.
constexpr double kMaxRetryAfterS = 60;

bool ValidLabelName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); i++) {
    const char c = s[i];
    const bool alpha = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alpha && (i == 0 || c < '0' || c > '9')) return false;
  }
  return true;
}

struct Entry {
  int64_t ts = 0;      // unix ns
  std::string level;   // the "level" label
  std::string line;    // the JSON line
};

}  // namespace

class Client::Impl {
 public:
  explicit Impl(Options o) : options_(std::move(o)) {
    for (const auto& [name, value] : options_.labels) {
      if (name == "level") continue;
      AppendJsonString(name, &labels_json_);
      labels_json_.push_back(':');
      AppendJsonString(value, &labels_json_);
      labels_json_.push_back(',');
    }
    worker_ = std::thread([this] { Run(); });
  }

  ~Impl() {
    Close(options_.close_timeout);
  }

  bool Push(std::string_view level, int64_t ts, std::string line) {
    std::lock_guard<std::mutex> lock(mu_);
    if (line.size() > options_.max_line_bytes || closing_) {
      stats_.dropped++;
      return false;
    }
    if (queue_.empty()) first_at_ = Clock::now();
    queued_bytes_ += line.size();
    queue_.push_back(Entry{ts, std::string(level), std::move(line)});
    enqueued_++;
    while (!queue_.empty() &&
           (queue_.size() > options_.buffer_size || queued_bytes_ > options_.buffer_bytes)) {
      queued_bytes_ -= queue_.front().line.size();
      queue_.pop_front();
      dequeued_++;
      stats_.dropped++;
    }
    // The worker sleeps without a deadline while the queue is empty: wake it
    // to start the first record's batch_interval, and for a full batch.
    if (queue_.size() == 1 || queue_.size() >= options_.batch_size) wake_.notify_one();
    return true;
  }

  bool Flush(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    std::unique_lock<std::mutex> lock(mu_);
    const uint64_t target = enqueued_;
    const uint64_t failed_before = failed_batches_;
    flush_target_ = std::max(flush_target_, target);
    wake_.notify_one();
    const bool settled = settled_.wait_until(lock, deadline, [&] {
      return (dequeued_ >= target && in_flight_ == 0) || worker_done_;
    });
    return settled && dequeued_ >= target && in_flight_ == 0 && failed_batches_ == failed_before;
  }

  bool Close(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    if (closing_) {  // closed, or another thread is closing: wait for it
      settled_.wait_for(lock, timeout, [&] { return closed_; });
      return closed_ && close_result_;
    }
    closing_ = true;
    wake_.notify_one();
    if (!settled_.wait_for(lock, timeout, [&] { return worker_done_; })) {
      abort_ = true;  // ends backoff waits and, through curl's progress callback, a request
      wake_.notify_one();
    }
    lock.unlock();
    worker_.join();
    lock.lock();
    const size_t left = queue_.size() + in_flight_;
    stats_.dropped += left;
    dequeued_ += queue_.size();
    queue_.clear();
    queued_bytes_ = 0;
    in_flight_ = 0;
    closed_ = true;
    close_result_ = left == 0 && failed_batches_ == 0;
    settled_.notify_all();
    return close_result_;
  }

  Stats GetStats() const {
    std::lock_guard<std::mutex> lock(mu_);
    Stats s = stats_;
    s.pending = queue_.size() + in_flight_;
    return s;
  }

  std::string LastError() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_error_;
  }

 private:
  void Run() {
    HttpPush http(options_.url, options_.api_key, options_.request_timeout, &abort_);
    std::vector<Entry> batch;
    while (NextBatch(&batch)) {
      if (!Deliver(batch, &http)) break;  // aborted: the batch stays counted in in_flight_
      std::lock_guard<std::mutex> lock(mu_);
      in_flight_ = 0;
      settled_.notify_all();
    }
    std::lock_guard<std::mutex> lock(mu_);
    worker_done_ = true;
    settled_.notify_all();
  }

  // Waits until a batch is due and moves it into *batch. False when the
  // worker should stop.
  bool NextBatch(std::vector<Entry>* batch) {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      if (abort_) return false;
      const size_t n = queue_.size();
      const bool due = n >= options_.batch_size ||
                       (n > 0 && (closing_ || dequeued_ < flush_target_ ||
                                  Clock::now() - first_at_ >= options_.batch_interval));
      if (due) {
        const size_t take = std::min(n, options_.batch_size);
        batch->clear();
        for (size_t i = 0; i < take; i++) {
          queued_bytes_ -= queue_.front().line.size();
          batch->push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        dequeued_ += take;
        in_flight_ = take;
        if (!queue_.empty()) first_at_ = Clock::now();
        return true;
      }
      if (closing_ && n == 0) return false;
      settled_.notify_all();
      if (n > 0) {
        wake_.wait_until(lock, first_at_ + options_.batch_interval);
      } else {
        wake_.wait(lock);
      }
    }
  }

  // Pushes batch, retrying 429, 5xx and transport errors with backoff.
  // True when the batch is finished (sent or given up); false when Close
  // aborted it.
  bool Deliver(const std::vector<Entry>& batch, HttpPush* http) {
    const std::string body = EncodeBatch(batch);
    for (int attempt = 0;; attempt++) {
      const PushResult r = http->Post(body);
      if (r.status >= 200 && r.status <= 299) {
        std::lock_guard<std::mutex> lock(mu_);
        stats_.sent += batch.size();
        return true;
      }
      if (abort_) return false;
      const bool retriable = r.status == 0 || r.status == 429 || r.status >= 500;
      if (!retriable || attempt >= options_.max_retries) {
        GiveUp(batch.size(), r, attempt + 1);
        return true;
      }
      const auto wait = r.retry_after_s >= 0
                            ? std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::duration<double>(std::min(r.retry_after_s, kMaxRetryAfterS)))
                            : Backoff(attempt);
      std::unique_lock<std::mutex> lock(mu_);
      stats_.retries++;
      if (wake_.wait_for(lock, wait, [&] { return abort_.load(); })) return false;
    }
  }

  void GiveUp(size_t n, const PushResult& r, int attempts) {
    std::string why = r.status == 0 ? r.error : "push answered " + std::to_string(r.status) + ": " + r.error;
    why = "loge: gave up a batch of " + std::to_string(n) + " records after " + std::to_string(attempts) +
          " attempts: " + why;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.failed += n;
      failed_batches_++;
      last_error_ = why;
    }
    if (options_.on_error) options_.on_error(why);
  }

  // min_backoff doubled per attempt up to max_backoff, jittered into
  // [d/2, d] so clients restarted together do not retry in step.
  std::chrono::milliseconds Backoff(int attempt) {
    auto d = options_.min_backoff;
    for (int i = 0; i < attempt && d < options_.max_backoff; i++) d *= 2;
    d = std::min(d, options_.max_backoff);
    std::uniform_int_distribution<int64_t> jitter(0, d.count() / 2);
    return d - std::chrono::milliseconds(d.count() / 2) + std::chrono::milliseconds(jitter(rng_));
  }

  // One stream per level, records in queued order within each.
  std::string EncodeBatch(const std::vector<Entry>& batch) const {
    std::vector<std::string_view> levels;
    size_t size = 64;
    for (const Entry& e : batch) {
      if (std::find(levels.begin(), levels.end(), e.level) == levels.end()) levels.push_back(e.level);
      size += e.line.size() + e.line.size() / 8 + 32;
    }
    std::string body;
    body.reserve(size);
    body.append("{\"streams\":[");
    for (size_t li = 0; li < levels.size(); li++) {
      if (li > 0) body.push_back(',');
      body.append("{\"stream\":{");
      body.append(labels_json_);
      body.append("\"level\":");
      AppendJsonString(levels[li], &body);
      body.append("},\"values\":[");
      bool first = true;
      for (const Entry& e : batch) {
        if (e.level != levels[li]) continue;
        if (!first) body.push_back(',');
        first = false;
        body.append("[\"").append(std::to_string(e.ts)).append("\",");
        AppendJsonString(e.line, &body);
        body.push_back(']');
      }
      body.append("]}");
    }
    body.append("]}");
    return body;
  }

  const Options options_;  // url already ends with the push path
  std::string labels_json_;  // static labels as `"a":"1",`, ready for the level label
  std::mt19937_64 rng_{std::random_device{}()};  // worker only

  mutable std::mutex mu_;
  std::condition_variable wake_;     // the worker waits here; guarded by mu_
  std::condition_variable settled_;  // Flush and Close wait here; guarded by mu_
  // Records waiting for a batch, oldest first. Guarded by mu_.
  std::deque<Entry> queue_;
  size_t queued_bytes_ = 0;  // sum of queue_'s line sizes; guarded by mu_
  // Records ever queued, and ever taken from the queue (batched or dropped);
  // a Flush waits for dequeued_ to reach the enqueued_ it saw. Guarded by mu_.
  uint64_t enqueued_ = 0;
  uint64_t dequeued_ = 0;
  uint64_t flush_target_ = 0;  // the worker pushes partial batches until dequeued_ reaches it
  Clock::time_point first_at_;  // when the oldest queued record arrived; guarded by mu_
  size_t in_flight_ = 0;        // records in the batch being pushed; guarded by mu_
  uint64_t failed_batches_ = 0;  // guarded by mu_
  std::string last_error_;       // guarded by mu_
  Stats stats_;                  // guarded by mu_ (pending is computed)
  bool closing_ = false;         // Close was called; guarded by mu_
  bool closed_ = false;          // Close finished; guarded by mu_
  bool close_result_ = false;    // what Close returned; guarded by mu_
  bool worker_done_ = false;     // Run returned; guarded by mu_
  // Set by a Close whose timeout ended: read by curl's progress callback
  // without the mutex, so atomic; written under mu_ so waits see it.
  std::atomic<bool> abort_{false};

  std::thread worker_;  // started by the constructor, joined by Close
};

std::unique_ptr<Client> Client::Create(Options options, std::string* error) {
  const auto fail = [&](std::string why) -> std::unique_ptr<Client> {
    if (error != nullptr) *error = "loge: " + std::move(why);
    return nullptr;
  };
  std::string& url = options.url;
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos || (url.compare(0, scheme_end, "http") != 0 &&
                                          url.compare(0, scheme_end, "https") != 0) ||
      url.size() == scheme_end + 3) {
    return fail("url \"" + url + "\": want http(s)://host[:port]");
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.size() < kPushPath.size() || url.compare(url.size() - kPushPath.size(), kPushPath.size(), kPushPath) != 0) {
    url.append(kPushPath);
  }
  for (const auto& [name, value] : options.labels) {
    if (!ValidLabelName(name)) return fail("label name \"" + name + "\": want [a-zA-Z_][a-zA-Z0-9_]*");
  }
  if (options.batch_size == 0 || options.buffer_size == 0 || options.buffer_bytes == 0 ||
      options.batch_interval.count() <= 0 || options.min_backoff.count() <= 0 ||
      options.max_backoff < options.min_backoff || options.max_retries < 0 ||
      options.request_timeout.count() <= 0) {
    return fail("batch_size, buffer_size, buffer_bytes, batch_interval, min_backoff and request_timeout "
                "must be positive, max_backoff at least min_backoff, max_retries not negative");
  }
  // A batch is taken from the buffer, so it can be no larger.
  options.batch_size = std::min(options.batch_size, options.buffer_size);
  HttpPush::GlobalInit();
  return std::unique_ptr<Client>(new Client(std::make_unique<Impl>(std::move(options))));
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Client::~Client() = default;

bool Client::Log(std::string_view level, std::string_view message, const std::vector<Field>& fields,
                 const Source& source, std::chrono::system_clock::time_point time) {
  if (time == std::chrono::system_clock::time_point{}) time = std::chrono::system_clock::now();
  const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
  return impl_->Push(level, ns, RenderLine(message, fields, source));
}

bool Client::Push(std::string_view level, int64_t unix_ns, std::string line) {
  return impl_->Push(level, unix_ns, std::move(line));
}

bool Client::Flush(std::chrono::milliseconds timeout) { return impl_->Flush(timeout); }

bool Client::Close(std::chrono::milliseconds timeout) { return impl_->Close(timeout); }

Stats Client::GetStats() const { return impl_->GetStats(); }

std::string Client::LastError() const { return impl_->LastError(); }

}  // namespace loge
