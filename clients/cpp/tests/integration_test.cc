// loge::Client and LogeSink against the real loge binary ($LOGE_BIN).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loge/client.h"
#include "loge/spdlog_sink.h"
#include "loge_server.h"
#include "wait.h"

namespace loge {
namespace {

using test::LogeServer;

#define REQUIRE_LOGE_BIN()                                                                          \
  if (LogeServer::BinaryPath().empty()) {                                                           \
    GTEST_SKIP() << "LOGE_BIN is not set: skipping the tests against the real server (ctest sets it)"; \
  }

std::unique_ptr<Client> MustCreate(Options o) {
  std::string error;
  auto c = Client::Create(std::move(o), &error);
  EXPECT_NE(c, nullptr) << error;
  return c;
}

TEST(Integration, RecordsAreQueryableWithLabelsAndTimestamps) {
  REQUIRE_LOGE_BIN();
  LogeServer server;
  ASSERT_TRUE(server.ok()) << server.error();
  Options o;
  o.url = server.url();
  o.labels = {{"app", "cpp_it"}, {"env", "test"}};
  o.batch_size = 50;
  std::shared_ptr<Client> client = MustCreate(o);

  const auto at = std::chrono::system_clock::time_point(std::chrono::nanoseconds(1780000000123456789));
  client->Log("error", "payment failed", {{"order", "A-17"}, {"amount", 12.5}}, {}, at);
  auto sink = std::make_shared<LogeSinkMt>(client);
  spdlog::logger logger("api", sink);
  for (int i = 0; i < 120; i++) logger.info("served {}", i);  // more than two full batches
  SPDLOG_LOGGER_WARN(&logger, "slow query");
  EXPECT_TRUE(client->Close());
  const Stats s = client->GetStats();
  EXPECT_EQ(s.sent, 122u);
  EXPECT_EQ(s.dropped + s.failed, 0u);

  auto rows = server.Query(R"({app="cpp_it", level="error"})");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].timestamp, "1780000000123456789");
  EXPECT_EQ(rows[0].line, R"({"msg":"payment failed","order":"A-17","amount":12.5})");
  EXPECT_EQ(rows[0].labels, (std::map<std::string, std::string>{{"app", "cpp_it"}, {"env", "test"}, {"level", "error"}}));

  EXPECT_EQ(server.Query(R"({app="cpp_it", level="info"})").size(), 120u);
  rows = server.Query(R"({app="cpp_it", level="warn"})");
  ASSERT_EQ(rows.size(), 1u);
  simdjson::dom::parser parser;
  simdjson::dom::element line;
  ASSERT_EQ(parser.parse(rows[0].line).get(line), simdjson::SUCCESS) << rows[0].line;
  EXPECT_EQ(std::string_view(line["msg"]), "slow query");
  EXPECT_EQ(std::string_view(line["logger"]), "api");
  EXPECT_NE(std::string_view(line["source"]["file"]).find("integration_test.cc"), std::string_view::npos);
}

TEST(Integration, PushCarriesTheApiKey) {
  REQUIRE_LOGE_BIN();
  LogeServer server({"--api-key", "k3y"});
  ASSERT_TRUE(server.ok()) << server.error();
  Options o;
  o.url = server.url();
  o.labels = {{"app", "cpp_auth"}};
  o.api_key = "k3y";
  auto client = MustCreate(o);
  client->Log("warn", "with key");
  EXPECT_TRUE(client->Close());
  const auto rows = server.Query(R"({app="cpp_auth"})", "k3y");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].labels.at("level"), "warn");
}

TEST(Integration, RecordsWaitForAServerThatStartsLate) {
  REQUIRE_LOGE_BIN();
  // A port nobody listens on yet: the first pushes are refused and retried
  // while the buffer holds the records.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  const std::string port = std::to_string(ntohs(addr.sin_port));

  Options o;
  o.url = "http://127.0.0.1:" + port;
  o.labels = {{"app", "cpp_late"}};
  o.batch_interval = std::chrono::milliseconds(5);
  o.min_backoff = std::chrono::milliseconds(10);
  o.max_backoff = std::chrono::milliseconds(50);
  o.max_retries = 1000;
  auto client = MustCreate(o);
  client->Log("info", "before the server");
  ASSERT_TRUE(test::WaitUntil([&] { return client->GetStats().retries > 0; }));
  LogeServer server({}, port);
  ASSERT_TRUE(server.ok()) << server.error();
  client->Log("info", "after the server");
  EXPECT_TRUE(client->Close());
  EXPECT_EQ(client->GetStats().sent, 2u);
  EXPECT_EQ(server.Query(R"({app="cpp_late"})").size(), 2u);
}

}  // namespace
}  // namespace loge
