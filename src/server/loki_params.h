// Loki's HTTP parameter rules, shared by every /loki/api/v1 read handler
// (grafana/loki pkg/loghttp/params.go): form values (a POST body's before
// the URL's), times as float seconds, <= 10-digit seconds, nanoseconds or
// RFC 3339, steps as float seconds or a duration; and Loki's plain-text
// error answers.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "server/http_server.h"

namespace loge::server {

// Loki's error answer: the message and a newline as text/plain.
HttpResponse LokiError(int status, const std::string& msg);

// Form values: the body's (POST, form-encoded) before the URL's.
struct Form {
  std::vector<std::pair<std::string, std::string>> values;
  // The first value of `name`, or "" when absent.
  std::string Get(const std::string& name) const;
};

// InvalidArgument on malformed percent-encoding.
Result<Form> ReadForm(const HttpRequest& req);

// Loki's parseTimestamp: `def` when v is empty; InvalidArgument with Go's
// wording otherwise.
Result<int64_t> ParseLokiTime(const std::string& v, int64_t def);

// Loki's parseSecondsOrDuration, in ns.
Result<int64_t> ParseStep(const std::string& v);

}  // namespace loge::server
