// Logs through spdlog to loge: loge_example [URL]  (default http://localhost:3000)
#include <spdlog/spdlog.h>

#include <cstdio>

#include "loge/spdlog_sink.h"

int main(int argc, char** argv) {
  loge::Options options;
  options.url = argc > 1 ? argv[1] : "http://localhost:3000";
  options.labels = {{"app", "loge_example"}};
  options.max_retries = 1;
  std::string error;
  std::shared_ptr<loge::Client> client = loge::Client::Create(options, &error);
  if (client == nullptr) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 2;
  }
  auto logger = std::make_shared<spdlog::logger>("example", std::make_shared<loge::LogeSinkMt>(client));
  SPDLOG_LOGGER_INFO(logger, "hello from {}", argv[0]);
  client->Log("info", "a record with fields", {{"answer", 42}, {"pi", 3.14}});
  const bool delivered = client->Close(std::chrono::milliseconds(500));
  const loge::Stats s = client->GetStats();
  std::printf("delivered=%d sent=%llu dropped=%llu failed=%llu\n", delivered,
              static_cast<unsigned long long>(s.sent), static_cast<unsigned long long>(s.dropped),
              static_cast<unsigned long long>(s.failed));
  return 0;
}
