// loge::Client against FakeLoge: batching, the bounded buffer, retries,
// Flush and Close.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "fake_loge.h"
#include "http_push.h"
#include "loge/client.h"
#include "wait.h"

namespace loge {
namespace {

using std::chrono::milliseconds;
using test::FakeLoge;
using test::Response;
using test::WaitUntil;

// Options whose batches leave only when full or flushed.
Options TestOptions(const FakeLoge& fake) {
  Options o;
  o.url = fake.url();
  o.batch_interval = std::chrono::hours(1);
  return o;
}

std::unique_ptr<Client> MustCreate(Options o) {
  std::string error;
  auto c = Client::Create(std::move(o), &error);
  EXPECT_NE(c, nullptr) << error;
  return c;
}

void LogRange(Client& c, int from, int to) {
  for (int i = from; i < to; i++) c.Log("info", std::to_string(i));
}

std::vector<std::string> Range(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; i++) out.push_back(std::to_string(i));
  return out;
}

// A gate a FakeLoge responder can wait at.
class Gate {
 public:
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return open_; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

TEST(Client, RecordBecomesJsonLineWithLevelLabelAndTimestamp) {
  FakeLoge fake;
  Options o = TestOptions(fake);
  o.labels = {{"app", "web"}, {"level", "ignored"}};
  auto c = MustCreate(o);
  const auto at = std::chrono::system_clock::time_point(std::chrono::nanoseconds(1780000000123456789));
  c->Log("warn", "disk nearly full", {{"free_mb", 12}}, {}, at);
  ASSERT_TRUE(c->Flush());
  const auto recs = fake.Records();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].ts, "1780000000123456789");
  EXPECT_EQ(recs[0].line, R"({"msg":"disk nearly full","free_mb":12})");
  EXPECT_EQ(recs[0].labels, (std::map<std::string, std::string>{{"app", "web"}, {"level", "warn"}}));
  EXPECT_EQ(fake.Requests()[0].headers["content-type"], "application/json");
}

TEST(Client, RecordWithoutTimeGetsTheCurrentTime) {
  FakeLoge fake;
  auto c = MustCreate(TestOptions(fake));
  const auto ns = [] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const int64_t before = ns();
  c->Log("info", "now");
  const int64_t after = ns();
  ASSERT_TRUE(c->Flush());
  const int64_t ts = std::stoll(fake.Records().at(0).ts);
  EXPECT_GE(ts, before);
  EXPECT_LE(ts, after);
}

TEST(Client, EachLevelIsItsOwnStream) {
  FakeLoge fake;
  auto c = MustCreate(TestOptions(fake));
  c->Log("info", "i1");
  c->Log("error", "e");
  c->Log("info", "i2");
  ASSERT_TRUE(c->Flush());
  const auto reqs = fake.Requests();
  ASSERT_EQ(reqs.size(), 1u);
  std::vector<std::string> got;
  for (const auto& r : reqs[0].records) got.push_back(r.labels.at("level") + ":" + r.line);
  EXPECT_EQ(got, (std::vector<std::string>{R"(info:{"msg":"i1"})", R"(info:{"msg":"i2"})", R"(error:{"msg":"e"})"}));
}

TEST(Client, FullBatchIsPushedWithoutWaitingForTheInterval) {
  FakeLoge fake;
  Options o = TestOptions(fake);
  o.batch_size = 10;
  auto c = MustCreate(o);
  LogRange(*c, 0, 25);
  ASSERT_TRUE(fake.WaitForRequests(2));
  ASSERT_TRUE(c->Flush());
  std::vector<size_t> sizes;
  for (const auto& r : fake.Requests()) sizes.push_back(r.records.size());
  EXPECT_EQ(sizes, (std::vector<size_t>{10, 10, 5}));
  EXPECT_EQ(fake.Messages(), Range(0, 25));
  const Stats s = c->GetStats();
  EXPECT_EQ(s.sent, 25u);
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(s.pending, 0u);
}

