#include "ingest/discover.h"

#include <algorithm>
#include <array>
#include <bit>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/json_writer.h"
#include "query/json_walk.h"
#include "query/metadata_json.h"

namespace loge::ingest {

namespace {

// Loki's discover_service_name default.
constexpr std::string_view kServiceLabels[] = {
    "service", "app", "application", "app_name", "name", "app_kubernetes_io_name", "container",
    "container_name", "k8s_container_name", "component", "workload", "job", "k8s_job_name",
};
// Loki's log_level_fields default.
constexpr std::string_view kLevelFields[] = {
    "level", "LEVEL", "Level", "log.level", "severity", "SEVERITY", "Severity", "SeverityText",
    "lvl", "LVL", "Lvl", "severity_text", "Severity_Text", "SEVERITY_TEXT",
};
constexpr std::string_view kServiceName = "service_name";
constexpr std::string_view kDetectedLevel = "detected_level";

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c | 0x20) : c; }

// ASCII case-insensitive equality (level names and keys are ASCII).
bool EqualFold(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

// The standard name of a level word, or "" when it is none.
std::string_view Known(std::string_view v) {
  if (EqualFold(v, "trace") || EqualFold(v, "trc")) return "trace";
  if (EqualFold(v, "debug") || EqualFold(v, "dbg")) return "debug";
  if (EqualFold(v, "info") || EqualFold(v, "inf") || EqualFold(v, "information")) return "info";
  if (EqualFold(v, "warn") || EqualFold(v, "wrn") || EqualFold(v, "warning")) return "warn";
  if (EqualFold(v, "error") || EqualFold(v, "err")) return "error";
  if (EqualFold(v, "critical")) return "critical";
  if (EqualFold(v, "fatal")) return "fatal";
  return {};
}

std::string Normalize(std::string_view v) {
  std::string_view k = Known(v);
  return std::string(k.empty() ? v : k);
}

// Byte classes of the word rule (Loki's detectLevelFromLogLine): a level
// word stands alone when the byte before it is a left boundary (or it starts
// the line) and the byte after it a right boundary (or it ends the line).
constexpr uint8_t kLeft = 1, kRight = 2, kStart = 4;

constexpr std::array<uint8_t, 256> MakeClasses() {
  std::array<uint8_t, 256> t{};
  for (unsigned char c : std::string_view(" \t\n[({\"'=|")) t[c] |= kLeft;
  for (unsigned char c : std::string_view(" \t\n[]()\x7b}:,!\"'=|")) t[c] |= kRight;
  for (unsigned char c : std::string_view("tdfcewiTDFCEWI")) t[c] |= kStart;
  return t;
}
constexpr std::array<uint8_t, 256> kClass = MakeClasses();

// Whether line[p, p + word.size()) spells word in any case.
bool SpellsAt(std::string_view line, size_t p, std::string_view word) {
  return p + word.size() <= line.size() && EqualFold(line.substr(p, word.size()), word);
}

// The level of the word standing alone at p, or "".
std::string_view WordAt(std::string_view line, size_t p) {
  auto is = [&](std::string_view w) {
    return SpellsAt(line, p, w) && (p + w.size() == line.size() || (kClass[static_cast<unsigned char>(line[p + w.size()])] & kRight));
  };
  switch (Lower(line[p])) {
    case 't': return is("trace") ? "trace" : "";
    case 'd': return is("debug") ? "debug" : "";
    case 'f': return is("fatal") ? "fatal" : "";
    case 'c': return is("critical") ? "critical" : "";
    case 'e': return is("error") || is("err") ? "error" : "";
    case 'w': return is("warning") || is("warn") ? "warn" : "";
    case 'i': return is("info") ? "info" : "";
    default: return "";
  }
}

// Where a level word may start: a byte of kStart after a left boundary (or
// at the line's start). Every such position is tried in order, so the first
// match is the earliest: no two words can both stand alone at one position
// ("err" inside "error" has no right boundary), as a search per word would
// find it.
std::string_view FromWordsScalar(std::string_view line, size_t from) {
  bool after_left = from == 0 || (kClass[static_cast<unsigned char>(line[from - 1])] & kLeft);
  for (size_t p = from; p < line.size(); p++) {
    const uint8_t c = kClass[static_cast<unsigned char>(line[p])];
    if (after_left && (c & kStart)) {
      std::string_view level = WordAt(line, p);
      if (!level.empty()) return level;
    }
    after_left = c & kLeft;
  }
  return "unknown";
}

#if defined(__SSE2__)
// 16 bytes at a time: a bit per position where a word may start, from byte
// compares (SSE2 is in every x86-64). Every pushed line without a level field
// comes through here, most of them without any level word, so the scan is
// what it costs: a byte-table loop took ~9% of the ingest path's CPU.
uint32_t StartCandidates(const char* cur) {
  const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(cur));
  const __m128i prev = _mm_loadu_si128(reinterpret_cast<const __m128i*>(cur - 1));
  const __m128i lower = _mm_or_si128(c, _mm_set1_epi8(0x20));  // only letters can fold onto the letters below
  __m128i start = _mm_setzero_si128();
  for (char w : std::string_view("tdfcewi")) start = _mm_or_si128(start, _mm_cmpeq_epi8(lower, _mm_set1_epi8(w)));
  __m128i left = _mm_setzero_si128();
  for (char b : std::string_view(" \t\n[({\"'=|")) left = _mm_or_si128(left, _mm_cmpeq_epi8(prev, _mm_set1_epi8(b)));
  return static_cast<uint32_t>(_mm_movemask_epi8(_mm_and_si128(start, left)));
}
#endif

