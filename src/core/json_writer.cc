#include "core/json_writer.h"

#include "core/utf8.h"

namespace loge {

void JsonWriter::Escape(std::string_view s, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  out->reserve(out->size() + s.size() + 2);
  out->push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      // Copy the run of plain ASCII in one append.
      size_t j = i + 1;
      while (j < s.size()) {
        unsigned char d = static_cast<unsigned char>(s[j]);
        if (d < 0x20 || d >= 0x80 || d == '"' || d == '\\') break;
        j++;
      }
      out->append(s.data() + i, j - i);
      i = j;
      continue;
    }
    switch (c) {
      case '"': *out += "\\\""; i++; continue;
      case '\\': *out += "\\\\"; i++; continue;
      case '\n': *out += "\\n"; i++; continue;
      case '\r': *out += "\\r"; i++; continue;
      case '\t': *out += "\\t"; i++; continue;
      default: break;
    }
    if (c < 0x20) {
      *out += "\\u00";
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 0xF]);
      i++;
      continue;
    }
    size_t n = Utf8SeqLen(s, i);
    if (n == 0) {
      *out += "\xEF\xBF\xBD";  // U+FFFD for an invalid byte
      i++;
    } else {
      out->append(s.data() + i, n);
      i += n;
    }
  }
  out->push_back('"');
}

}  // namespace loge
