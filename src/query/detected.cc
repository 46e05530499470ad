// Detected fields, field values and detected labels (detected.h).
#include "query/detected.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_map>

#include "query/pipeline.h"
#include "query/stages.h"

namespace loge::query {

namespace {

enum TypeBit : uint8_t { kIntBit = 1, kFloatBit = 2, kBoolBit = 4, kDurationBit = 8, kBytesBit = 16 };

// Go's strconv.ParseInt(s, 10, 64) succeeds.
bool IsGoInt(std::string_view s) {
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  if (s.empty() || s.size() > 19) {
    // 19 digits is the most an int64 holds; more overflow.
    return false;
  }
  if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  return s.size() < 19 || s <= "9223372036854775807" || s == "9223372036854775808";
}

// Go's strconv.ParseBool succeeds.
bool IsGoBool(std::string_view s) {
  static constexpr std::string_view kBools[] = {"1", "t", "T", "TRUE", "true", "True",
                                                "0", "f", "F", "FALSE", "false", "False"};
  return std::find(std::begin(kBools), std::end(kBools), s) != std::end(kBools);
}

// The JSON object or logfmt line's fields, as Loki's detected fields parse
// a line: json first; logfmt (neither strict nor keeping empty values) when
// json fails. Returns the parser that succeeded ("" when none).
std::string_view ParseLine(const Hit& h, LabelsBuilder* lb, JsonPaths* paths) {
  static const StagePtr kLogfmt = MakeLogfmtParser(false, false);
  lb->Reset(&h.stream, nullptr);
  paths->clear();
  ParseJsonWithPaths(h.line, lb, paths);
  if (!lb->HasErr()) return "json";
  lb->Reset(&h.stream, nullptr);
  paths->clear();
  PipelineLine line{h.line, {}};
  kLogfmt->Process(h.ts, &line, lb);
  if (lb->HasErr()) return "";
  return "logfmt";
}

bool IsErrorLabel(std::string_view name) {
  return name == kErrorLabel || name == kErrorDetailsLabel || name == kPreserveErrorLabel;
}

// Calls fn(name, value, parser, json path or null) for each field of one
// row: its metadata (parser ""), the labels its query's parsers added
// (parser ""), then what parsing its line finds.
template <typename Fn>
void ForEachField(const Hit& h, LabelsBuilder* lb, JsonPaths* paths, Fn&& fn) {
  for (const auto& [k, v] : h.structured) fn(k, v, std::string_view(), nullptr);
  for (const auto& [k, v] : h.parsed) {
    if (!IsErrorLabel(k)) fn(k, v, std::string_view(), nullptr);
  }
  std::string_view parser = ParseLine(h, lb, paths);
  if (parser.empty()) return;
  Labels stream, meta, parsed;
  lb->Categorized(&stream, &meta, &parsed);
  for (const auto& [k, v] : parsed) {
    if (IsErrorLabel(k)) continue;
    const std::vector<std::string>* path = nullptr;
    for (const auto& [name, keys] : *paths) {
      if (name == k) path = &keys;
    }
    fn(k, v, parser, path);
  }
}

// go-humanize's Bytes (SI units), without the space: 27033 -> "27kB".
std::string HumanizeBytes(uint64_t n) {
  if (n < 10) return std::to_string(n) + "B";
  static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  int e = static_cast<int>(std::floor(std::log(static_cast<double>(n)) / std::log(1000.0)));
  e = std::clamp(e, 0, 6);
  double val = std::floor(static_cast<double>(n) / std::pow(1000.0, e) * 10 + 0.5) / 10;
  char buf[64];
  std::snprintf(buf, sizeof buf, val < 10 ? "%.1f%s" : "%.0f%s", val, kUnits[e]);
  return buf;
}

// The byte-size units after which Loki rewrites a field value.
bool HasBytesUnit(std::string_view v) {
  static constexpr std::string_view kUnits[] = {"b",  "kib", "kb", "mib", "mb", "gib", "gb", "tib", "tb",
                                                "pib", "pb", "eib", "eb", "ki", "k",  "mi", "m",  "gi",
                                                "g",  "ti", "t",  "pi", "p",  "ei", "e"};
  std::string lower(v);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::any_of(std::begin(kUnits), std::end(kUnits), [&](std::string_view u) { return lower.ends_with(u); });
}

}  // namespace

const char* FieldTypeName(FieldType t) {
  switch (t) {
    case FieldType::kString: return "string";
    case FieldType::kInt: return "int";
    case FieldType::kFloat: return "float";
    case FieldType::kBoolean: return "boolean";
    case FieldType::kDuration: return "duration";
    case FieldType::kBytes: return "bytes";
  }
  return "string";
}

void FieldTypeSet::Add(std::string_view v) {
  if ((fits_ & kIntBit) && !IsGoInt(v)) fits_ &= ~kIntBit;
  if ((fits_ & kFloatBit) && !ParseGoFloat(v).ok()) fits_ &= ~kFloatBit;
  if ((fits_ & kBoolBit) && !IsGoBool(v)) fits_ &= ~kBoolBit;
  if ((fits_ & kDurationBit) && !ParseGoDuration(v).ok()) fits_ &= ~kDurationBit;
  if ((fits_ & kBytesBit) && !ParseHumanBytes(v).ok()) fits_ &= ~kBytesBit;
}

FieldType FieldTypeSet::Type() const {
  if (fits_ & kIntBit) return FieldType::kInt;
  if (fits_ & kFloatBit) return FieldType::kFloat;
  if (fits_ & kBoolBit) return FieldType::kBoolean;
  if (fits_ & kDurationBit) return FieldType::kDuration;
  if (fits_ & kBytesBit) return FieldType::kBytes;
  return FieldType::kString;
}

std::vector<DetectedField> DetectFields(const std::vector<Hit>& hits, size_t limit) {
  struct Acc {
    std::set<std::string> values;
    FieldTypeSet types;
    bool json = false, logfmt = false;
    std::vector<std::string> json_path;
  };
  std::unordered_map<std::string, Acc> fields;
  LabelsBuilder lb;
  JsonPaths paths;
  for (const auto& h : hits) {
    ForEachField(h, &lb, &paths, [&](const std::string& name, const std::string& value, std::string_view parser,
                                     const std::vector<std::string>* path) {
      auto it = fields.find(name);
      if (it == fields.end()) {
        if (fields.size() >= limit) return;
        it = fields.emplace(name, Acc{}).first;
      }
      Acc& a = it->second;
      a.values.insert(value);
      a.types.Add(value);
      if (parser == "json") a.json = true;
      if (parser == "logfmt") a.logfmt = true;
      if (path != nullptr) a.json_path = *path;
    });
  }
  std::vector<DetectedField> out;
  out.reserve(fields.size());
  for (auto& [name, a] : fields) {
    DetectedField f;
    f.label = name;
    f.type = a.types.Type();
    f.cardinality = a.values.size();
    if (a.json) f.parsers.emplace_back("json");
    if (a.logfmt) f.parsers.emplace_back("logfmt");
    f.json_path = std::move(a.json_path);
    out.push_back(std::move(f));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.label < b.label; });
  return out;
}

