// libFuzzer target for the HTTP front door. The input is the raw bytes a
// client writes on one connection: one or more HTTP/1.1 requests (pipelined,
// chunked, truncated, malformed). They are parsed by Beast's request parser
// under the limits a connection applies (http_request_parse.h: the header
// limit, the body limit of the request's pool, a declared oversize
// Content-Length refused before the body), and each request that parses goes
// through Server::Serve — what the connection's handler thread runs: the
// read size check and deadline, the route table, the API-key gate, the
// handlers — against a real Store in a temporary directory, made once per
// process with a few lines in files and in the head, and replaced after
// kWritesPerStore writes so it stays tiny (each input stays fast).
//
// Must hold for every input, besides no crash, sanitizer report, leak, hang
// or uncaught exception:
//   1. every answer has a status in 100..599;
//   2. no 5xx but 503 (no S3 tier, backpressure) and 504 (--query-timeout):
//      bad input is the client's error, a 500 is a bug in a handler;
//   3. every application/json answer is valid JSON (JsonWriter's promise),
//      and an error answered as JSON is an object.
// A violation prints the request and the answer, then aborts, so libFuzzer
// keeps the input. Seeds: tests/fuzz/corpus/http_request_fuzz/; dictionary:
// tests/fuzz/http_request_fuzz.dict; docs/testing.md, "Fuzzing".
#include <simdjson.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <boost/beast/websocket/rfc6455.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "core/time.h"
#include "server/http_request_parse.h"
#include "server/server.h"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using loge::server::HttpRequest;
using loge::server::HttpResponse;
using loge::server::Server;

// The key every read needs; seeds send it, or a wrong one, or none.
constexpr char kApiKey[] = "fuzzkey";
// Requests that write (pushes, deletes, admin calls) before the store is
// replaced by a fresh one: bounds its size, its head and its pending deletes.
constexpr int kWritesPerStore = 500;
// Requests of one input served at most (a connection's pipeline).
constexpr int kRequestsPerInput = 16;
// The seeded lines' timestamps: 2026-01-01T00:00:00Z and on (seeds query
// there with explicit start/end), and a minute ago (default ranges).
constexpr int64_t kSeedTime = 1767225600LL * 1000000000LL;

struct Fixture {
  loge::server::ServerOptions opts;
  loge::server::HttpServerOptions http;  // the pools and limits the socket would apply
  std::string dir;
  std::unique_ptr<Server> server;
  int writes = 0;
};

Fixture* fixture = nullptr;

[[noreturn]] void Fail(const std::string& what, const HttpRequest* req, const HttpResponse* resp) {
  std::fprintf(stderr, "http_request_fuzz: %s\n", what.c_str());
  if (req != nullptr) {
    std::fprintf(stderr, "request: %s %.300s\nbody: %.300s\n", req->method.c_str(), req->target.c_str(),
                 req->body.c_str());
  }
  if (resp != nullptr) std::fprintf(stderr, "answer %d: %.500s\n", resp->status, resp->body.c_str());
  std::abort();
}

HttpRequest Make(std::string method, std::string target, std::string body, std::string content_type) {
  HttpRequest r;
  r.method = std::move(method);
  r.target = std::move(target);
  const size_t q = r.target.find('?');
  r.path = r.target.substr(0, q);
  if (q != std::string::npos) r.query = r.target.substr(q + 1);
  r.body = std::move(body);
  r.headers = {{"authorization", std::string("Bearer ") + kApiKey}, {"content-type", std::move(content_type)}};
  return r;
}

void MustServe(HttpRequest req) {
  HttpResponse r = fixture->server->Serve(req);
  if (r.status / 100 != 2) Fail("seeding the store failed", &req, &r);
}

