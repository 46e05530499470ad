// S3Store's transport: libcurl easy handles from an idle pool, SigV4 by
// libcurl, bounded timeouts, retries of 5xx and dropped connections.
#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <thread>

#include "tier/s3_store.h"
#include "tier/sigv4.h"

namespace loge::tier {

namespace {

// Idle easy handles kept for reuse; more concurrent requests than this open
// handles that are closed afterwards.
constexpr size_t kMaxIdleHandles = 16;
// First retry delay; each further retry waits 4x longer (100 ms, 400 ms, ...).
constexpr std::chrono::milliseconds kFirstBackoff{100};

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t AppendBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

struct ReadState {
  std::string_view body;
  size_t pos = 0;
};

size_t ReadBody(char* buf, size_t size, size_t n, void* user) {
  auto* st = static_cast<ReadState*>(user);
  size_t k = std::min(size * n, st->body.size() - st->pos);
  std::copy_n(st->body.data() + st->pos, k, buf);
  st->pos += k;
  return k;
}

size_t CollectHeader(char* data, size_t size, size_t n, void* user) {
  auto* etag = static_cast<std::string*>(user);
  std::string_view line(data, size * n);
  if (line.size() >= 5 && line.substr(0, 5) == "HTTP/") etag->clear();  // a new response
  size_t colon = line.find(':');
  if (colon == 4) {
    std::string name(line.substr(0, 4));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name == "etag") {
      std::string_view v = line.substr(5);
      while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.remove_prefix(1);
      while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.remove_suffix(1);
      *etag = std::string(v);
    }
  }
  return size * n;
}

// Failures worth another try: the connection broke after it was made.
bool RetryableTransport(CURLcode code) {
  return code == CURLE_SEND_ERROR || code == CURLE_RECV_ERROR || code == CURLE_GOT_NOTHING ||
         code == CURLE_PARTIAL_FILE;
}

}  // namespace

void* S3Store::TakeHandle() {
  {
    MutexLock lock(&mu_);
    if (!idle_.empty()) {
      void* h = idle_.back();
      idle_.pop_back();
      return h;
    }
  }
  GlobalInit();
  return curl_easy_init();
}

void S3Store::ReturnHandle(void* curl) {
  curl_easy_reset(static_cast<CURL*>(curl));  // keeps its connections and DNS cache
  {
    MutexLock lock(&mu_);
    if (idle_.size() < kMaxIdleHandles) {
      idle_.push_back(curl);
      return;
    }
  }
  curl_easy_cleanup(static_cast<CURL*>(curl));
}

S3Store::~S3Store() {
  MutexLock lock(&mu_);
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
  idle_.clear();
}

// The transport error of one attempt travels in Response.status as the
// negated CURLcode, so Perform can decide on a retry.
Result<S3Store::Response> S3Store::PerformOnce(const Request& req, void* handle) {
  CURL* curl = static_cast<CURL*>(handle);
  if (curl == nullptr) return Status::Unavailable(req.what + ": curl_easy_init failed");
  std::string url = scheme_host_ + req.path;
  if (!req.query.empty()) url += "?" + req.query;

  curl_slist* headers = nullptr;
  std::string payload_hash =
      req.body.empty() ? std::string(sigv4::kEmptySha256) : sigv4::Sha256Hex(req.body);
  headers = curl_slist_append(headers, ("x-amz-content-sha256: " + payload_hash).c_str());
  if (!credentials_.session_token.empty()) {
    headers = curl_slist_append(
        headers, ("x-amz-security-token: " + credentials_.session_token).c_str());
  }
  for (const auto& h : req.headers) headers = curl_slist_append(headers, h.c_str());

  Response resp;
  ReadState read{req.body, 0};
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, kLowSpeedBytes);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options_.low_speed_time.count()));
  if (req.bounded) {
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(options_.request_timeout.count() * 1000));
  }
  curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4_.c_str());
  curl_easy_setopt(curl, CURLOPT_USERNAME, credentials_.access_key_id.c_str());
  curl_easy_setopt(curl, CURLOPT_PASSWORD, credentials_.secret_access_key.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, CollectHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &resp.etag);
  if (req.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (req.method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadBody);
    curl_easy_setopt(curl, CURLOPT_READDATA, &read);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  } else if (req.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  } else if (req.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }

  CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (code != CURLE_OK) {
    resp.status = -static_cast<long>(code);
    resp.body = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(code);
    return resp;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp.status);
  curl_off_t len = -1;
  curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
  resp.content_length = static_cast<int64_t>(len);
  return resp;
}

Result<S3Store::Response> S3Store::Perform(const Request& req) {
  auto backoff = kFirstBackoff;
  for (int attempt = 0;; ++attempt) {
    void* handle = TakeHandle();
    Result<Response> r = PerformOnce(req, handle);
    if (handle != nullptr) ReturnHandle(handle);
    if (!r.ok()) return r.status();
    long st = r->status;
    bool transport = st < 0;
    bool retry = transport ? RetryableTransport(static_cast<CURLcode>(-st)) : st >= 500;
    if (!retry || attempt >= options_.max_retries) {
      if (!transport) return r;
      auto code = static_cast<CURLcode>(-st);
      std::string msg = req.what + ": " + r->body;
      if (code == CURLE_OPERATION_TIMEDOUT) msg += " (S3 endpoint too slow or unreachable)";
      return Status::Unavailable(msg);
    }
    std::this_thread::sleep_for(backoff);
    backoff *= 4;
  }
}

}  // namespace loge::tier
