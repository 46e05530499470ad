#include "query/cancel.h"

#include <string>

namespace loge::query {

namespace {
thread_local std::shared_ptr<const Cancel> t_current;
}  // namespace

Cancel::Cancel(Clock::duration timeout, std::shared_ptr<const std::atomic<bool>> gone)
    : has_deadline_(timeout > Clock::duration::zero()),
      deadline_(Clock::now() + (timeout > Clock::duration::zero() ? timeout : Clock::duration::zero())),
      timeout_(timeout),
      gone_(std::move(gone)) {}

Status Cancel::Check() const {
  if (gone_ && gone_->load(std::memory_order_relaxed)) {
    return Status::Cancelled("the request was cancelled by the client");
  }
  if (has_deadline_ && Clock::now() >= deadline_) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout_).count();
    // Loki's wording, and the limit that was hit.
    return Status::DeadlineExceeded(
        "request timed out after " + std::to_string(ms) +
        " ms (--query-timeout), decrease the duration of the request or add more label matchers (prefer exact "
        "match over regex match) to reduce the amount of data processed");
  }
  return Status::OK();
}

ScopedCancel::ScopedCancel(std::shared_ptr<const Cancel> c) : prev_(std::move(t_current)) { t_current = std::move(c); }

ScopedCancel::~ScopedCancel() { t_current = std::move(prev_); }

const std::shared_ptr<const Cancel>& CurrentCancel() { return t_current; }

}  // namespace loge::query