TEST(Client, IntervalPushesAPartialBatch) {
  FakeLoge fake;
  Options o = TestOptions(fake);
  o.batch_interval = milliseconds(20);
  auto c = MustCreate(o);
  c->Log("info", "alone");
  EXPECT_TRUE(fake.WaitForRequests(1));
  c->Log("info", "again, after the worker went idle");
  EXPECT_TRUE(fake.WaitForRequests(2));
}

TEST(Client, FullBufferDropsTheOldestAndCountsThem) {
  Gate release;  // outlives the fake, whose threads wait at it
  FakeLoge fake;
  fake.SetResponder([&](size_t n) {
    if (n == 0) release.Wait();  // the server hangs on the first batch
    return Response{};
  });
  Options o = TestOptions(fake);
  o.batch_size = 2;
  o.buffer_size = 3;
  auto c = MustCreate(o);
  LogRange(*c, 0, 2);
  ASSERT_TRUE(fake.WaitForRequests(1));
  LogRange(*c, 2, 8);  // the buffer keeps 5 6 7
  Stats s = c->GetStats();
  EXPECT_EQ(s.dropped, 3u);
  EXPECT_EQ(s.pending, 5u);  // 2 in flight, 3 queued
  release.Open();
  ASSERT_TRUE(c->Flush());
  EXPECT_EQ(fake.Messages(), (std::vector<std::string>{"0", "1", "5", "6", "7"}));
  s = c->GetStats();
  EXPECT_EQ(s.sent, 5u);
  EXPECT_EQ(s.dropped, 3u);
}

TEST(Client, BufferBytesBoundsMemory) {
  FakeLoge fake;
  Options o = TestOptions(fake);
  o.buffer_bytes = 300;
  auto c = MustCreate(o);
  for (int i = 0; i < 10; i++) c->Log("info", std::to_string(i), {{"pad", std::string(80, 'x')}});  // ~100 B
  ASSERT_TRUE(c->Flush());
  EXPECT_EQ(fake.Messages(), (std::vector<std::string>{"7", "8", "9"}));
  EXPECT_EQ(c->GetStats().dropped, 7u);
}

int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);  // nothing listens there now: connections are refused
  return ntohs(addr.sin_port);
}

TEST(Client, UnreachableServerNeverBlocksTheCaller) {
  Options o;
  o.url = "http://127.0.0.1:" + std::to_string(ClosedPort());
  o.batch_size = 10;
  o.buffer_size = 100;
  o.batch_interval = milliseconds(1);
  o.max_retries = 1000;
  o.min_backoff = o.max_backoff = milliseconds(1);
  auto c = MustCreate(o);
  const auto start = std::chrono::steady_clock::now();
  LogRange(*c, 0, 20000);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  Stats s = c->GetStats();
  EXPECT_LE(s.pending, 110u);
  EXPECT_GE(s.dropped, 20000u - 110u);
  EXPECT_FALSE(c->Close(milliseconds(50)));
  s = c->GetStats();
  EXPECT_EQ(s.dropped, 20000u);
  EXPECT_EQ(s.pending, 0u);
  EXPECT_GT(s.retries, 0u);
}

TEST(Client, ServerErrorsAreRetriedWithBackoff) {
  FakeLoge fake;
  fake.SetResponder([](size_t n) { return test::WithStatus(n == 0 ? 503 : n == 1 ? 500 : 200); });
  Options o = TestOptions(fake);
  o.min_backoff = milliseconds(20);
  o.max_backoff = milliseconds(40);
  auto c = MustCreate(o);
  LogRange(*c, 0, 3);
  ASSERT_TRUE(c->Flush());
  const auto reqs = fake.Requests();
  ASSERT_EQ(reqs.size(), 3u);
  for (size_t i = 1; i < 3; i++) {
    EXPECT_EQ(reqs[i].body, reqs[0].body) << "attempt " << i;
    // Jittered backoff: at least half of min_backoff, doubled the second time.
    EXPECT_GE(reqs[i].at - reqs[i - 1].at, milliseconds(10 * i)) << "retry " << i;
  }
  const Stats s = c->GetStats();
  EXPECT_EQ(s.sent, 3u);
  EXPECT_EQ(s.retries, 2u);
  EXPECT_EQ(s.failed, 0u);
}