// The first level word standing alone in the line, else "unknown".
std::string_view FromWords(std::string_view line) {
  size_t p = 0;
#if defined(__SSE2__)
  if (line.empty()) return "unknown";
  if (kClass[static_cast<unsigned char>(line[0])] & kStart) {  // the line's start is a left boundary
    std::string_view level = WordAt(line, 0);
    if (!level.empty()) return level;
  }
  for (p = 1; p + 16 <= line.size(); p += 16) {
    for (uint32_t m = StartCandidates(line.data() + p); m != 0; m &= m - 1) {
      std::string_view level = WordAt(line, p + static_cast<size_t>(std::countr_zero(m)));
      if (!level.empty()) return level;
    }
  }
#endif
  return FromWordsScalar(line, p);
}

// False only when no key of kLevelFields can be in the line: each holds
// "lvl", "level" or "severity" in some case, all with a 'v' at offset 1 or 2
// (found with memchr, rare in text). A backslash may hide a key behind JSON
// escapes: then true.
bool MayNameALevel(std::string_view line) {
  if (line.find('\\') != std::string_view::npos) return true;
  for (char v : {'v', 'V'}) {
    for (size_t p = line.find(v); p != std::string_view::npos; p = line.find(v, p + 1)) {
      if (p >= 1 && SpellsAt(line, p - 1, "lvl")) return true;
      if (p >= 2 && (SpellsAt(line, p - 2, "level") || SpellsAt(line, p - 2, "severity"))) return true;
    }
  }
  return false;
}

bool IsJsonLine(std::string_view s) {
  size_t a = s.find_first_not_of(" \t\r\n\v\f");
  size_t b = s.find_last_not_of(" \t\r\n\v\f");
  return a != std::string_view::npos && s[a] == '{' && s[b] == '}';
}

// A string field named like a level, at any depth (Loki's getLevelUsingJSONParser).
bool JsonLevel(std::string_view obj, std::string* out) {
  bool found = false;
  query::json_walk::ObjectEach(obj, [&](std::string_view key, const query::json_walk::Value& v) {
    if (v.type == query::json_walk::Type::kString) {
      for (auto f : kLevelFields) {
        if (key == f) {
          out->assign(v.raw);
          found = true;
          return false;
        }
      }
    } else if (v.type == query::json_walk::Type::kObject) {
      if (JsonLevel(v.raw, out)) {
        found = true;
        return false;
      }
    }
    return true;
  });
  return found;
}

// The value of the best-ranked level key among the line's logfmt pairs.
bool LogfmtLevel(std::string_view line, std::string* out) {
  size_t rank = std::size(kLevelFields);
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && static_cast<unsigned char>(line[i]) <= ' ') i++;
    size_t ks = i;
    while (i < line.size() && line[i] != '=' && static_cast<unsigned char>(line[i]) > ' ' && line[i] != '"') i++;
    if (i >= line.size() || line[i] != '=') {
      // A key without a value, or garbage: Loki's scan stops at a bad pair.
      if (i < line.size() && line[i] == '"') return rank < std::size(kLevelFields);
      continue;
    }
    std::string_view key = line.substr(ks, i - ks);
    i++;
    std::string value;
    if (i < line.size() && line[i] == '"') {
      size_t j = i + 1;
      bool esc = false;
      while (j < line.size() && (esc || line[j] != '"')) {
        esc = !esc && line[j] == '\\';
        if (!esc || line[j] != '\\') value.push_back(line[j]);
        j++;
      }
      if (j >= line.size()) return rank < std::size(kLevelFields);
      i = j + 1;
    } else {
      size_t vs = i;
      while (i < line.size() && static_cast<unsigned char>(line[i]) > ' ') {
        if (line[i] == '=' || line[i] == '"') return rank < std::size(kLevelFields);
        i++;
      }
      value.assign(line.substr(vs, i - vs));
    }
    for (size_t r = 0; r < rank; r++) {
      if (EqualFold(key, kLevelFields[r])) {
        *out = value;
        rank = r;
        if (r == 0) return true;
        break;
      }
    }
  }
  return rank < std::size(kLevelFields);
}

