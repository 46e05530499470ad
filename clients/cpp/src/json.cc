// JSON rendering of records: string escaping, fields, the line Log sends.
#include <charconv>
#include <cmath>
#include <string>
#include <system_error>

#include "loge/client.h"

namespace loge {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not one
// (overlong forms, surrogates and code points past U+10FFFF included).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const auto cont = [&](size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  const unsigned char c = b(0);
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;  // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // past U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  size_t start = 0;
  const auto flush_to = [&](size_t i) { out->append(s.data() + start, i - start); };
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t n = Utf8SequenceLength(s, i);
      if (n > 0) {
        i += n;
        continue;
      }
      flush_to(i);
      out->append("\\ufffd");
      start = ++i;
      continue;
    }
    if (c >= 0x20 && c != '"' && c != '\\') {
      i++;
      continue;
    }
    flush_to(i);
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xF]);
    }
    start = ++i;
  }
  flush_to(s.size());
  out->push_back('"');
}

void Field::AppendTo(std::string* out) const {
  AppendJsonString(key_, out);
  out->push_back(':');
  switch (kind_) {
    case Kind::kString: AppendJsonString(text_, out); break;
    case Kind::kInt: out->append(std::to_string(int_)); break;
    case Kind::kUint: out->append(std::to_string(uint_)); break;
    case Kind::kBool: out->append(int_ ? "true" : "false"); break;
    case Kind::kNull: out->append("null"); break;
    case Kind::kDouble: {
      // JSON has no NaN or infinities: they go as strings.
      if (std::isnan(double_)) {
        out->append("\"NaN\"");
      } else if (std::isinf(double_)) {
        out->append(double_ > 0 ? "\"+Inf\"" : "\"-Inf\"");
      } else {
        // Shortest form that reads back the same, whatever the C locale.
        char buf[32];
        const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), double_);
        out->append(buf, ec == std::errc() ? static_cast<size_t>(end - buf) : 0);
      }
      break;
    }
  }
}

std::string Client::RenderLine(std::string_view message, const std::vector<Field>& fields,
                               const Source& source) {
  std::string line;
  line.reserve(32 + message.size() + fields.size() * 24);
  line.append("{\"msg\":");
  AppendJsonString(message, &line);
  if (source.file != nullptr && source.file[0] != '\0') {
    line.append(",\"source\":{\"file\":");
    AppendJsonString(source.file, &line);
    line.append(",\"line\":");
    line.append(std::to_string(source.line));
    if (source.function != nullptr && source.function[0] != '\0') {
      line.append(",\"function\":");
      AppendJsonString(source.function, &line);
    }
    line.push_back('}');
  }
  for (const Field& f : fields) {
    line.push_back(',');
    f.AppendTo(&line);
  }
  line.push_back('}');
  return line;
}

}  // namespace loge
