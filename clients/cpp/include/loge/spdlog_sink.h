// loge::LogeSink: an spdlog sink that ships each message through a
// loge::Client. The line is JSON, not spdlog's pattern:
//
//   {"msg":<payload>,"source":{"file","line","function"},"logger":<name>,"thread":<id>}
//
// "source" appears when the call site is known (SPDLOG_INFO etc. macros);
// "logger" when the logger has a name. The message's time is the entry
// timestamp and its level the "level" label: trace, debug, info, warn,
// error, critical.
//
// Thread-safety: LogeSink<std::mutex> (LogeSinkMt) for loggers used from
// several threads, LogeSink<spdlog::details::null_mutex> (LogeSinkSt)
// otherwise. sink_it_ only queues; flush() waits for delivery up to the
// flush timeout given to the constructor.
//
//   loge::Options options;
//   options.url = "http://localhost:3000";
//   options.labels = {{"app", "api"}};
//   std::string error;
//   std::shared_ptr<loge::Client> client = loge::Client::Create(options, &error);
//   auto sink = std::make_shared<loge::LogeSinkMt>(client);
//   auto logger = std::make_shared<spdlog::logger>("api", sink);
#ifndef LOGE_SPDLOG_SINK_H_
#define LOGE_SPDLOG_SINK_H_

#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

#include "loge/client.h"

namespace loge {

template <typename Mutex>
class LogeSink : public spdlog::sinks::base_sink<Mutex> {
 public:
  // client must not be null. flush_timeout bounds each flush().
  explicit LogeSink(std::shared_ptr<Client> client,
                    std::chrono::milliseconds flush_timeout = std::chrono::milliseconds(10000))
      : client_(std::move(client)), flush_timeout_(flush_timeout) {}

  Client& client() { return *client_; }

  // The "level" label for an spdlog level.
  static std::string_view LevelLabel(spdlog::level::level_enum level) {
    switch (level) {
      case spdlog::level::trace: return "trace";
      case spdlog::level::debug: return "debug";
      case spdlog::level::info: return "info";
      case spdlog::level::warn: return "warn";
      case spdlog::level::err: return "error";
      case spdlog::level::critical: return "critical";
      default: return "unknown";
    }
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::vector<Field> fields;
    fields.reserve(2);
    if (msg.logger_name.size() > 0) {
      fields.emplace_back("logger", std::string_view(msg.logger_name.data(), msg.logger_name.size()));
    }
    fields.emplace_back("thread", static_cast<uint64_t>(msg.thread_id));
    Source source;
    if (!msg.source.empty()) {
      source.file = msg.source.filename;
      source.line = msg.source.line;
      source.function = msg.source.funcname;
    }
    client_->Log(LevelLabel(msg.level), std::string_view(msg.payload.data(), msg.payload.size()), fields, source,
                 std::chrono::time_point_cast<std::chrono::system_clock::duration>(msg.time));
  }

  void flush_() override { client_->Flush(flush_timeout_); }

 private:
  std::shared_ptr<Client> client_;
  std::chrono::milliseconds flush_timeout_;
};

using LogeSinkMt = LogeSink<std::mutex>;
using LogeSinkSt = LogeSink<spdlog::details::null_mutex>;

}  // namespace loge

#endif  // LOGE_SPDLOG_SINK_H_
