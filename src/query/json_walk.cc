#include "query/json_walk.h"

#include <cstdint>

#include "core/utf8.h"

namespace loge::query::json_walk {

namespace {

bool IsWs(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// Offset of the first non-whitespace byte, or npos.
size_t NextToken(std::string_view d, size_t from) {
  for (size_t i = from; i < d.size(); i++) {
    if (!IsWs(d[i])) return i;
  }
  return std::string_view::npos;
}

// With d[from] just after an opening quote: the offset one past the closing
// quote, or npos. *escaped tells whether a backslash was seen.
size_t StringEnd(std::string_view d, size_t from, bool* escaped) {
  *escaped = false;
  for (size_t i = from; i < d.size(); i++) {
    char c = d[i];
    if (c == '"') {
      if (!*escaped) return i + 1;
      // Count the backslashes right before the quote: even = real end.
      size_t j = i;
      size_t n = 0;
      while (j > from && d[j - 1] == '\\') {
        j--;
        n++;
      }
      if (n % 2 == 0) return i + 1;
    } else if (c == '\\') {
      *escaped = true;
    }
  }
  return std::string_view::npos;
}

// With d[from] at an opening symbol: one past the matching close, or npos.
size_t BlockEnd(std::string_view d, size_t from, char open, char close) {
  int level = 0;
  for (size_t i = from; i < d.size(); i++) {
    char c = d[i];
    if (c == '"') {
      bool esc;
      size_t e = StringEnd(d, i + 1, &esc);
      if (e == std::string_view::npos) return std::string_view::npos;
      i = e - 1;
    } else if (c == open) {
      level++;
    } else if (c == close) {
      level--;
      if (level == 0) return i + 1;
    }
  }
  return std::string_view::npos;
}

size_t TokenEnd(std::string_view d, size_t from) {
  for (size_t i = from; i < d.size(); i++) {
    switch (d[i]) {
      case ' ':
      case '\n':
      case '\r':
      case '\t':
      case ',':
      case '}':
      case ']': return i;
      default: break;
    }
  }
  return d.size();
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool Read4(std::string_view s, size_t at, uint32_t* v) {
  if (at + 4 > s.size()) return false;
  *v = 0;
  for (size_t k = 0; k < 4; k++) {
    int h = Hex(s[at + k]);
    if (h < 0) return false;
    *v = *v * 16 + static_cast<uint32_t>(h);
  }
  return true;
}

}  // namespace

std::string_view GetValue(std::string_view d, Value* out, size_t* end) {
  size_t off = NextToken(d, 0);
  if (off == std::string_view::npos) return kMalformedJson;
  char c = d[off];
  if (c == '"') {
    bool esc;
    size_t e = StringEnd(d, off + 1, &esc);
    if (e == std::string_view::npos) return kMalformedString;
    *out = Value{Type::kString, d.substr(off + 1, e - off - 2)};
    *end = e;
    return {};
  }
  if (c == '[' || c == '{') {
    size_t e = BlockEnd(d, off, c, c == '[' ? ']' : '}');
    if (e == std::string_view::npos) return c == '[' ? kMalformedArray : kMalformedObject;
    *out = Value{c == '[' ? Type::kArray : Type::kObject, d.substr(off, e - off)};
    *end = e;
    return {};
  }
  size_t e = TokenEnd(d, off);
  std::string_view v = d.substr(off, e - off);
  Type t;
  switch (c) {
    case 't':
    case 'f':
      if (v != "true" && v != "false") return kUnknownValueType;
      t = Type::kBool;
      break;
    case 'u':
    case 'n':
      if (v != "null") return kUnknownValueType;
      t = Type::kNull;
      break;
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9': t = Type::kNumber; break;
    default: return kUnknownValueType;
  }
  *out = Value{t, v};
  *end = e;
  return {};
}

std::string_view ObjectEach(std::string_view d, const std::function<bool(std::string_view, const Value&)>& fn) {
  size_t off = NextToken(d, 0);
  if (off == std::string_view::npos || d[off] != '{') return kMalformedObject;
  off++;
  size_t n = NextToken(d, off);
  if (n == std::string_view::npos) return kMalformedJson;
  off = n;
  if (d[off] == '}') return {};
  std::string key_buf;
  while (off < d.size()) {
    if (d[off] == '}') return {};
    if (d[off] != '"') return kMalformedObject;
    off++;
    bool esc;
    size_t e = StringEnd(d, off, &esc);
    if (e == std::string_view::npos) return kMalformedJson;
    std::string_view key = d.substr(off, e - off - 1);
    off = e;
    if (esc) {
      if (!Unescape(key, &key_buf)) return kMalformedEscape;
      key = key_buf;
    }
    n = NextToken(d, off);
    if (n == std::string_view::npos || d[n] != ':') return kMalformedJson;
    off = n + 1;
    Value v;
    size_t vend;
    std::string_view err = GetValue(d.substr(off), &v, &vend);
    if (!err.empty()) return err;
    if (!fn(key, v)) return {};
    off += vend;
    n = NextToken(d, off);
    if (n == std::string_view::npos) return kMalformedArray;
    off = n;
    if (d[off] == '}') return {};
    if (d[off] != ',') return kMalformedObject;
    off++;
    n = NextToken(d, off);
    if (n == std::string_view::npos) return kMalformedArray;
    off = n;
  }
  return kMalformedObject;
}

std::string_view ArrayEach(std::string_view d, const std::function<bool(const Value&)>& fn) {
  size_t off = NextToken(d, 0);
  if (off == std::string_view::npos || d[off] != '[') return kMalformedArray;
  off++;
  size_t n = NextToken(d, off);
  if (n == std::string_view::npos) return kMalformedArray;
  off = n;
  if (d[off] == ']') return {};
  while (off < d.size()) {
    Value v;
    size_t vend;
    std::string_view err = GetValue(d.substr(off), &v, &vend);
    if (!err.empty()) return err;
    if (!fn(v)) return {};
    off += vend;
    n = NextToken(d, off);
    if (n == std::string_view::npos) return kMalformedArray;
    off = n;
    if (d[off] == ']') return {};
    if (d[off] != ',') return kMalformedArray;
    off++;
    n = NextToken(d, off);
    if (n == std::string_view::npos) return kMalformedArray;
    off = n;
  }
  return kMalformedArray;
}

bool Unescape(std::string_view s, std::string* out) {
  out->clear();
  for (size_t i = 0; i < s.size(); i++) {
    char c = s[i];
    if (c != '\\') {
      out->push_back(c);
      continue;
    }
    if (i + 1 >= s.size()) return false;
    char e = s[++i];
    switch (e) {
      case '"': out->push_back('"'); break;
      case '\\': out->push_back('\\'); break;
      case '/': out->push_back('/'); break;
      case 'b': out->push_back('\b'); break;
      case 'f': out->push_back('\f'); break;
      case 'n': out->push_back('\n'); break;
      case 'r': out->push_back('\r'); break;
      case 't': out->push_back('\t'); break;
      case 'u': {
        uint32_t cp;
        if (!Read4(s, i + 1, &cp)) return false;
        i += 4;
        if (cp >= 0xD800 && cp < 0xDC00) {
          uint32_t lo;
          if (i + 2 < s.size() && s[i + 1] == '\\' && s[i + 2] == 'u' && Read4(s, i + 3, &lo) && lo >= 0xDC00 &&
              lo < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
          } else {
            cp = 0xFFFD;
          }
        } else if (cp >= 0xDC00 && cp < 0xE000) {
          cp = 0xFFFD;
        }
        AppendUtf8(cp, out);
        break;
      }
      default: return false;
    }
  }
  return true;
}

}  // namespace loge::query::json_walk
