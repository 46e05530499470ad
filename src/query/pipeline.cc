// LabelsBuilder (Loki's label precedence during a pipeline) and the value
// parsers label filters and unwrap share.
#include "query/pipeline.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "query/metadata_json.h"

namespace loge::query {

namespace {

template <typename V>
const std::pair<std::string, std::string>* FindIn(const V& v, std::string_view name) {
  for (const auto& kv : v) {
    if (kv.first == name) return &kv;
  }
  return nullptr;
}

void EraseName(std::vector<std::pair<std::string, std::string>>* v, std::string_view name) {
  std::erase_if(*v, [&](const auto& kv) { return kv.first == name; });
}

}  // namespace

bool ParserHints::ShouldExtract(std::string_view key) const {
  if (required.empty()) return true;
  return std::find(required.begin(), required.end(), key) != required.end();
}

bool ParserHints::ShouldExtractPrefix(std::string_view prefix) const {
  if (required.empty()) return true;
  for (const auto& r : required) {
    if (std::string_view(r).starts_with(prefix)) return true;
  }
  return false;
}

void LabelsBuilder::Reset(const Labels* stream, const ParserHints* hints) {
  static const ParserHints kNone;
  base_ = stream;
  hints_ = hints != nullptr ? hints : &kNone;
  for (auto& a : add_) a.clear();
  del_.clear();
  extracted_.clear();
  err_.clear();
  err_details_.clear();
}

void LabelsBuilder::AddMetadata(std::string_view json) {
  if (json.empty()) return;
  ForEachMetadata(json, [&](std::string_view k, std::string_view v) {
    std::string name(k);
    if (BaseHas(name)) name += kExtractedSuffix;
    if (name == kErrorLabel) {
      err_.assign(v);
    } else if (name == kErrorDetailsLabel) {
      err_details_.assign(v);
    } else {
      Set(LabelCategory::kMetadata, name, v);
    }
  });
}

bool LabelsBuilder::BaseHas(std::string_view name) const {
  if (base_ == nullptr) return false;
  auto it = std::lower_bound(base_->begin(), base_->end(), name,
                             [](const auto& kv, std::string_view n) { return kv.first < n; });
  return it != base_->end() && it->first == name;
}

bool LabelsBuilder::HasIn(LabelCategory c, std::string_view name) const {
  return FindIn(add_[static_cast<int>(c)], name) != nullptr;
}

std::optional<std::string_view> LabelsBuilder::Get(std::string_view name) const {
  for (const auto& a : add_) {
    if (const auto* kv = FindIn(a, name)) return std::string_view(kv->second);
  }
  if (std::find(del_.begin(), del_.end(), name) != del_.end()) return std::nullopt;
  if (base_ == nullptr) return std::nullopt;
  auto it = std::lower_bound(base_->begin(), base_->end(), name,
                             [](const auto& kv, std::string_view n) { return kv.first < n; });
  if (it != base_->end() && it->first == name && !it->second.empty()) return std::string_view(it->second);
  return std::nullopt;
}

void LabelsBuilder::Set(LabelCategory c, std::string_view name, std::string_view value) {
  auto& stream = add_[0];
  auto& meta = add_[1];
  auto& parsed = add_[2];
  if (c == LabelCategory::kParsed) {
    EraseName(&meta, name);
    EraseName(&stream, name);
  } else if (c == LabelCategory::kMetadata) {
    EraseName(&stream, name);
    if (FindIn(parsed, name) != nullptr) return;
  } else if (FindIn(meta, name) != nullptr || FindIn(parsed, name) != nullptr) {
    return;
  }
  auto& into = add_[static_cast<int>(c)];
  for (auto& kv : into) {
    if (kv.first == name) {
      kv.second.assign(value);
      return;
    }
  }
  into.emplace_back(std::string(name), std::string(value));
  if (c == LabelCategory::kParsed && std::find(extracted_.begin(), extracted_.end(), name) == extracted_.end()) {
    extracted_.emplace_back(name);
  }
}

void LabelsBuilder::Del(std::string_view name) {
  for (auto& a : add_) EraseName(&a, name);
  del_.emplace_back(name);
}

void LabelsBuilder::AddError(std::string_view err, std::string_view details) {
  err_.assign(err);
  if (!details.empty()) err_details_.assign(details);
  if (hints_->preserve_error) Set(LabelCategory::kParsed, kPreserveErrorLabel, "true");
}

bool LabelsBuilder::Extracted(std::string_view key) const {
  return std::find(extracted_.begin(), extracted_.end(), key) != extracted_.end();
}

bool LabelsBuilder::AllRequiredExtracted() const {
  const auto& req = hints_->required;
  if (req.empty() || extracted_.size() < req.size()) return false;
  for (const auto& r : req) {
    if (!Extracted(r)) return false;
  }
  return true;
}

bool LabelsBuilder::Unchanged() const {
  return del_.empty() && add_[0].empty() && add_[1].empty() && add_[2].empty() && err_.empty() &&
         err_details_.empty();
}

void LabelsBuilder::Categorized(Labels* stream, Labels* metadata, Labels* parsed) const {
  stream->clear();
  metadata->clear();
  parsed->clear();
  if (base_ != nullptr) {
    for (const auto& [k, v] : *base_) {
      if (std::find(del_.begin(), del_.end(), k) != del_.end()) continue;
      if (FindIn(add_[1], k) != nullptr || FindIn(add_[2], k) != nullptr) continue;
      if (const auto* kv = FindIn(add_[0], k)) {
        stream->emplace_back(k, kv->second);
      } else {
        stream->emplace_back(k, v);
      }
    }
  }
  for (const auto& kv : add_[1]) {
    if (FindIn(add_[2], kv.first) == nullptr) metadata->push_back(kv);
  }
  for (const auto& kv : add_[2]) parsed->push_back(kv);
  if (!err_.empty()) parsed->emplace_back(std::string(kErrorLabel), err_);
  if (!err_details_.empty()) parsed->emplace_back(std::string(kErrorDetailsLabel), err_details_);
  std::sort(metadata->begin(), metadata->end());
  std::sort(parsed->begin(), parsed->end());
}

Labels LabelsBuilder::All() const {
  Labels s, m, p;
  Categorized(&s, &m, &p);
  s.insert(s.end(), m.begin(), m.end());
  s.insert(s.end(), p.begin(), p.end());
  std::sort(s.begin(), s.end());
  // A name can only repeat through the parsed error labels; keep the last.
  s.erase(std::unique(s.begin(), s.end(), [](const auto& a, const auto& b) { return a.first == b.first; }),
          s.end());
  return s;
}

Labels LabelsBuilder::Grouped(const std::vector<std::string>& groups, bool without, bool no_labels) const {
  if (HasErr()) return All();
  if (no_labels) return {};
  if (groups.empty() && !without) return All();
  Labels all = All();
  Labels out;
  for (auto& kv : all) {
    bool listed = std::find(groups.begin(), groups.end(), kv.first) != groups.end();
    if (listed != without) out.push_back(std::move(kv));
  }
  return out;
}

Result<int64_t> ParseGoDuration(std::string_view orig) {
  // Go's time.ParseDuration: [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+, units ns us µs ms s m h.
  std::string_view s = orig;
  auto bad = [&] { return Status::InvalidArgument("time: invalid duration \"" + std::string(orig) + "\""); };
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return int64_t{0};
  if (s.empty()) return bad();
  long double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    long double v = 0;
    bool digits = false;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      v = v * 10 + (s[i] - '0');
      i++;
      digits = true;
    }
    if (i < s.size() && s[i] == '.') {
      i++;
      long double scale = 0.1L;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        v += (s[i] - '0') * scale;
        scale /= 10;
        i++;
        digits = true;
      }
    }
    if (!digits) return bad();
    size_t u = i;
    while (u < s.size() && s[u] != '.' && !(s[u] >= '0' && s[u] <= '9')) u++;
    std::string_view unit = s.substr(i, u - i);
    if (unit.empty()) return Status::InvalidArgument("time: missing unit in duration \"" + std::string(orig) + "\"");
    long double mult;
    if (unit == "ns") {
      mult = 1;
    } else if (unit == "us" || unit == "\xc2\xb5s" || unit == "\xce\xbcs") {
      mult = 1e3L;
    } else if (unit == "ms") {
      mult = 1e6L;
    } else if (unit == "s") {
      mult = 1e9L;
    } else if (unit == "m") {
      mult = 60e9L;
    } else if (unit == "h") {
      mult = 3600e9L;
    } else {
      return Status::InvalidArgument("time: unknown unit \"" + std::string(unit) + "\" in duration \"" +
                                     std::string(orig) + "\"");
    }
    total += v * mult;
    s.remove_prefix(u);
  }
  if (total > 9.223372036854775807e18L) return bad();
  int64_t ns = static_cast<int64_t>(std::llround(static_cast<double>(total)));
  // Exact integer arithmetic for the common whole-number cases.
  if (total == std::floor(total)) ns = static_cast<int64_t>(total);
  return neg ? -ns : ns;
}

