// loge::LogeSink: spdlog messages become loge records.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include "fake_loge.h"
#include "loge/spdlog_sink.h"

namespace loge {
namespace {

using test::FakeLoge;

std::shared_ptr<Client> MustCreate(const FakeLoge& fake) {
  Options o;
  o.url = fake.url();
  o.labels = {{"app", "sink_test"}};
  o.batch_interval = std::chrono::hours(1);
  std::string error;
  std::shared_ptr<Client> c = Client::Create(o, &error);
  EXPECT_NE(c, nullptr) << error;
  return c;
}

TEST(LogeSink, SendsPayloadLevelLoggerNameAndSource) {
  FakeLoge fake;
  auto sink = std::make_shared<LogeSinkMt>(MustCreate(fake));
  auto logger = std::make_shared<spdlog::logger>("billing", sink);
  logger->set_level(spdlog::level::trace);
  const auto before = std::chrono::system_clock::now();
  SPDLOG_LOGGER_WARN(logger, "charge {} failed: {}", 17, "card \"declined\"");
  logger->trace("fine detail");
  logger->critical("down");
  logger->flush();  // delivers through Client::Flush

  const auto recs = fake.Records();
  ASSERT_EQ(recs.size(), 3u);
  std::map<std::string, test::PushedRecord> by_level;
  for (const auto& r : recs) by_level[r.labels.at("level")] = r;
  ASSERT_EQ(by_level.size(), 3u);
  EXPECT_EQ(by_level["warn"].labels.at("app"), "sink_test");
  EXPECT_GE(std::stoll(by_level["warn"].ts),
            std::chrono::duration_cast<std::chrono::nanoseconds>(before.time_since_epoch()).count());

  simdjson::dom::parser parser;
  simdjson::dom::element line;
  ASSERT_EQ(parser.parse(by_level["warn"].line).get(line), simdjson::SUCCESS) << by_level["warn"].line;
  EXPECT_EQ(std::string_view(line["msg"]), "charge 17 failed: card \"declined\"");
  EXPECT_EQ(std::string_view(line["logger"]), "billing");
  EXPECT_TRUE(line["thread"].is_uint64() || line["thread"].is_int64());
  EXPECT_NE(std::string_view(line["source"]["file"]).find("sink_test.cc"), std::string_view::npos);
  EXPECT_GT(int64_t(line["source"]["line"]), 0);
  EXPECT_EQ(std::string_view(line["source"]["function"]), "TestBody");

  EXPECT_EQ(by_level["trace"].line.find("\"source\""), std::string::npos)
      << "no call site without the SPDLOG_ macros: " << by_level["trace"].line;
  EXPECT_NE(by_level["critical"].line.find(R"("msg":"down")"), std::string::npos);
}

TEST(LogeSink, MapsEverySpdlogLevel) {
  EXPECT_EQ(LogeSinkMt::LevelLabel(spdlog::level::trace), "trace");
  EXPECT_EQ(LogeSinkMt::LevelLabel(spdlog::level::debug), "debug");
  EXPECT_EQ(LogeSinkMt::LevelLabel(spdlog::level::info), "info");
  EXPECT_EQ(LogeSinkMt::LevelLabel(spdlog::level::warn), "warn");
  EXPECT_EQ(LogeSinkMt::LevelLabel(spdlog::level::err), "error");
  EXPECT_EQ(LogeSinkMt::LevelLabel(spdlog::level::critical), "critical");
}

TEST(LogeSink, SingleThreadedSinkWorksWithoutAMutex) {
  FakeLoge fake;
  auto sink = std::make_shared<LogeSinkSt>(MustCreate(fake));
  spdlog::logger logger("", sink);
  logger.info("unnamed");
  logger.flush();
  const auto recs = fake.Records();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].line.find("\"logger\""), std::string::npos) << recs[0].line;
}

}  // namespace
}  // namespace loge
