// Shared field mapping for the shipper formats (fields.h).
#include "ingest/fields.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>

#include "core/json_writer.h"

namespace loge::ingest {
namespace {

// Past this many keys a metadata object checks for duplicates with a hash
// set instead of a linear scan (hostile input with 10^5 attributes).
constexpr size_t kLinearKeyScan = 32;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; i++) {
    if (!IsDigit(s[i])) return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar.
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool ParseIsoTime(std::string_view s, int64_t* ns) {
  int y, mo, d;
  if (s.size() < 10 || !Digits(s, 0, 4, &y) || s[4] != '-' || !Digits(s, 5, 2, &mo) || s[7] != '-' ||
      !Digits(s, 8, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > 31) {
    return false;
  }
  int h = 0, mi = 0, sec = 0;
  int64_t frac = 0, offset_s = 0;
  size_t pos = 10;
  if (pos < s.size()) {
    if ((s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') || !Digits(s, pos + 1, 2, &h) || pos + 3 >= s.size() ||
        s[pos + 3] != ':' || !Digits(s, pos + 4, 2, &mi) || h > 23 || mi > 59) {
      return false;
    }
    pos += 6;
    if (pos < s.size() && s[pos] == ':') {
      if (!Digits(s, pos + 1, 2, &sec) || sec > 60) return false;
      pos += 3;
    }
    if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
      const size_t start = ++pos;
      int64_t scale = 100000000;
      while (pos < s.size() && IsDigit(s[pos])) {
        frac += (s[pos] - '0') * scale;
        scale /= 10;
        pos++;
      }
      if (pos == start) return false;
    }
    if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
      pos++;
    } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
      int oh = 0, om = 0;
      const size_t z = pos;
      if (!Digits(s, z + 1, 2, &oh)) return false;
      pos = z + 3;
      if (pos < s.size() && s[pos] == ':') pos++;
      if (pos < s.size()) {
        if (!Digits(s, pos, 2, &om)) return false;
        pos += 2;
      }
      if (oh > 23 || om > 59) return false;
      offset_s = (oh * 3600 + om * 60) * (s[z] == '-' ? -1 : 1);
    }
    if (pos != s.size()) return false;
  }
  const int64_t secs = DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_s;
  return !__builtin_mul_overflow(secs, int64_t{1000000000}, ns) && !__builtin_add_overflow(*ns, frac, ns);
}

}  // namespace

std::string NormalizeName(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 1);
  if (!name.empty() && IsDigit(name[0])) out.push_back('_');
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '_';
    out.push_back(ok ? c : '_');
  }
  return out;
}