Result<uint64_t> ParseHumanBytes(std::string_view s) {
  auto bad = [&] { return Status::InvalidArgument("strconv.ParseFloat: parsing \"" + std::string(s) + "\": invalid syntax"); };
  size_t last_digit = 0;
  for (size_t i = 0; i < s.size(); i++) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || c == '.' || c == ',')) break;
    last_digit = i + 1;
  }
  std::string num;
  for (char c : s.substr(0, last_digit)) {
    if (c != ',') num.push_back(c);
  }
  std::string unit(s.substr(last_digit));
  while (!unit.empty() && unit.front() == ' ') unit.erase(unit.begin());
  while (!unit.empty() && unit.back() == ' ') unit.pop_back();
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (num.empty()) return bad();
  char* end = nullptr;
  errno = 0;
  double f = std::strtod(num.c_str(), &end);
  if (end != num.c_str() + num.size()) return bad();
  static const std::pair<const char*, double> kUnits[] = {
      {"", 1},          {"b", 1},           {"kib", 1024.0},    {"kb", 1e3},      {"mib", 1048576.0},
      {"mb", 1e6},      {"gib", 1073741824.0}, {"gb", 1e9},     {"tib", 1099511627776.0}, {"tb", 1e12},
      {"pib", 1125899906842624.0}, {"pb", 1e15}, {"eib", 1152921504606846976.0}, {"eb", 1e18},
      {"ki", 1024.0},   {"k", 1e3},         {"mi", 1048576.0},  {"m", 1e6},       {"gi", 1073741824.0},
      {"g", 1e9},       {"ti", 1099511627776.0}, {"t", 1e12},   {"pi", 1125899906842624.0}, {"p", 1e15},
      {"ei", 1152921504606846976.0}, {"e", 1e18},
  };
  for (const auto& [name, mult] : kUnits) {
    if (unit == name) {
      double v = f * mult;
      if (v >= 18446744073709551615.0) return Status::InvalidArgument("too large: " + std::string(s));
      return static_cast<uint64_t>(v);
    }
  }
  return Status::InvalidArgument("unhandled size name: " + unit);
}

Result<double> ParseGoFloat(std::string_view s) {
  auto bad = [&] { return Status::InvalidArgument("strconv.ParseFloat: parsing \"" + std::string(s) + "\": invalid syntax"); };
  if (s.empty()) return bad();
  std::string t(s);
  // Go accepts underscores only with a base prefix; strtod accepts things Go
  // does not (leading spaces, "infinity" spellings are fine in both).
  if (std::isspace(static_cast<unsigned char>(t[0]))) return bad();
  std::string lower = t;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view body = lower;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) body.remove_prefix(1);
  if (body == "inf" || body == "infinity") return lower[0] == '-' ? -HUGE_VAL : HUGE_VAL;
  if (body == "nan") return std::nan("");
  if (body.empty() || !(std::isdigit(static_cast<unsigned char>(body[0])) || body[0] == '.')) return bad();
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size()) return bad();
  if (errno == ERANGE && std::isinf(v)) {
    return Status::InvalidArgument("strconv.ParseFloat: parsing \"" + std::string(s) + "\": value out of range");
  }
  return v;
}

}  // namespace loge::query
