#include "tier/segment_key.h"

#include <cstdio>
#include <random>

#include "core/time.h"

namespace loge::tier {

namespace {

constexpr std::string_view kSegmentPrefix = "segment-";
constexpr std::string_view kSuffix = ".sqlite.zst";
constexpr size_t kMaxNodeIdLength = 64;

// Reads an optionally negative decimal int64 up to the next '-' that is not
// its sign; advances *s past it.
bool TakeInt(std::string_view* s, int64_t* out) {
  size_t end = s->empty() ? 0 : s->find('-', (*s)[0] == '-' ? 1 : 0);
  std::string_view num = s->substr(0, end);
  if (num.empty() || !ParseInt64(num, out)) return false;
  *s = end == std::string_view::npos ? std::string_view() : s->substr(end);
  return true;
}

}  // namespace

std::string SegmentKey(std::string_view node_id, std::string_view file_name) {
  std::string k(node_id);
  k.push_back('/');
  k.append(file_name);
  return k;
}

bool ParseSegmentName(std::string_view name, int64_t* min_ts, int64_t* max_ts, int64_t* id) {
  if (!name.starts_with(kSegmentPrefix) || !name.ends_with(kSuffix)) return false;
  std::string_view s = name.substr(kSegmentPrefix.size(), name.size() - kSegmentPrefix.size() - kSuffix.size());
  if (!TakeInt(&s, min_ts) || !s.starts_with('-')) return false;
  s.remove_prefix(1);
  if (!TakeInt(&s, max_ts) || !s.starts_with('-')) return false;
  s.remove_prefix(1);
  if (s.empty() || s[0] == '-' || !ParseInt64(s, id)) return false;
  return *min_ts <= *max_ts;
}

bool ParseSegmentKey(std::string_view key, SegmentKeyInfo* out) {
  size_t slash = key.find('/');
  if (slash == std::string_view::npos) return false;
  std::string_view node = key.substr(0, slash), name = key.substr(slash + 1);
  if (!ValidateNodeId(node).ok() || name.find('/') != std::string_view::npos) return false;
  if (!ParseSegmentName(name, &out->min_ts, &out->max_ts, &out->id)) return false;
  out->node_id = std::string(node);
  out->name = std::string(name);
  return true;
}

Status ValidateNodeId(std::string_view id) {
  if (id.empty() || id.size() > kMaxNodeIdLength) {
    return Status::InvalidArgument("--node-id must be 1-64 characters long");
  }
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return Status::InvalidArgument("--node-id may contain only A-Z a-z 0-9 _ -: '" + std::string(id) + "'");
  }
  return Status::OK();
}

std::string RandomNodeId() {
  std::random_device rd;
  uint64_t v = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace loge::tier