// Lines of two streams at the seed time (then flushed into a file) and a
// minute ago (left in the head), so queries find rows in both.
void Seed() {
  const int64_t recent = loge::NowNanos() - 60LL * 1000000000LL;
  auto push = [](int64_t t0, std::string_view level) {
    std::string body = R"({"streams":[)";
    for (int s = 0; s < 2; s++) {
      body += std::string(s == 0 ? "" : ",") + R"({"stream":{"app":")" + (s == 0 ? "web" : "db") +
              R"(","env":"prod"},"values":[)";
      for (int i = 0; i < 5; i++) {
        const std::string ts = std::to_string(t0 + (s * 5 + i) * 1000000000LL);
        body += std::string(i == 0 ? "" : ",") + "[\"" + ts + "\",\"level=" + std::string(level) + " msg=\\\"req " +
                std::to_string(i) + "\\\" status=" + std::to_string(200 + i * 100) + " took=" + std::to_string(i * 7) +
                "ms\"," + R"({"trace_id":"t)" + std::to_string(i) + "\"}]";
      }
      body += "]}";
    }
    body += "]}";
    MustServe(Make("POST", "/loki/api/v1/push", body, "application/json"));
  };
  push(kSeedTime, "info");
  MustServe(Make("POST", "/api/v1/admin/compact", "", ""));
  push(recent, "error");
  MustServe(Make("POST", "/loki/api/v1/push",
                 R"({"streams":[{"stream":{"app":"api"},"values":[[")" + std::to_string(recent) +
                     R"(","{\"level\":\"warn\",\"path\":\"/x\",\"ms\":12.5}"]]}]})",
                 "application/json"));
}

void StopServer() {
  if (fixture->server == nullptr) return;
  if (loge::Status st = fixture->server->Shutdown(); !st.ok()) Fail("shutdown: " + st.ToString(), nullptr, nullptr);
  fixture->server.reset();
  std::error_code ec;
  std::filesystem::remove_all(fixture->dir, ec);
}

void StartServer() {
  const char* tmp = getenv("TMPDIR");
  fixture->dir = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/loge-http-fuzz-XXXXXX";
  if (mkdtemp(fixture->dir.data()) == nullptr) Fail("mkdtemp " + fixture->dir, nullptr, nullptr);
  fixture->opts.store.output_path = fixture->dir;
  auto s = Server::Start(fixture->opts);
  if (!s.ok()) Fail("Server::Start: " + s.status().ToString(), nullptr, nullptr);
  fixture->server = std::move(*s);
  fixture->writes = 0;
  Seed();
}

void Init() {
  // Handlers log refused input at warn/info; only errors are worth a look.
  spdlog::set_level(spdlog::level::err);
  fixture = new Fixture();
  loge::server::ServerOptions& o = fixture->opts;
  o.api_key = kApiKey;
  o.http.address = "127.0.0.1";  // listens, unused: requests come from memory
  o.http.port = 0;
  o.http.io_threads = 1;
  o.http.handler_threads = 1;
  // Small limits, so that inputs of at most a few KiB reach them: a decoded
  // (gzip) body past 1 MiB, a query past 2 KiB, long labels and lines.
  o.http.max_body_bytes = 1 << 20;
  o.max_query_bytes = 2 << 10;
  o.limits.max_line_bytes = 1024;
  o.limits.max_label_name_bytes = 64;
  o.limits.max_label_value_bytes = 256;
  o.limits.max_labels_per_stream = 8;
  o.max_concurrent_queries = 2;
  o.max_entries_limit_per_query = 1000;
  o.query_timeout = std::chrono::seconds(3);
  o.engine.concurrency = 2;
  // A store that flushes and merges only when told (POST /api/v1/admin/compact),
  // so an input answers the same whatever the clock did in between.
  o.store.buckets = 1;
  o.store.durable = false;
  o.store.flush_interval = std::chrono::hours(1);
  o.store.checkpoint_interval = std::chrono::hours(1);
  o.store.merge_interval = loge::Duration(0);
  o.store.flush_workers = 1;
  o.store.merge_threads = 1;
  o.store.disk.min_free.kind = loge::store::MinFreeDisk::Kind::kBytes;  // bytes 0: off, whatever the disk holds
  fixture->http = Server::PoolsFor(o);
  StartServer();
  std::atexit([] {
    StopServer();
    delete fixture;
    fixture = nullptr;
  });
}

bool IsWrite(const HttpRequest& req) {
  const auto cls = loge::server::ClassOf(Server::Routes(), req);
  return cls == loge::server::RouteClass::kIngest || req.path.find("delete") != std::string::npos ||
         req.path.starts_with("/api/v1/admin/");
}

// LOGE_FUZZ_VERBOSE=1: each request and the start of its answer on stderr,
// to see what a replayed input does.
bool Verbose() {
  static const bool verbose = [] {
    const char* v = getenv("LOGE_FUZZ_VERBOSE");
    return v != nullptr && *v != '\0' && *v != '0';
  }();
  return verbose;
}

