#include "tier/http_range_file.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>
#include <vector>

#include "core/mutex.h"
#include "storage/zstd_vfs.h"

namespace loge::tier {

namespace {

// Idle easy handles kept for reuse (each keeps its connections alive).
constexpr size_t kMaxIdleHandles = 32;
// Below this many bytes per second a transfer counts as stalled.
constexpr long kLowSpeedBytesPerSecond = 1024;

struct HandlePool {
  Mutex mu;
  std::vector<CURL*> idle GUARDED_BY(mu);
};

HandlePool& Pool() {
  static HandlePool* pool = new HandlePool();  // lives until exit
  return *pool;
}

CURL* TakeHandle() {
  {
    HandlePool& p = Pool();
    MutexLock l(&p.mu);
    if (!p.idle.empty()) {
      CURL* h = p.idle.back();
      p.idle.pop_back();
      return h;
    }
  }
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  return curl_easy_init();
}

void ReturnHandle(CURL* h) {
  curl_easy_reset(h);  // keeps its connection cache
  HandlePool& p = Pool();
  {
    MutexLock l(&p.mu);
    if (p.idle.size() < kMaxIdleHandles) {
      p.idle.push_back(h);
      return;
    }
  }
  curl_easy_cleanup(h);
}

struct Answer {
  long status = 0;
  std::string body;
  std::string content_range;  // header value, e.g. "bytes 0-9/100"
};

size_t AppendBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t CollectHeader(char* data, size_t size, size_t n, void* user) {
  auto* a = static_cast<Answer*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) a->content_range.clear();  // a new response (redirect, 100)
  constexpr std::string_view kName = "content-range:";
  if (line.size() > kName.size()) {
    std::string name(line.substr(0, kName.size()));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name == kName) {
      std::string_view v = line.substr(kName.size());
      while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.remove_prefix(1);
      while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.remove_suffix(1);
      a->content_range = std::string(v);
    }
  }
  return size * n;
}

// Parses "bytes a-b/total" (or "bytes */total" of a 416). False if malformed.
bool ParseContentRange(std::string_view v, uint64_t* first, uint64_t* total) {
  if (!v.starts_with("bytes ")) return false;
  v.remove_prefix(6);
  size_t slash = v.find('/');
  if (slash == std::string_view::npos) return false;
  auto num = [](std::string_view s, uint64_t* out) {
    if (s.empty() || s.size() > 19) return false;
    uint64_t x = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      x = x * 10 + static_cast<uint64_t>(c - '0');
    }
    *out = x;
    return true;
  };
  if (!num(v.substr(slash + 1), total)) return false;
  std::string_view range = v.substr(0, slash);
  if (range == "*") {
    *first = 0;
    return true;
  }
  size_t dash = range.find('-');
  return dash != std::string_view::npos && num(range.substr(0, dash), first);
}

// S3's <Code> from an error body, or "".
std::string ErrorCode(const std::string& body) {
  size_t b = body.find("<Code>");
  size_t e = body.find("</Code>");
  if (b == std::string::npos || e == std::string::npos || e < b + 6 || e - b > 100) return "";
  return body.substr(b + 6, e - b - 6);
}

// One GET with a Range header. Transport failures are kUnavailable; any HTTP
// answer is returned for the caller to judge. Counts the request.
Result<Answer> Get(const std::string& url, const std::string& range, const HttpReadOptions& o,
                   const std::string& what) {
  for (int attempt = 0;; ++attempt) {
    CURL* curl = TakeHandle();
    if (curl == nullptr) return Status::Unavailable(what + ": curl_easy_init failed");
    Answer a;
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_RANGE, range.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(o.request_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, kLowSpeedBytesPerSecond);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(o.low_speed_time.count()));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a.body);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, CollectHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &a);
    CURLcode code = curl_easy_perform(curl);
    if (code == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a.status);
    ReturnHandle(curl);
    storage::CountRemoteRequest(a.body.size());
    if (code == CURLE_OK) return a;
    const bool dropped = code == CURLE_SEND_ERROR || code == CURLE_RECV_ERROR ||
                         code == CURLE_GOT_NOTHING || code == CURLE_PARTIAL_FILE;
    if (dropped && attempt == 0) continue;
    std::string msg = what + ": " + (errbuf[0] != '\0' ? errbuf : curl_easy_strerror(code));
    if (code == CURLE_OPERATION_TIMEDOUT) msg += " (object store too slow or unreachable)";
    return Status::Unavailable(msg);
  }
}

