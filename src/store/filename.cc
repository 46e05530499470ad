#include "store/filename.h"

#include <charconv>

namespace loge::store {

namespace {

constexpr std::string_view kFlushPrefix = "flush-";
constexpr std::string_view kSegmentPrefix = "segment-";
constexpr std::string_view kDataSuffix = ".sqlite.zst";
constexpr std::string_view kTempSuffix = ".tmp";
constexpr std::string_view kCorruptSuffix = ".corrupt";

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

template <typename T>
bool ParseNumber(std::string_view s, T* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string FlushFileName(uint64_t bucket, uint64_t seq) {
  return std::string(kFlushPrefix) + std::to_string(bucket) + "-" + std::to_string(seq) + std::string(kDataSuffix);
}

std::string SegmentFileName(int64_t min_ts, int64_t max_ts, uint64_t id) {
  return std::string(kSegmentPrefix) + std::to_string(min_ts) + "-" + std::to_string(max_ts) + "-" +
         std::to_string(id) + std::string(kDataSuffix);
}

std::string TempName(std::string_view name) { return std::string(name) + std::string(kTempSuffix); }
std::string ScratchName(std::string_view name) { return std::string(name) + ".scratch" + std::string(kTempSuffix); }
std::string FetchName(std::string_view name) { return std::string(name) + ".fetch" + std::string(kTempSuffix); }
std::string CorruptName(std::string_view name) { return std::string(name) + std::string(kCorruptSuffix); }

std::string QuarantineName(std::string_view name, int taken) {
  return taken == 0 ? std::string(name) : std::string(name) + "." + std::to_string(taken);
}

ParsedName ParseFileName(std::string_view name) {
  ParsedName p;
  if (EndsWith(name, kTempSuffix)) {
    p.type = FileType::kTemp;
    return p;
  }
  if (EndsWith(name, kCorruptSuffix)) {
    p.type = FileType::kCorrupt;
    return p;
  }
  if (!EndsWith(name, kDataSuffix)) return p;
  std::string_view mid = name.substr(0, name.size() - kDataSuffix.size());
  if (mid.substr(0, kFlushPrefix.size()) == kFlushPrefix) {
    mid.remove_prefix(kFlushPrefix.size());
    const size_t dash = mid.find('-');
    if (dash == std::string_view::npos) return p;
    if (!ParseNumber(mid.substr(0, dash), &p.bucket) || !ParseNumber(mid.substr(dash + 1), &p.seq)) return p;
    p.type = FileType::kFlush;
    return p;
  }
  if (mid.substr(0, kSegmentPrefix.size()) == kSegmentPrefix) {
    mid.remove_prefix(kSegmentPrefix.size());
    // <minTs>-<maxTs>-<id>; timestamps may be negative ("-5"), so split from
    // the right.
    const size_t d2 = mid.rfind('-');
    if (d2 == std::string_view::npos || d2 == 0) return p;
    if (!ParseNumber(mid.substr(d2 + 1), &p.id)) return p;
    std::string_view ts = mid.substr(0, d2);
    // The dash between the bounds is the first one not at the start and not
    // directly after another dash.
    for (size_t i = 1; i < ts.size(); i++) {
      if (ts[i] == '-' && ts[i - 1] != '-') {
        if (ParseNumber(ts.substr(0, i), &p.min_ts) && ParseNumber(ts.substr(i + 1), &p.max_ts)) {
          p.type = FileType::kSegment;
          return p;
        }
      }
    }
    return p;
  }
  return p;
}

}  // namespace loge::store
