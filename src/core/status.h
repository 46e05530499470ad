// Status and Result<T>: how every fallible function in loge reports failure.
//
// Thread-safety: values; copy freely.
//
// The code set is small on purpose. Three kinds of failure are kept apart
// (STYLE.md): bad input (kInvalidArgument, and kPayloadTooLarge for a size
// limit) maps to a 4xx; environment failures (kIOError, kUnavailable,
// kResourceExhausted) are logged once with a remedy; broken invariants are not
// a Status at all but LOGE_ASSERT. Status -> HTTP happens in server/ only.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace loge {

enum class Code {
  kOk = 0,
  kInvalidArgument,   // the caller's input is wrong; message names the field
  kNotFound,          // a named thing does not exist
  kCorruption,        // stored bytes fail a check (CRC, magic, bounds)
  kIOError,           // the file system or network failed
  kUnavailable,       // temporarily cannot serve (shutting down, sticky WAL error)
  kResourceExhausted, // a bounded queue or budget is full: retry later
  kPayloadTooLarge,   // input exceeds a configured size limit
  kUnsupported,       // a valid request we do not implement (content type, ...)
  kDeadlineExceeded,  // a request ran past its deadline (--query-timeout)
  kCancelled,         // the client went away before the answer was ready
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string m) { return Status(Code::kInvalidArgument, std::move(m)); }
  static Status NotFound(std::string m) { return Status(Code::kNotFound, std::move(m)); }
  static Status Corruption(std::string m) { return Status(Code::kCorruption, std::move(m)); }
  static Status IOError(std::string m) { return Status(Code::kIOError, std::move(m)); }
  static Status Unavailable(std::string m) { return Status(Code::kUnavailable, std::move(m)); }
  static Status ResourceExhausted(std::string m) { return Status(Code::kResourceExhausted, std::move(m)); }
  static Status PayloadTooLarge(std::string m) { return Status(Code::kPayloadTooLarge, std::move(m)); }
  static Status Unsupported(std::string m) { return Status(Code::kUnsupported, std::move(m)); }
  static Status DeadlineExceeded(std::string m) { return Status(Code::kDeadlineExceeded, std::move(m)); }
  static Status Cancelled(std::string m) { return Status(Code::kCancelled, std::move(m)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "IOError: fsync wal/000001.log: No space left on device"
  std::string ToString() const;

  // Returns a copy with `context` prefixed to the message ("context: message").
  Status WithContext(const std::string& context) const;

 private:
  Status(Code c, std::string m) : code_(c), message_(std::move(m)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

const char* CodeName(Code c);

// Result<T> holds either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit on purpose
  Result(Status s) : v_(std::move(s)) {      // NOLINT
    if (std::get<Status>(v_).ok()) std::abort();  // a Result never holds OK without a value
  }
  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace loge

// Aborts with a message when a broken invariant is found: a bug, never bad input.
#define LOGE_ASSERT(cond, msg)                                                   \
  do {                                                                           \
    if (!(cond)) {                                                               \
      std::fprintf(stderr, "%s:%d: assertion %s failed: %s\n", __FILE__, __LINE__, \
                   #cond, msg);                                                  \
      std::abort();                                                              \
    }                                                                            \
  } while (0)

// Returns early from the enclosing function when `expr` yields a non-OK Status.
#define LOGE_RETURN_IF_ERROR(expr)        \
  do {                                    \
    ::loge::Status _st = (expr);          \
    if (!_st.ok()) return _st;            \
  } while (0)

#define LOGE_CONCAT_INNER(a, b) a##b
#define LOGE_CONCAT(a, b) LOGE_CONCAT_INNER(a, b)
// LOGE_ASSIGN_OR_RETURN(auto x, Fn()); declares x from a Result or returns its Status.
#define LOGE_ASSIGN_OR_RETURN(lhs, rexpr) \
  LOGE_ASSIGN_OR_RETURN_IMPL(LOGE_CONCAT(_res_, __LINE__), lhs, rexpr)
#define LOGE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                               \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()
