#include "query/metadata_json.h"

#include <cstdint>

#include "core/utf8.h"

namespace loge::query {
namespace {

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

bool ReadStringImpl(std::string_view j, size_t* i, std::string* scratch, std::string_view* out) {
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

}  // namespace

bool ReadJsonString(std::string_view j, size_t* i, std::string* scratch, std::string_view* out) {
  return ReadStringImpl(j, i, scratch, out);
}

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
    if (!ReadStringImpl(json, &i, &key_scratch, &k)) return false;
    SkipSpace(json, &i);
    if (i >= json.size() || json[i] != ':') return false;
    ++i;
    SkipSpace(json, &i);
    if (!ReadStringImpl(json, &i, scratch, &v)) return false;
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

void ForEachMetadata(std::string_view json, const std::function<void(std::string_view, std::string_view)>& fn) {
  size_t i = 0;
  SkipSpace(json, &i);
  if (i >= json.size() || json[i] != '{') return;
  ++i;
  std::string key_scratch, value_scratch;
  for (;;) {
    SkipSpace(json, &i);
    if (i < json.size() && json[i] == '}') return;
    std::string_view k, v;
    if (!ReadStringImpl(json, &i, &key_scratch, &k)) return;
    SkipSpace(json, &i);
    if (i >= json.size() || json[i] != ':') return;
    ++i;
    SkipSpace(json, &i);
    if (!ReadStringImpl(json, &i, &value_scratch, &v)) return;
    fn(k, v);
    SkipSpace(json, &i);
    if (i < json.size() && json[i] == ',') {
      ++i;
      continue;
    }
    return;
  }
}

}  // namespace loge::query