TEST(Client, TooManyRequestsHonoursRetryAfter) {
  FakeLoge fake;
  fake.SetResponder([](size_t n) {
    if (n == 0) return Response{429, {{"Retry-After", "1"}}, ""};
    return Response{};
  });
  Options o = TestOptions(fake);
  o.min_backoff = o.max_backoff = milliseconds(1);
  auto c = MustCreate(o);
  c->Log("info", "later");
  ASSERT_TRUE(c->Flush());
  const auto reqs = fake.Requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_GE(reqs[1].at - reqs[0].at, std::chrono::seconds(1));
}

TEST(Client, RetryAfterParsesSecondsAndDates) {
  EXPECT_EQ(HttpPush::ParseRetryAfter(""), -1);
  EXPECT_EQ(HttpPush::ParseRetryAfter(" 3\r\n"), 3);
  EXPECT_EQ(HttpPush::ParseRetryAfter("junk"), -1);
  EXPECT_EQ(HttpPush::ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"), 0);  // in the past
  char date[64];
  const time_t in5 = time(nullptr) + 5;
  strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", gmtime(&in5));
  const double secs = HttpPush::ParseRetryAfter(date);
  EXPECT_GE(secs, 3);
  EXPECT_LE(secs, 5);
}

TEST(Client, BatchIsGivenUpAfterMaxRetries) {
  FakeLoge fake;
  fake.SetResponder([](size_t) { return test::WithStatus(502); });
  Options o = TestOptions(fake);
  o.max_retries = 2;
  o.min_backoff = o.max_backoff = milliseconds(1);
  std::mutex mu;
  std::string reported;
  o.on_error = [&](const std::string& e) {
    std::lock_guard<std::mutex> lock(mu);
    reported = e;
  };
  auto c = MustCreate(o);
  LogRange(*c, 0, 4);
  EXPECT_FALSE(c->Flush());
  EXPECT_EQ(fake.Requests().size(), 3u);
  const Stats s = c->GetStats();
  EXPECT_EQ(s.failed, 4u);
  EXPECT_EQ(s.sent, 0u);
  EXPECT_EQ(s.pending, 0u);
  EXPECT_NE(c->LastError().find("after 3 attempts: push answered 502"), std::string::npos) << c->LastError();
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(reported, c->LastError());
}

TEST(Client, BadRequestIsNotRetried) {
  FakeLoge fake;
  fake.SetResponder([](size_t) {
    return Response{400, {{"Content-Type", "application/json"}},
                    R"({"status":"error","error":"streams[0].stream: no labels"})"};
  });
  Options o = TestOptions(fake);
  o.min_backoff = milliseconds(1);
  auto c = MustCreate(o);
  c->Log("info", "x");
  EXPECT_FALSE(c->Flush());
  EXPECT_EQ(fake.Requests().size(), 1u);
  EXPECT_NE(c->LastError().find("push answered 400: streams[0].stream: no labels"), std::string::npos)
      << c->LastError();
  EXPECT_EQ(c->GetStats().failed, 1u);
  EXPECT_EQ(c->GetStats().retries, 0u);
}

TEST(Client, ApiKeyIsSentAsBearerToken) {
  FakeLoge fake;
  Options o = TestOptions(fake);
  o.api_key = "s3cret";
  auto with_key = MustCreate(o);
  with_key->Log("info", "x");
  ASSERT_TRUE(with_key->Flush());
  auto without = MustCreate(TestOptions(fake));
  without->Log("info", "y");
  ASSERT_TRUE(without->Flush());
  const auto reqs = fake.Requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].headers.at("authorization"), "Bearer s3cret");
  EXPECT_EQ(reqs[1].headers.count("authorization"), 0u);
}

TEST(Client, CloseDeliversWhatIsBufferedThenRefuses) {
  FakeLoge fake;
  auto c = MustCreate(TestOptions(fake));
  LogRange(*c, 0, 5);
  EXPECT_TRUE(c->Close());
  EXPECT_EQ(fake.Messages(), Range(0, 5));
  EXPECT_FALSE(c->Log("info", "late"));
  const Stats s = c->GetStats();
  EXPECT_EQ(s.sent, 5u);
  EXPECT_EQ(s.dropped, 1u);
  EXPECT_TRUE(c->Flush(milliseconds(100)));
  EXPECT_TRUE(c->Close());
}

