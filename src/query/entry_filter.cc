// Query::MatchesEntry: label filter stages over an entry's structured
// metadata and its stream's labels.
//
// The metadata is the flat JSON object the push decoders write
// ({"trace_id":"abc"}), kept as text in the head and in segment blocks. It is
// scanned in place per filter, without building a DOM: the objects are a few
// dozen bytes and queries carry one or two filters, so a scan beats a parser
// that would copy and pad the text first.
#include <algorithm>
#include <cstdint>

#include "query/engine.h"

#include "core/utf8.h"

namespace loge::query {
namespace {

// Loki's suffix for a parsed or metadata label that collides with a stream label.
constexpr std::string_view kExtractedSuffix = "_extracted";

void SkipSpace(std::string_view j, size_t* i) {
  while (*i < j.size() && (j[*i] == ' ' || j[*i] == '\t' || j[*i] == '\n' || j[*i] == '\r')) ++*i;
}



bool Read4Hex(std::string_view j, size_t at, uint32_t* v) {
  if (at + 4 > j.size()) return false;
  *v = 0;
  for (size_t k = 0; k < 4; k++) {
    int d = HexDigitValue(j[at + k]);
    if (d < 0) return false;
    *v = *v * 16 + static_cast<uint32_t>(d);
  }
  return true;
}

// Reads the JSON string whose opening quote is at j[*i]; moves *i past the
// closing quote. Without escapes *out views j; with them it views *scratch.
bool ReadString(std::string_view j, size_t* i, std::string* scratch, std::string_view* out) {
  if (*i >= j.size() || j[*i] != '"') return false;
  const size_t start = ++*i;
  size_t k = start;
  while (k < j.size() && j[k] != '"' && j[k] != '\\') k++;
  if (k < j.size() && j[k] == '"') {
    *out = j.substr(start, k - start);
    *i = k + 1;
    return true;
  }
  scratch->assign(j.substr(start, k - start));
  while (k < j.size() && j[k] != '"') {
    if (j[k] != '\\') {
      scratch->push_back(j[k++]);
      continue;
    }
    if (k + 1 >= j.size()) return false;
    char e = j[k + 1];
    k += 2;
    switch (e) {
      case '"': scratch->push_back('"'); break;
      case '\\': scratch->push_back('\\'); break;
      case '/': scratch->push_back('/'); break;
      case 'b': scratch->push_back('\b'); break;
      case 'f': scratch->push_back('\f'); break;
      case 'n': scratch->push_back('\n'); break;
      case 'r': scratch->push_back('\r'); break;
      case 't': scratch->push_back('\t'); break;
      case 'u': {
        uint32_t cp;
        if (!Read4Hex(j, k, &cp)) return false;
        k += 4;
        if (cp >= 0xD800 && cp < 0xDC00) {  // high surrogate: a low one must follow
          uint32_t lo;
          if (k + 1 < j.size() && j[k] == '\\' && j[k + 1] == 'u' && Read4Hex(j, k + 2, &lo) && lo >= 0xDC00 &&
              lo < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            k += 6;
          } else {
            cp = 0xFFFD;
          }
        } else if (cp >= 0xDC00 && cp < 0xE000) {
          cp = 0xFFFD;
        }
        AppendUtf8(cp, scratch);
        break;
      }
      default: return false;
    }
  }
  if (k >= j.size()) return false;
  *i = k + 1;
  *out = *scratch;
  return true;
}

// The value of `key` in a flat JSON object of strings. False when the key is
// absent or the text is not such an object (up to the key).
bool FindMetadata(std::string_view json, std::string_view key, std::string* scratch, std::string* value) {
  size_t i = 0;
  SkipSpace(json, &i);
  if (i >= json.size() || json[i] != '{') return false;
  ++i;
  std::string key_scratch;
  for (;;) {
    SkipSpace(json, &i);
    if (i < json.size() && json[i] == '}') return false;
    std::string_view k, v;
    if (!ReadString(json, &i, &key_scratch, &k)) return false;
    SkipSpace(json, &i);
    if (i >= json.size() || json[i] != ':') return false;
    ++i;
    SkipSpace(json, &i);
    if (!ReadString(json, &i, scratch, &v)) return false;
    if (k == key) {
      value->assign(v);
      return true;
    }
    SkipSpace(json, &i);
    if (i < json.size() && json[i] == ',') {
      ++i;
      continue;
    }
    return false;
  }
}

const std::string* StreamLabel(const Labels& stream, std::string_view name) {
  auto it = std::lower_bound(stream.begin(), stream.end(), name,
                             [](const auto& kv, std::string_view n) { return kv.first < n; });
  return it != stream.end() && it->first == name ? &it->second : nullptr;
}

}  // namespace

bool Query::MatchesEntry(const Labels& stream, std::string_view metadata_json) const {
  if (entry_filters.empty()) return true;
  std::string scratch, value;
  for (const auto& f : entry_filters) {
    std::string_view name = f.name();
    std::string_view v;
    if (const std::string* s = StreamLabel(stream, name)) {
      v = *s;
    } else if (!metadata_json.empty() && FindMetadata(metadata_json, name, &scratch, &value)) {
      v = value;
    } else if (!metadata_json.empty() && name.size() > kExtractedSuffix.size() && name.ends_with(kExtractedSuffix)) {
      std::string_view base = name.substr(0, name.size() - kExtractedSuffix.size());
      if (StreamLabel(stream, base) != nullptr && FindMetadata(metadata_json, base, &scratch, &value)) v = value;
    }
    if (!f.MatchesValue(v)) return false;
  }
  return true;
}

}  // namespace loge::query
