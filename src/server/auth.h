// Bearer-token check for read endpoints (--api-key).
//
// Thread-safety: immutable after construction.
#pragma once

#include <string>
#include <string_view>

namespace loge::server {

class ApiKeyAuth {
 public:
  explicit ApiKeyAuth(std::string key) : key_(std::move(key)) {}
  bool enabled() const { return !key_.empty(); }
  // True if auth is off, or the Authorization header is "Bearer <key>". The
  // comparison takes the same time wherever the first difference is.
  bool Allows(std::string_view authorization_header) const;

 private:
  std::string key_;  // never logged, never echoed in an error
};

}  // namespace loge::server