TEST(Client, CloseAbandonsAHungPushWhenItsTimeoutEnds) {
  Gate release;  // outlives the fake, whose threads wait at it
  FakeLoge fake;
  fake.SetResponder([&](size_t) {
    release.Wait();
    return Response{};
  });
  auto c = MustCreate(TestOptions(fake));
  LogRange(*c, 0, 3);
  c->Flush(milliseconds(1));
  ASSERT_TRUE(fake.WaitForRequests(1));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(c->Close(milliseconds(100)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  const Stats s = c->GetStats();
  EXPECT_EQ(s.dropped, 3u);
  EXPECT_EQ(s.pending, 0u);
  release.Open();
}

TEST(Client, CloseGivesUpABackoffWhenItsTimeoutEnds) {
  FakeLoge fake;
  fake.SetResponder([](size_t) { return test::WithStatus(503); });
  Options o = TestOptions(fake);
  o.min_backoff = o.max_backoff = std::chrono::hours(1);
  auto c = MustCreate(o);
  LogRange(*c, 0, 3);
  EXPECT_FALSE(c->Close(milliseconds(100)));
  EXPECT_EQ(c->GetStats().dropped, 3u);
}

TEST(Client, FlushReturnsFalseWhenItsTimeoutEndsAndKeepsTheBatch) {
  FakeLoge fake;
  fake.SetResponder([](size_t) { return test::WithStatus(503); });
  Options o = TestOptions(fake);
  o.min_backoff = o.max_backoff = std::chrono::hours(1);
  o.close_timeout = milliseconds(50);
  auto c = MustCreate(o);
  c->Log("info", "x");
  EXPECT_FALSE(c->Flush(milliseconds(50)));
  EXPECT_EQ(c->GetStats().pending, 1u);
  EXPECT_EQ(c->GetStats().failed, 0u);
}

TEST(Client, LongLineIsDroppedAlone) {
  FakeLoge fake;
  Options o = TestOptions(fake);
  o.max_line_bytes = 100;
  auto c = MustCreate(o);
  EXPECT_FALSE(c->Log("info", std::string(200, 'x')));
  EXPECT_TRUE(c->Log("info", "short"));
  ASSERT_TRUE(c->Flush());
  EXPECT_EQ(fake.Messages(), std::vector<std::string>{"short"});
  EXPECT_EQ(c->GetStats().dropped, 1u);
}

TEST(Client, ConcurrentLoggersLoseNothing) {
  FakeLoge fake;
  Options o = TestOptions(fake);
  o.batch_size = 100;
  o.buffer_size = 100000;
  o.batch_interval = milliseconds(1);
  auto c = MustCreate(o);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; i++) c->Log("info", std::to_string(t) + "-" + std::to_string(i));
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(c->Close());
  EXPECT_EQ(fake.Records().size(), 8000u);
}

TEST(Client, CreateRejectsBadOptions) {
  const auto check = [](Options o, const std::string& want) {
    SCOPED_TRACE(o.url);
    std::string error;
    auto c = Client::Create(o, &error);
    if (want.empty()) {
      EXPECT_NE(c, nullptr) << error;
    } else {
      EXPECT_EQ(c, nullptr);
      EXPECT_NE(error.find(want), std::string::npos) << error;
    }
  };
  Options o;
  check(o, "want http(s)://host");
  o.url = "localhost:3000";
  check(o, "want http(s)://host");
  o.url = "http://";
  check(o, "want http(s)://host");
  o.url = "http://127.0.0.1:1";
  o.labels = {{"bad-name", "x"}};
  check(o, "label name \"bad-name\"");
  o.labels = {{"app", "x"}};
  o.batch_size = 0;
  check(o, "must be positive");
  o.batch_size = 10;
  o.close_timeout = milliseconds(10);
  check(o, "");
}

}  // namespace
}  // namespace loge