std::string FromLine(std::string_view line) {
  std::string v;
  bool found = false;
  if (MayNameALevel(line)) {  // else neither parse could find a level key
    if (IsJsonLine(line)) {
      found = JsonLevel(line, &v);
    } else if (line.find('=') != std::string_view::npos) {
      found = LogfmtLevel(line, &v);
    }
  }
  std::string_view k = found ? Known(v) : std::string_view();
  return std::string(k.empty() ? FromWords(line) : k);
}

void AddMetadata(std::string* meta, std::string_view key, std::string_view value) {
  size_t close = meta->find_last_of('}');
  if (meta->empty() || close == std::string::npos) {  // the common case: one allocation
    meta->clear();
    meta->reserve(key.size() + value.size() + 8);
    meta->push_back('{');
    JsonWriter::Escape(key, meta);
    meta->push_back(':');
    JsonWriter::Escape(value, meta);
    meta->push_back('}');
    return;
  }
  std::string pair;
  JsonWriter::Escape(key, &pair);
  pair.push_back(':');
  JsonWriter::Escape(value, &pair);
  size_t open = meta->find('{');
  bool empty_obj = meta->find_first_not_of(" \t\r\n", open + 1) == close;
  meta->insert(close, empty_obj ? pair : "," + pair);
}

}  // namespace

std::span<const std::string_view> ServiceNameLabels() { return kServiceLabels; }
std::span<const std::string_view> LogLevelFields() { return kLevelFields; }

std::string DetectLevel(const Labels& stream, std::string_view metadata, std::string_view line) {
  for (auto f : kLevelFields) {
    for (const auto& [k, v] : stream) {
      if (k == f) return Normalize(v);
    }
  }
  std::string meta_level;
  bool have = false;
  std::string severity_number;
  if (!metadata.empty()) {
    for (auto f : kLevelFields) {
      std::string scratch;
      if (query::FindMetadata(metadata, f, &scratch, &meta_level)) {
        have = true;
        break;
      }
    }
    std::string scratch;
    query::FindMetadata(metadata, "severity_number", &scratch, &severity_number);
  }
  if (have) return Normalize(meta_level);
  if (!severity_number.empty()) {
    char* end = nullptr;
    long n = std::strtol(severity_number.c_str(), &end, 10);
    if (end != severity_number.c_str() + severity_number.size()) return "info";
    if (n == 0) return "unknown";
    if (n <= 4) return "trace";
    if (n <= 8) return "debug";
    if (n <= 12) return "info";
    if (n <= 16) return "warn";
    if (n <= 20) return "error";
    if (n <= 24) return "fatal";
    return "unknown";
  }
  return FromLine(line);
}

void DiscoverFields(const DiscoverOptions& opts, Payload* p) {
  for (auto& s : p->streams) {
    if (opts.service_name) {
      bool has = false, aggregated = false;
      for (const auto& [k, v] : s.labels) {
        has = has || k == kServiceName;
        aggregated = aggregated || k == "__aggregated_metric__";
      }
      if (!has && !aggregated) {
        std::string value = "unknown_service";
        for (auto name : kServiceLabels) {
          auto it = std::find_if(s.labels.begin(), s.labels.end(), [&](const auto& kv) { return kv.first == name; });
          if (it != s.labels.end()) {
            value = it->second;
            break;
          }
        }
        auto at = std::lower_bound(s.labels.begin(), s.labels.end(), kServiceName,
                                   [](const auto& kv, std::string_view n) { return kv.first < n; });
        s.labels.insert(at, {std::string(kServiceName), value});
      }
    }
    if (!opts.log_levels) continue;
    for (auto& e : s.entries) {
      std::string existing, scratch;
      if (!e.metadata.empty() && query::FindMetadata(e.metadata, kDetectedLevel, &scratch, &existing)) continue;
      AddMetadata(&e.metadata, kDetectedLevel, DetectLevel(s.labels, e.metadata, e.line));
    }
  }
}

}  // namespace loge::ingest