void Check(const HttpRequest& req, const HttpResponse& resp) {
  if (Verbose()) {
    std::fprintf(stderr, "%s %.200s -> %d %.300s\n", req.method.c_str(), req.target.c_str(), resp.status,
                 resp.body.c_str());
  }
  if (resp.status < 100 || resp.status > 599) Fail("status out of range", &req, &resp);
  if (resp.status >= 500 && resp.status != 503 && resp.status != 504) Fail("5xx for a request", &req, &resp);
  if (!resp.content_type.starts_with("application/json") || resp.body.empty()) return;
  static simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.parse(resp.body).get(doc); err) {
    Fail(std::string("invalid JSON answer: ") + simdjson::error_message(err), &req, &resp);
  }
  if (resp.status >= 400 && !doc.is_object()) Fail("JSON error answer is not an object", &req, &resp);
}

// One request as the server's handler thread sees it; false when the
// connection ends after it (Connection: close, an upgrade).
bool Dispatch(HttpRequest& req, bool upgrade, bool keep_alive) {
  if (IsWrite(req) && ++fixture->writes > kWritesPerStore) {
    StopServer();
    StartServer();
  }
  if (upgrade) {
    loge::server::UpgradeAnswer a = fixture->server->ServeUpgrade(req);
    if (a.accept) {
      if (Verbose()) std::fprintf(stderr, "%s %.200s -> upgraded\n", req.method.c_str(), req.target.c_str());
      a.accept->OnClose();  // as when the handshake fails: the tailer leaves
    } else {
      Check(req, a.refuse);
    }
    return false;
  }
  Check(req, fixture->server->Serve(req));
  return keep_alive;
}

// Feeds `in` to the parser until it has a header (header_only) or the whole
// message; returns the bytes used. *ec is need_more when `in` ran out first.
size_t Feed(loge::server::RequestParser& p, std::string_view in, bool header_only, beast::error_code* ec) {
  size_t used = 0;
  while (!(header_only ? p.is_header_done() : p.is_done())) {
    if (used == in.size()) {
      *ec = http::error::need_more;
      return used;
    }
    const size_t n = p.put(boost::asio::buffer(in.data() + used, in.size() - used), *ec);
    used += n;
    if (*ec == http::error::need_more && n > 0) *ec = {};
    if (*ec) return used;
  }
  return used;
}

// Reads one request from the front of `in` as a connection does
// (Session::ReadHeader, OnHeader, OnBody) and serves it. Returns the bytes
// it used, or 0 when the connection ends (answered and closed, or out of
// bytes: a client that sent no more).
size_t ServeOne(std::string_view in) {
  loge::server::RequestParser p;
  p.header_limit(loge::server::kMaxHeaderBytes);
  p.body_limit(fixture->http.max_body_bytes);
  beast::error_code ec;
  size_t used = Feed(p, in, /*header_only=*/true, &ec);
  const loge::server::HandlerPoolOptions* pool = nullptr;
  auto limit = loge::server::BodyLimitOf(fixture->http, pool);
  auto answer_error = [&] {
    if (ec == http::error::need_more) return;  // the client stopped sending: nobody to answer
    if (auto a = loge::server::ReadErrorAnswer(ec, limit)) Check(HttpRequest{}, *a);
  };
  if (ec) {
    answer_error();
    return 0;
  }
  {
    const HttpRequest head = loge::server::RequestHead(p.get());
    const size_t k = loge::server::PoolIndexFor(fixture->http, head, fixture->http.pools.size());
    if (k < fixture->http.pools.size()) pool = &fixture->http.pools[k];
    limit = loge::server::BodyLimitOf(fixture->http, pool);
    p.body_limit(limit.bytes);
    if (auto refused = loge::server::RefuseDeclaredLength(p.get(), limit)) {
      Check(head, *refused);
      return 0;
    }
  }
  p.eager(true);
  used += Feed(p, in.substr(used), /*header_only=*/false, &ec);
  if (ec) {
    answer_error();
    return 0;
  }
  auto msg = p.release();
  HttpRequest req = loge::server::RequestHead(msg);
  const bool upgrade = beast::websocket::is_upgrade(msg);
  req.body = std::move(msg.body());
  if (!Dispatch(req, upgrade, msg.keep_alive())) return 0;
  return used;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (fixture == nullptr) Init();
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (int i = 0; i < kRequestsPerInput && !in.empty(); i++) {
    const size_t used = ServeOne(in);
    if (used == 0) break;
    in.remove_prefix(used);
  }
  return 0;
}