std::vector<std::string> DetectFieldValues(const std::vector<Hit>& hits, std::string_view name, size_t limit) {
  std::set<std::string> values;
  LabelsBuilder lb;
  JsonPaths paths;
  for (const auto& h : hits) {
    if (values.size() >= limit) break;
    ForEachField(h, &lb, &paths, [&](const std::string& k, const std::string& v, std::string_view parser,
                                     const std::vector<std::string>*) {
      if (k != name) return;
      if (!parser.empty() && HasBytesUnit(v)) {
        if (auto b = ParseHumanBytes(v); b.ok()) {
          values.insert(HumanizeBytes(*b));
          return;
        }
      }
      values.insert(v);
    });
  }
  return {values.begin(), values.end()};
}

bool IsUuid(std::string_view s) {
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); };
  if (s.size() == 32) return std::all_of(s.begin(), s.end(), hex);
  if (s.size() == 45 && s.starts_with("urn:uuid:")) {
    s.remove_prefix(9);
  } else if (s.size() == 38 && s.front() == '{' && s.back() == '}') {
    s = s.substr(1, 36);
  }
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); i++) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !hex(s[i])) return false;
  }
  return true;
}

std::vector<DetectedLabel> DetectLabels(const std::map<std::string, std::vector<std::string>>& values) {
  static const std::set<std::string, std::less<>> kStatic = {"cluster", "namespace", "instance", "pod"};
  auto all_ids = [](const std::vector<std::string>& vs) {
    return std::all_of(vs.begin(), vs.end(), [](const std::string& v) { return ParseGoFloat(v).ok() || IsUuid(v); });
  };
  auto reject = [&](const std::vector<std::string>& vs) {
    if (vs.empty()) return true;
    if (vs.size() <= 2 && std::all_of(vs.begin(), vs.end(), [](const std::string& v) { return v == "0" || v == "1"; })) {
      return false;
    }
    return all_ids(vs);
  };
  std::vector<DetectedLabel> out;
  for (const auto& [label, vs] : values) {
    if (vs.empty()) continue;
    if (!kStatic.contains(label) && reject(vs)) continue;
    std::set<std::string_view> distinct(vs.begin(), vs.end());
    out.push_back(DetectedLabel{label, distinct.size()});
  }
  return out;
}

}  // namespace loge::query
