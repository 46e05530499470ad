#include "server/http_request_parse.h"

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <cctype>
#include <charconv>

#include "core/json_writer.h"

namespace loge::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

HttpRequest RequestHead(const RequestHeader& h) {
  HttpRequest req;
  req.method = std::string(h.method_string());
  req.target = std::string(h.target());
  const size_t q = req.target.find('?');
  req.path = req.target.substr(0, q);
  if (q != std::string::npos) req.query = req.target.substr(q + 1);
  for (const auto& f : h) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    req.headers.emplace_back(std::move(name), std::string(f.value()));
  }
  return req;
}

size_t PoolIndexFor(const HttpServerOptions& opts, const HttpRequest& req, size_t pools) {
  const size_t k = opts.classify ? opts.classify(req) : 0;
  return k < pools ? k : 0;
}

BodyLimit BodyLimitOf(const HttpServerOptions& opts, const HandlerPoolOptions* pool) {
  if (pool != nullptr && pool->max_body_bytes > 0) return BodyLimit{pool->max_body_bytes, pool->body_limit_flag};
  return BodyLimit{opts.max_body_bytes, "--max-body-size"};
}

std::optional<HttpResponse> RefuseDeclaredLength(const RequestHeader& h, const BodyLimit& limit) {
  auto it = h.find(http::field::content_length);
  if (it == h.end()) return std::nullopt;
  // The parser has checked the value (digits, one value, within uint64).
  const auto v = it->value();
  uint64_t n = 0;
  if (std::from_chars(v.data(), v.data() + v.size(), n).ec != std::errc()) return std::nullopt;
  if (n <= limit.bytes) return std::nullopt;
  return HttpErrorResponse(413, "request body of " + std::to_string(n) + " bytes exceeds the limit of " +
                                    std::to_string(limit.bytes) + " bytes (" + limit.flag + ")");
}

std::optional<HttpResponse> ReadErrorAnswer(const beast::error_code& ec, const BodyLimit& limit) {
  if (ec == http::error::body_limit) {
    return HttpErrorResponse(
        413, "request body exceeds the limit of " + std::to_string(limit.bytes) + " bytes (" + limit.flag + ")");
  }
  if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == beast::error::timeout ||
      ec == asio::error::operation_aborted || ec == asio::error::connection_reset) {
    return std::nullopt;
  }
  if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
    return HttpErrorResponse(400, "malformed HTTP request: " + ec.message());
  }
  return std::nullopt;
}

HttpResponse HttpErrorResponse(int status, const std::string& reason) {
  HttpResponse r;
  r.status = status;
  JsonWriter w;
  w.BeginObject();
  w.Key("status");
  w.String("error");
  w.Key("error");
  w.String(reason);
  w.EndObject();
  r.body = w.Take();
  return r;
}

}  // namespace loge::server
