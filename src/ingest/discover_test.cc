#include "ingest/discover.h"

#include <gtest/gtest.h>

#include <cctype>
#include <random>

namespace loge::ingest {
namespace {

TEST(Discover, DetectedLevelComesFromLabelsMetadataFieldsThenWords) {
  auto check = [](const Labels& stream, const std::string& meta, const std::string& line, const std::string& want) {
    SCOPED_TRACE(line);
    EXPECT_EQ(DetectLevel(stream, meta, line), want);
  };
  check({{"level", "error"}}, "", "level=info x", "error");        // a stream label wins, as is
  check({{"level", "WARNING"}}, "", "", "warn");                    // normalised
  check({{"level", "notice"}}, "", "", "notice");                   // unknown words stay
  check({}, R"({"severity":"DEBUG"})", "level=info", "debug");     // then metadata
  check({}, R"({"severity_number":"17"})", "", "error");           // OTLP severity numbers
  check({}, "", "level=warn msg=x", "warn");                        // logfmt field
  check({}, "", "ts=1 LVL=err msg=x", "error");                     // any level-like key, any case
  check({}, "", R"({"msg":"x","level":"info"})", "info");           // JSON field
  check({}, "", R"({"a":{"severity":"fatal"}})", "fatal");          // nested
  check({}, "", "2024 ERROR something broke", "error");             // words
  check({}, "", "user debugger attached", "unknown");                // not a standalone word
  check({}, "", R"({"level":"info","msg":"trunc)", "info");         // truncated JSON: words
  check({}, "", "\x1b[32mINFO\x1b[0m done", "unknown");             // colour codes hide the word
  check({}, "", "plain text", "unknown");
}

// OTLP records reach discovery with severity_text and severity_number as
// metadata (decode_otlp.h): the level comes from them here, in the one place
// that decides detected_level for every push path.
TEST(Discover, OtlpSeverityTextThenNumberGivesDetectedLevel) {
  auto check = [](const std::string& meta, const std::string& want) {
    SCOPED_TRACE(meta);
    EXPECT_EQ(DetectLevel({{"service_name", "checkout"}}, meta, "payment failed"), want);
  };
  check(R"({"severity_text":"ERROR","severity_number":"17"})", "error");
  check(R"({"severity_number":"1"})", "trace");
  check(R"({"severity_number":"8"})", "debug");
  check(R"({"severity_number":"9"})", "info");
  check(R"({"severity_number":"13"})", "warn");
  check(R"({"severity_number":"24"})", "fatal");
  check(R"({"severity_number":"99"})", "unknown");
  check(R"({"severity_text":"WARNING"})", "warn");
  check(R"({"severity_text":"Err"})", "error");
  check(R"({"severity_text":"critical"})", "critical");
  check(R"({"severity_text":"notice"})", "notice");                      // Loki keeps unknown words
  check(R"({"severity_text":"INFO","severity_number":"17"})", "info");  // a level field before the number
  check(R"({"trace_id":"t"})", "unknown");  // neither: the line's words (none in "payment failed")
}

TEST(Discover, ServiceNameAndDetectedLevelAreAddedOnce) {
  Payload p;
  Stream s;
  s.labels = {{"app", "api"}, {"job", "x"}};
  s.entries.push_back(Entry{1, "level=error", ""});
  s.entries.push_back(Entry{2, "fine", R"({"trace_id":"t"})"});
  s.entries.push_back(Entry{3, "x", R"({"detected_level":"debug"})"});
  p.streams.push_back(s);
  Stream bare;
  bare.labels = {{"host", "h"}};
  bare.entries.push_back(Entry{1, "WARN disk", ""});
  p.streams.push_back(bare);
  DiscoverFields(DiscoverOptions{}, &p);
  EXPECT_EQ(p.streams[0].labels, (Labels{{"app", "api"}, {"job", "x"}, {"service_name", "api"}}));
  EXPECT_EQ(p.streams[0].entries[0].metadata, R"({"detected_level":"error"})");
  EXPECT_EQ(p.streams[0].entries[1].metadata, R"({"trace_id":"t","detected_level":"unknown"})");
  EXPECT_EQ(p.streams[0].entries[2].metadata, R"({"detected_level":"debug"})");
  EXPECT_EQ(p.streams[1].labels, (Labels{{"host", "h"}, {"service_name", "unknown_service"}}));
  EXPECT_EQ(p.streams[1].entries[0].metadata, R"({"detected_level":"warn"})");

  Payload off = p;
  off.streams[1].labels = {{"host", "h"}};
  off.streams[1].entries[0].metadata.clear();
  DiscoverFields(DiscoverOptions{false, false}, &off);
  EXPECT_EQ(off.streams[1].labels, (Labels{{"host", "h"}}));
  EXPECT_EQ(off.streams[1].entries[0].metadata, "");
}

// The word rule written the plain way (lower-case a copy, then the first
// standalone occurrence of each word; the earliest wins, ties by list
// order), as DetectLevel's one-pass scan must answer.
std::string WordsReference(const std::string& line) {
  std::string lower(line);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto left = [&](size_t p) {
    if (p == 0) return true;
    char c = lower[p - 1];
    return std::string_view(" \t\n[({\"'=|").find(c) != std::string_view::npos;
  };
  auto right = [&](size_t p) {
    if (p >= lower.size()) return true;
    return std::string_view(" \t\n[]()\x7b}:,!\"'=|").find(lower[p]) != std::string_view::npos;
  };
  static const std::pair<std::string, std::string> kWords[] = {
      {"trace", "trace"}, {"debug", "debug"},  {"fatal", "fatal"}, {"critical", "critical"}, {"error", "error"},
      {"err", "error"},   {"warning", "warn"}, {"warn", "warn"},   {"info", "info"},
  };
  size_t best = std::string::npos;
  std::string guess = "unknown";
  for (const auto& [word, level] : kWords) {
    for (size_t p = lower.find(word); p != std::string::npos; p = lower.find(word, p + 1)) {
      if (left(p) && right(p + word.size())) {
        if (best == std::string::npos || p < best) best = p, guess = level;
        break;
      }
    }
  }
  return guess;
}

TEST(Discover, WordScanAgreesWithThePlainRuleOnRandomLines) {
  std::mt19937 rng(12);
  static const char* kParts[] = {"INFO", "info", "Warn", "WARNING", "warn", "err", "ERROR", "errors", "Error:",
                                 "debugger", "DEBUG", "trace", "Trace", "fatal", "CRITICAL", "inform", "x",
                                 " ", " ", " ", "[", "]", "(", ")", "{", "}", "\"", "'", "=", "|", ":", ",",
                                 "!", "\t", "-", "_", "/", "a", "\x1b[0m", "\xc3\xa9"};
  for (int i = 0; i < 40000; i++) {
    std::string line;
    // Short lines, and long ones whose words fall anywhere in and across the
    // 16-byte steps of the vector scan.
    const int n = static_cast<int>(i % 2 ? rng() % 12 : rng() % 60);
    for (int k = 0; k < n; k++) line += kParts[rng() % std::size(kParts)];
    SCOPED_TRACE(line);
    // No '=', no JSON, no level key: only the word rule decides.
    if (line.find('=') != std::string::npos || line.find('{') != std::string::npos) continue;
    EXPECT_EQ(DetectLevel({}, "", line), WordsReference(line));
  }
}

// A line whose only level key hides behind a JSON escape is still read.
TEST(Discover, EscapedJsonKeyIsStillALevelKey) {
  EXPECT_EQ(DetectLevel({}, "", R"({"le\u0076el":"warn","msg":"info here"})"), "warn");
  EXPECT_EQ(DetectLevel({}, "", R"({"msg":"no key, info word","n":1})"), "info");
  EXPECT_EQ(DetectLevel({}, "", "Level=Error x"), "error");
  EXPECT_EQ(DetectLevel({}, "", "ts=1 SEVERITY=warning x"), "warn");
}

}  // namespace
}  // namespace loge::ingest
