#include "http_push.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <string_view>

namespace loge {
namespace {

// The most of an error answer kept: enough for loge's messages.
constexpr size_t kMaxErrorBody = 64u << 10;

struct Exchange {
  std::string body;
  double retry_after_s = -1;
};

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* x = static_cast<Exchange*>(user);
  const size_t len = size * n;
  if (x->body.size() < kMaxErrorBody) x->body.append(data, std::min(len, kMaxErrorBody - x->body.size()));
  return len;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* x = static_cast<Exchange*>(user);
  const size_t len = size * n;
  constexpr std::string_view kName = "retry-after:";
  std::string_view line(data, len);
  if (line.size() > kName.size() &&
      std::equal(kName.begin(), kName.end(), line.begin(),
                 [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); })) {
    x->retry_after_s = HttpPush::ParseRetryAfter(std::string(line.substr(kName.size())));
  }
  return len;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* abort = static_cast<const std::atomic<bool>*>(user);
  return abort != nullptr && abort->load() ? 1 : 0;
}

// loge answers errors as {"status":"error","error":"…"}; take the message
// without a JSON parser: it is escaped JSON text, shown as is.
std::string ErrorText(const std::string& body) {
  constexpr std::string_view kKey = "\"error\":\"";
  const size_t at = body.find(kKey);
  if (at != std::string::npos) {
    const size_t from = at + kKey.size();
    size_t to = from;
    while (to < body.size() && body[to] != '"') to += body[to] == '\\' ? 2 : 1;
    return body.substr(from, std::min(to, body.size()) - from);
  }
  return body.substr(0, 200);
}

}  // namespace

void HttpPush::GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

HttpPush::HttpPush(std::string url, std::string api_key, std::chrono::milliseconds timeout,
                   const std::atomic<bool>* abort)
    : url_(std::move(url)), timeout_(timeout), abort_(abort) {
  if (!api_key.empty()) authorization_ = "Authorization: Bearer " + api_key;
}

HttpPush::~HttpPush() {
  if (curl_ != nullptr) curl_easy_cleanup(curl_);
}

double HttpPush::ParseRetryAfter(std::string value) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  value.erase(value.begin(), std::find_if(value.begin(), value.end(), not_space));
  value.erase(std::find_if(value.rbegin(), value.rend(), not_space).base(), value.end());
  if (value.empty()) return -1;
  if (std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return static_cast<double>(std::strtoll(value.c_str(), nullptr, 10));
  }
  const time_t at = curl_getdate(value.c_str(), nullptr);
  if (at == -1) return -1;
  return std::max(0.0, std::difftime(at, std::time(nullptr)));
}

PushResult HttpPush::Post(const std::string& body) {
  PushResult result;
  if (curl_ == nullptr) {
    curl_ = curl_easy_init();
    if (curl_ == nullptr) {
      result.error = "curl_easy_init failed";
      return result;
    }
  }
  Exchange x;
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, "User-Agent: loge-cpp/0.1");
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  if (!authorization_.empty()) headers = curl_slist_append(headers, authorization_.c_str());

  curl_easy_setopt(curl_, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(curl_, CURLOPT_POST, 1L);
  curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &x);
  curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &x);
  curl_easy_setopt(curl_, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl_, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(curl_, CURLOPT_XFERINFODATA, abort_);
  curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
  curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_.count()));
  curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);  // a worker thread must not get SIGALRM
  curl_easy_setopt(curl_, CURLOPT_TCP_KEEPALIVE, 1L);

  const CURLcode rc = curl_easy_perform(curl_);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    result.error = curl_easy_strerror(rc);
    return result;
  }
  long status = 0;
  curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
  result.status = static_cast<int>(status);
  if (status < 200 || status > 299) {
    result.error = ErrorText(x.body);
    result.retry_after_s = x.retry_after_s;
  }
  return result;
}

}  // namespace loge
