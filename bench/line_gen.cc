#include "bench/line_gen.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iterator>

namespace loge::bench {

namespace {

uint64_t SplitMix64(uint64_t* x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// printf's %llu wants unsigned long long, which uint64_t need not be.
unsigned long long U(uint64_t v) { return v; }

uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

template <typename... Args>
void Appendf(std::string* out, const char* fmt, Args... args) {
  char buf[256];
  int n = std::snprintf(buf, sizeof(buf), fmt, args...);
  if (n > 0) out->append(buf, std::min(static_cast<size_t>(n), sizeof(buf) - 1));
}

// ---- access logs -----------------------------------------------------------

enum class Route {
  kProduct, kProductList, kUserOrders, kPostOrder, kOrder, kPutCart, kDeleteCart, kSearch,
  kStaticJs, kStaticCss, kImage, kHealth, kLogin, kHome, kHeadHome,
};
const std::vector<double> kRouteWeights = {20, 10, 8, 5, 6, 4, 1, 8, 10, 5, 12, 5, 2, 3, 1};

const char* const kCategories[] = {"shoes", "garden", "books", "toys", "kitchen", "outdoor", "audio", "office"};
const char* const kSorts[] = {"price_asc", "price_desc", "popular", "newest"};
const char* const kTerms[] = {"running+shoes", "usb-c+cable", "coffee+grinder", "tent", "desk+lamp",
                              "wireless+earbuds", "yoga+mat", "air+fryer", "backpack", "kids+bike"};
const char* const kImageSizes[] = {"thumb", "small", "large"};
const char* const kUsers[] = {"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"};
const char* const kRefPages[] = {"/", "/cart", "/search", "/products", "/account/orders", "/checkout"};

// User agents with their shares; the short ones (API clients, probes) keep
// the average line near 200 bytes, as on a real mixed-traffic edge.
const char* const kAgents[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
    "Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 "
    "Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "curl/8.5.0",
    "okhttp/4.12.0",
    "python-requests/2.31.0",
    "Go-http-client/1.1",
};
const std::vector<double> kAgentWeights = {18, 8, 10, 4, 3, 8, 20, 12, 17};

// Statuses per route family, with realistic skew.
struct StatusMix {
  std::vector<int> codes;
  std::vector<double> weights;
};
const StatusMix kApiStatus = {{200, 304, 302, 400, 401, 403, 404, 499, 500, 502, 503},
                              {85, 2, 1, 2, 1, 1, 5, 0.5, 1.5, 0.5, 0.5}};
const StatusMix kStaticStatus = {{200, 304, 404}, {70, 28, 2}};
const StatusMix kPostStatus = {{201, 400, 409, 500, 503}, {90, 5, 2, 2, 1}};
const StatusMix kLoginStatus = {{200, 401, 429}, {80, 18, 2}};

// ---- app logs --------------------------------------------------------------

enum class Extra { kNone, kOrder, kCache, kRetry, kError, kHttp, kDb };

struct MsgTemplate {
  const char* msg;
  Extra extra;
};

const std::vector<MsgTemplate> kInfoMsgs = {
    {"request completed", Extra::kHttp}, {"order placed", Extra::kOrder}, {"session created", Extra::kNone},
    {"payment authorized", Extra::kOrder}, {"query executed", Extra::kDb}, {"message published", Extra::kNone},
    {"inventory reserved", Extra::kOrder}, {"search served", Extra::kHttp},
};
const std::vector<MsgTemplate> kDebugMsgs = {
    {"cache lookup", Extra::kCache}, {"query plan chosen", Extra::kDb}, {"feature flag evaluated", Extra::kNone},
    {"token refreshed", Extra::kNone},
};
const std::vector<MsgTemplate> kWarnMsgs = {
    {"slow query", Extra::kDb}, {"upstream retry", Extra::kRetry}, {"rate limit close to quota", Extra::kHttp},
    {"cache miss storm", Extra::kCache},
};
const std::vector<MsgTemplate> kErrorMsgs = {
    {"upstream request failed", Extra::kError}, {"payment declined", Extra::kError},
    {"database deadlock detected", Extra::kDb}, {"handler panicked", Extra::kError},
};
const char* const kErrors[] = {"context deadline exceeded", "connection reset by peer", "card_declined",
                               "pq: could not serialize access", "EOF", "dial tcp 10.2.7.14:5432: i/o timeout"};
const char* const kTables[] = {"orders", "users", "carts", "payments", "inventory", "sessions"};
const char* const kApiPaths[] = {"/v1/orders", "/v1/cart", "/v1/users/me", "/v1/search", "/v1/payments"};

const std::vector<MsgTemplate>& MessagesFor(const std::string& level) {
  if (level == "debug") return kDebugMsgs;
  if (level == "warn") return kWarnMsgs;
  if (level == "error") return kErrorMsgs;
  return kInfoMsgs;
}

template <typename T, size_t N>
const T& Pick(Rng& rng, const T (&arr)[N]) {
  return arr[rng.Uniform(N)];
}

std::vector<StreamSpec> BuildStreams() {
  std::vector<StreamSpec> out;
  const char* const envs[] = {"prod", "staging"};
  const char* const regions[] = {"us-east-1", "eu-west-1"};
  // Staging sees a tenth of production's traffic.
  const double env_weight[] = {1.0, 0.1};
  const std::pair<const char*, double> access_apps[] = {
      {"web", 3.0}, {"shop", 2.0}, {"api-gateway", 4.0}, {"cdn-edge", 1.5}};
  for (auto [app, w] : access_apps) {
    for (int e = 0; e < 2; e++) {
      for (int h = 0; h < 4; h++) {
        StreamSpec s;
        s.kind = StreamKind::kAccess;
        s.app = app;
        s.host = std::string(app) + "-" + envs[e] + "-" + std::to_string(h + 1);
        s.labels = {{"app", app}, {"env", envs[e]}, {"host", s.host}, {"job", "access"}, {"region", regions[h % 2]}};
        s.weight = w * env_weight[e];
        out.push_back(std::move(s));
      }
    }
  }
  const char* const services[] = {"checkout", "auth", "billing", "search", "inventory", "notifier"};
  const std::pair<const char*, double> levels[] = {{"info", 70}, {"debug", 15}, {"warn", 10}, {"error", 5}};
  for (const char* svc : services) {
    for (int e = 0; e < 2; e++) {
      for (int h = 0; h < 2; h++) {
        for (auto [level, lw] : levels) {
          StreamSpec s;
          s.kind = StreamKind::kApp;
          s.app = svc;
          s.host = std::string(svc) + "-" + envs[e] + "-" + std::to_string(h + 1);
          s.level = level;
          s.labels = {{"app", svc},    {"env", envs[e]},   {"host", s.host},
                      {"job", "app"},  {"level", level},   {"region", regions[h % 2]}};
          s.weight = lw / 25.0 * env_weight[e];
          out.push_back(std::move(s));
        }
      }
    }
  }
  return out;
}

}  // namespace

Rng::Rng(uint64_t seed) {
  for (auto& s : s_) s = SplitMix64(&seed);
}

uint64_t Rng::Next() {
  const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

size_t Rng::Weighted(const std::vector<double>& weights) {
  double total = 0;
  for (double w : weights) total += w;
  double r = Real() * total;
  for (size_t i = 0; i < weights.size(); i++) {
    if (r < weights[i]) return i;
    r -= weights[i];
  }
  return weights.size() - 1;
}

uint64_t Rng::Skewed(uint64_t n, double power) {
  uint64_t i = static_cast<uint64_t>(std::pow(Real(), power) * static_cast<double>(n));
  return i < n ? i : n - 1;
}

LineGenerator::LineGenerator(uint64_t seed)
    : rng_(seed),
      streams_(BuildStreams()),
      clock_ms_(std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count()) {}

Line LineGenerator::Next(size_t stream) {
  // About 2,000 lines per second of log time, in small uneven steps.
  clock_ms_ += static_cast<int64_t>(rng_.Uniform(2));
  const StreamSpec& s = streams_[stream];
  return s.kind == StreamKind::kAccess ? AccessLine(s) : AppLine(s);
}

void LineGenerator::AppendRequestId(std::string* out, size_t* pos) {
  static const char kHex[] = "0123456789abcdef";
  *pos = out->size();
  uint64_t v = rng_.Next();
  for (size_t i = 0; i < kRequestIdLen; i++, v >>= 4) out->push_back(kHex[v & 15]);
}

Line LineGenerator::AccessLine(const StreamSpec& s) {
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  Line line;
  std::string& o = line.text;
  o.reserve(320);

  // A few heavy clients and a long tail, as behind any public edge.
  uint64_t client = rng_.Skewed(20000, 3.0) + 1;
  uint64_t h = SplitMix64(&client);
  Appendf(&o, "%u.%u.%u.%u ", static_cast<unsigned>(1 + (h & 0xff) % 223), static_cast<unsigned>((h >> 8) & 0xff),
          static_cast<unsigned>((h >> 16) & 0xff), static_cast<unsigned>(1 + ((h >> 24) & 0xff) % 254));
  o += "- ";
  o += rng_.Chance(0.07) ? Pick(rng_, kUsers) : "-";

  time_t secs = static_cast<time_t>(clock_ms_ / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  Appendf(&o, " [%02d/%s/%04d:%02d:%02d:%02d +0000] \"", tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900,
          tm.tm_hour, tm.tm_min, tm.tm_sec);

  const auto route = static_cast<Route>(rng_.Weighted(kRouteWeights));
  const StatusMix* mix = &kApiStatus;
  uint64_t id = rng_.Skewed(5000000, 2.0) + 1000;
  uint64_t uid = rng_.Skewed(2000000, 2.5) + 1;
  uint64_t page = rng_.Skewed(20, 3.0) + 1;
  bool asset = false;
  switch (route) {
    case Route::kProduct: Appendf(&o, "GET /api/v1/products/%llu", U(id)); break;
    case Route::kProductList:
    {
      const char* category = Pick(rng_, kCategories);
      Appendf(&o, "GET /api/v1/products?category=%s&page=%llu&sort=%s", category, U(page), Pick(rng_, kSorts));
      break;
    }
    case Route::kUserOrders:
      Appendf(&o, "GET /api/v1/users/%llu/orders?page=%llu&limit=20", U(uid), U(page));
      break;
    case Route::kPostOrder: o += "POST /api/v1/orders"; mix = &kPostStatus; break;
    case Route::kOrder: Appendf(&o, "GET /api/v1/orders/%llu", U(id * 7)); break;
    case Route::kPutCart:
      Appendf(&o, "PUT /api/v1/cart/%llu/items/%llu", U(uid), U(id));
      break;
    case Route::kDeleteCart:
      Appendf(&o, "DELETE /api/v1/cart/%llu/items/%llu", U(uid), U(id));
      break;
    case Route::kSearch:
      Appendf(&o, "GET /search?q=%s&page=%llu", Pick(rng_, kTerms), U(page));
      break;
    case Route::kStaticJs:
      Appendf(&o, "GET /static/js/app.%08llx.js", U(rng_.Uniform(6) * 0x1f3a5c7bull));
      mix = &kStaticStatus;
      asset = true;
      break;
    case Route::kStaticCss:
      Appendf(&o, "GET /static/css/main.%08llx.css", U(rng_.Uniform(4) * 0x2b4d6f81ull));
      mix = &kStaticStatus;
      asset = true;
      break;
    case Route::kImage:
      Appendf(&o, "GET /images/products/%llu_%s.webp", U(id % 200000),
              Pick(rng_, kImageSizes));
      mix = &kStaticStatus;
      asset = true;
      break;
    case Route::kHealth: o += "GET /healthz"; break;
    case Route::kLogin: o += "POST /api/v1/auth/login"; mix = &kLoginStatus; break;
    case Route::kHome: o += "GET /"; break;
    case Route::kHeadHome: o += "HEAD /"; break;
  }
  const bool health = route == Route::kHealth;
  int status = health ? 200 : mix->codes[rng_.Weighted(mix->weights)];
  uint64_t bytes;
  if (status == 304 || status == 204 || route == Route::kHeadHome) {
    bytes = 0;
  } else if (status >= 400) {
    bytes = 120 + rng_.Uniform(200);
  } else if (health) {
    bytes = 2;
  } else if (asset) {
    bytes = 4000 + rng_.Skewed(400000, 2.0);
  } else {
    bytes = 180 + rng_.Skewed(30000, 3.0);
  }
  Appendf(&o, " HTTP/1.1\" %d %llu ", status, U(bytes));

  if (health || rng_.Chance(0.35)) {
    o += "\"-\" ";
  } else {
    Appendf(&o, "\"https://%s.example.com%s\" ", s.app.c_str(), Pick(rng_, kRefPages));
  }
  const char* agent = health ? "kube-probe/1.29" : kAgents[rng_.Weighted(kAgentWeights)];
  Appendf(&o, "\"%s\" rt=%.3f rid=", agent, 0.001 + 2.0 * std::pow(rng_.Real(), 4.0));
  AppendRequestId(&o, &line.request_id_pos);
  return line;
}

Line LineGenerator::AppLine(const StreamSpec& s) {
  Line line;
  std::string& o = line.text;
  o.reserve(256);
  const auto& msgs = MessagesFor(s.level);
  const MsgTemplate& m = msgs[rng_.Skewed(msgs.size(), 1.5)];

  time_t secs = static_cast<time_t>(clock_ms_ / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  Appendf(&o, "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\",\"level\":\"%s\",\"msg\":\"%s\",\"service\":\"%s\"",
          tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
          static_cast<int>(clock_ms_ % 1000), s.level.c_str(), m.msg, s.app.c_str());
  o += ",\"request_id\":\"";
  AppendRequestId(&o, &line.request_id_pos);
  const double duration_ms = 0.2 + 1500.0 * std::pow(rng_.Real(), 5.0);
  Appendf(&o, "\",\"duration_ms\":%.1f,\"user_id\":%llu", duration_ms, U(rng_.Skewed(2000000, 2.5) + 1));
  // Draws happen in statement order (argument evaluation order is
  // unspecified), so a seed means the same lines with any compiler.
  const uint64_t a = rng_.Next(), b = rng_.Next();
  const double c = rng_.Real();
  switch (m.extra) {
    case Extra::kNone: break;
    case Extra::kOrder:
      Appendf(&o, ",\"order_id\":\"ord_%llu\",\"items\":%llu,\"total_cents\":%llu", U(a % 90000000 + 10000000),
              U(b % 12 + 1), U(199 + static_cast<uint64_t>(150000 * c * c * c)));
      break;
    case Extra::kCache:
      Appendf(&o, ",\"key\":\"%s:%llu\",\"hit\":%s", kTables[a % std::size(kTables)], U(b % 100000),
              c < 0.8 ? "true" : "false");
      break;
    case Extra::kRetry:
      Appendf(&o, ",\"attempt\":%llu,\"backoff_ms\":%llu", U(a % 4 + 1), U(uint64_t{50} << (b % 5)));
      break;
    case Extra::kError:
      Appendf(&o, ",\"error\":\"%s\",\"attempt\":%llu", kErrors[a % std::size(kErrors)], U(b % 3 + 1));
      break;
    case Extra::kHttp:
      Appendf(&o, ",\"method\":\"%s\",\"path\":\"%s\",\"status\":%d", a % 10 < 7 ? "GET" : "POST",
              kApiPaths[b % std::size(kApiPaths)], c < 0.95 ? 200 : 404);
      break;
    case Extra::kDb:
      Appendf(&o, ",\"table\":\"%s\",\"rows\":%llu", kTables[a % std::size(kTables)],
              U(static_cast<uint64_t>(5000 * c * c * c * c)));
      break;
  }
  o += "}";
  return line;
}

}  // namespace loge::bench
