// RequestMetrics: the latency of every push and query request, by endpoint,
// for GET /metrics. Endpoints are a fixed list (a label's name in the path
// becomes `:name`), so a client cannot grow the metric's label values;
// requests to other paths are not timed.
//
// Thread-safety: the histograms are made in the constructor and never
// change; Observe and Write may run on any threads at once.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/metrics.h"

namespace loge::server {

class RequestMetrics {
 public:
  RequestMetrics();
  // A request to `path` took `seconds` (the handler's time, response
  // written or not).
  void Observe(std::string_view path, double seconds);
  // loge_push_duration_seconds and loge_query_duration_seconds, each with
  // an `endpoint` label; endpoints not requested yet are left out.
  void Write(MetricsWriter* w) const;

  // The endpoint label of `path`, "" when it is not timed; *push says
  // which histogram family it belongs to.
  static std::string Endpoint(std::string_view path, bool* push);

 private:
  std::map<std::string, std::unique_ptr<Histogram>, std::less<>> push_, query_;
};

}  // namespace loge::server