Stream* StreamGrouper::For(Labels labels) {
  // Stable sort keeps the first of equal names first; drop the rest.
  std::stable_sort(labels.begin(), labels.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  Labels kept;
  kept.reserve(labels.size());
  for (auto& kv : labels) {
    if (kv.second.empty() || (!kept.empty() && kept.back().first == kv.first)) continue;
    kept.push_back(std::move(kv));
  }
  if (kept.empty()) kept.emplace_back("service_name", std::string(kUnknownService));
  key_.clear();
  for (const auto& [n, v] : kept) {
    key_ += n;
    key_.push_back('\0');
    key_ += v;
    key_.push_back('\0');
  }
  auto [it, inserted] = index_.try_emplace(key_, out_->streams.size());
  if (inserted) out_->streams.emplace_back().labels = std::move(kept);
  return &out_->streams[it->second];
}

Stream* StreamGrouper::For(std::vector<std::pair<std::string_view, std::string_view>>* labels) {
  auto& v = *labels;
  std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  key_.clear();
  std::string_view last;
  bool any = false;
  for (const auto& [n, val] : v) {
    if (val.empty() || (any && n == last)) continue;
    key_.append(n).push_back('\0');
    key_.append(val).push_back('\0');
    last = n;
    any = true;
  }
  if (!any) return For(Labels{});
  if (auto it = index_.find(key_); it != index_.end()) return &out_->streams[it->second];
  Labels owned;
  for (const auto& [n, val] : v) owned.emplace_back(n, val);
  return For(std::move(owned));
}

void MetadataBuilder::Add(std::string_view key, std::string_view value) {
  if (key.empty() || value.empty() || Has(key)) return;
  json_.push_back(json_.empty() ? '{' : ',');
  JsonWriter::Escape(key, &json_);
  keys_.emplace_back(static_cast<uint32_t>(json_.size() - key.size() - 1), static_cast<uint32_t>(key.size()));
  json_.push_back(':');
  JsonWriter::Escape(value, &json_);
  if (keys_.size() == kLinearKeyScan + 1) {
    for (const auto& [off, len] : keys_) many_.emplace(json_, off, len);
  } else if (keys_.size() > kLinearKeyScan + 1) {
    many_.emplace(key);
  }
}

bool MetadataBuilder::Has(std::string_view key) const {
  if (keys_.size() > kLinearKeyScan) return many_.count(std::string(key)) != 0;
  for (const auto& [off, len] : keys_) {
    if (std::string_view(json_).substr(off, len) == key) return true;
  }
  return false;
}

bool NumberToLogTime(double v, int64_t* ns) {
  if (!std::isfinite(v) || v < 0) return false;
  double scaled;
  if (v < 1e10) {
    scaled = v * 1e9;
  } else if (v < 1e13) {
    scaled = v * 1e6;
  } else if (v < 1e16) {
    scaled = v * 1e3;
  } else {
    scaled = v;
  }
  if (scaled >= 9.2e18) return false;
  *ns = static_cast<int64_t>(std::llround(scaled));
  return true;
}

bool ParseLogTime(std::string_view text, int64_t* ns) {
  if (text.empty()) return false;
  if (text.size() >= 10 && text[4] == '-') return ParseIsoTime(text, ns);
  // A number, read exactly: integer digits, then up to 9 fraction digits.
  const size_t dot = text.find('.');
  const std::string_view int_part = text.substr(0, dot);
  const std::string_view frac_part = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  int64_t iv = 0;
  auto [end, ec] = std::from_chars(int_part.data(), int_part.data() + int_part.size(), iv);
  if (int_part.empty() || ec != std::errc() || end != int_part.data() + int_part.size() || iv < 0) return false;
  if (dot != std::string_view::npos && frac_part.empty()) return false;
  for (char c : frac_part) {
    if (!IsDigit(c)) return false;
  }
  // The unit by magnitude; `digits` fraction digits still count at that unit.
  int64_t mul;
  size_t digits;
  if (iv < 10'000'000'000) {
    mul = 1'000'000'000, digits = 9;
  } else if (iv < 10'000'000'000'000) {
    mul = 1'000'000, digits = 6;
  } else if (iv < 10'000'000'000'000'000) {
    mul = 1'000, digits = 3;
  } else {
    mul = 1, digits = 0;
  }
  int64_t frac = 0;
  for (size_t i = 0; i < digits; i++) frac = frac * 10 + (i < frac_part.size() ? frac_part[i] - '0' : 0);
  return !__builtin_mul_overflow(iv, mul, ns) && !__builtin_add_overflow(*ns, frac, ns);
}

std::string HexEncode(std::string_view bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::string Base64Encode(std::string_view bytes) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = static_cast<uint8_t>(bytes[i]) << 16 | static_cast<uint8_t>(bytes[i + 1]) << 8 |
                       static_cast<uint8_t>(bytes[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out.push_back(kAlphabet[(v >> k) & 63]);
  }
  if (i < bytes.size()) {
    uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::string FormatDouble(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[400];  // fixed notation of DBL_MAX is 309 digits
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  if (ec != std::errc()) return std::to_string(v);
  return std::string(buf, end);
}

}  // namespace loge::ingest