Status HttpFailure(const std::string& what, const Answer& a) {
  std::string msg = what + ": HTTP " + std::to_string(a.status);
  if (std::string code = ErrorCode(a.body); !code.empty()) msg += " " + code;
  if (a.status == 404) return Status::NotFound(msg + " (the object is not in the bucket)");
  if (a.status >= 500 || a.status == 429) return Status::Unavailable(msg);
  if (a.status == 403) msg += " (expired or invalid presigned URL, or the bucket does not allow public reads)";
  return Status::IOError(msg);
}

}  // namespace

Result<std::unique_ptr<HttpRangeFile>> HttpRangeFile::Open(const std::string& url, uint64_t known_size,
                                                           const HttpReadOptions& opts) {
  std::unique_ptr<HttpRangeFile> f(new HttpRangeFile(url, opts));
  if (known_size > 0) {
    f->size_ = known_size;
    return f;
  }
  const std::string what = "GET " + storage::RemoteCacheKey(url) + " (tail)";
  LOGE_ASSIGN_OR_RETURN(Answer a, Get(url, "-" + std::to_string(kTailPrefetch), opts, what));
  uint64_t first = 0, total = 0;
  if (a.status == 206) {
    if (!ParseContentRange(a.content_range, &first, &total) || first + a.body.size() != total) {
      return Status::IOError(what + ": malformed Content-Range \"" + a.content_range + "\" for " +
                             std::to_string(a.body.size()) + " bytes");
    }
    f->size_ = total;
    f->tail_ = std::move(a.body);
  } else if (a.status == 200) {  // the server ignored Range: the whole object came
    f->size_ = a.body.size();
    f->tail_ = std::move(a.body);
  } else if (a.status == 416) {  // an empty object has no last bytes
    f->size_ = 0;
  } else {
    return HttpFailure(what, a);
  }
  return f;
}

Status HttpRangeFile::Read(uint64_t offset, size_t n, char* buf, size_t* got) const {
  *got = 0;
  if (n == 0 || offset >= size_) return Status::OK();
  n = static_cast<size_t>(std::min<uint64_t>(n, size_ - offset));
  const uint64_t tail_start = size_ - tail_.size();
  if (offset >= tail_start) {
    std::memcpy(buf, tail_.data() + (offset - tail_start), n);
    *got = n;
    return Status::OK();
  }
  const std::string range = std::to_string(offset) + "-" + std::to_string(offset + n - 1);
  const std::string what = "GET " + storage::RemoteCacheKey(url_) + " bytes=" + range;
  LOGE_ASSIGN_OR_RETURN(Answer a, Get(url_, range, opts_, what));
  if (a.status == 206) {
    uint64_t first = 0, total = 0;
    if (!ParseContentRange(a.content_range, &first, &total) || first != offset) {
      return Status::IOError(what + ": answer is for \"" + a.content_range + "\"");
    }
    if (total != size_) {
      return Status::IOError(what + ": the object changed size from " + std::to_string(size_) + " to " +
                             std::to_string(total) + " bytes");
    }
    *got = std::min(n, a.body.size());
    std::memcpy(buf, a.body.data(), *got);
    return Status::OK();
  }
  if (a.status == 200) {  // the whole object: slice it
    if (a.body.size() != size_) {
      return Status::IOError(what + ": the object changed size from " + std::to_string(size_) + " to " +
                             std::to_string(a.body.size()) + " bytes");
    }
    std::memcpy(buf, a.body.data() + offset, n);
    *got = n;
    return Status::OK();
  }
  return HttpFailure(what, a);
}

}  // namespace loge::tier
