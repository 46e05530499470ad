#include "tier/s3_xml.h"

#include <cstdint>
#include <utility>

namespace loge::tier::xml {

namespace {

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xC0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xE0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Decodes one reference body (between '&' and ';'); false if unknown.
bool DecodeReference(std::string_view ref, std::string* out) {
  static constexpr std::pair<std::string_view, char> kNamed[] = {
      {"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"quot", '"'}, {"apos", '\''}};
  for (const auto& [n, c] : kNamed) {
    if (ref == n) {
      *out += c;
      return true;
    }
  }
  if (ref.size() < 2 || ref[0] != '#') return false;
  bool hex = ref[1] == 'x' || ref[1] == 'X';
  std::string_view digits = ref.substr(hex ? 2 : 1);
  if (digits.empty() || digits.size() > 8) return false;
  uint32_t cp = 0;
  for (char c : digits) {
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (hex && c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else if (hex && c >= 'A' && c <= 'F') {
      v = c - 'A' + 10;
    } else {
      return false;
    }
    cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
  }
  if (cp > 0x10FFFF) return false;
  AppendUtf8(cp, out);
  return true;
}

// Position of the next start tag "<name" followed by '>', '/' or space, from pos.
size_t FindStartTag(std::string_view doc, std::string_view name, size_t pos) {
  while ((pos = doc.find('<', pos)) != std::string_view::npos) {
    if (doc.compare(pos + 1, name.size(), name) == 0) {
      size_t after = pos + 1 + name.size();
      if (after < doc.size()) {
        char c = doc[after];
        if (c == '>' || c == '/' || c == ' ' || c == '\t' || c == '\r' || c == '\n') return pos;
      }
    }
    ++pos;
  }
  return std::string_view::npos;
}

// Inner XML of the element starting at `start`; sets *end past it. nullopt
// when unterminated; "" for a self-closing tag.
std::optional<std::string_view> Inner(std::string_view doc, std::string_view name, size_t start,
                                      size_t* end) {
  size_t gt = doc.find('>', start);
  if (gt == std::string_view::npos) return std::nullopt;
  if (doc[gt - 1] == '/') {
    *end = gt + 1;
    return std::string_view();
  }
  std::string close = "</" + std::string(name) + ">";
  size_t c = doc.find(close, gt + 1);
  if (c == std::string_view::npos) return std::nullopt;
  *end = c + close.size();
  return doc.substr(gt + 1, c - gt - 1);
}

}  // namespace

std::string DecodeEntities(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '&') {
      size_t semi = s.find(';', i + 1);
      if (semi != std::string_view::npos && semi - i <= 12 &&
          DecodeReference(s.substr(i + 1, semi - i - 1), &out)) {
        i = semi;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::string Escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string RootName(std::string_view doc) {
  size_t pos = 0;
  while ((pos = doc.find('<', pos)) != std::string_view::npos) {
    if (doc.compare(pos, 2, "<?") == 0 || doc.compare(pos, 2, "<!") == 0) {
      pos = doc.find('>', pos);
      if (pos == std::string_view::npos) return "";
      continue;
    }
    size_t end = pos + 1;
    while (end < doc.size() && doc[end] != '>' && doc[end] != '/' && doc[end] != ' ' &&
           doc[end] != '\t' && doc[end] != '\r' && doc[end] != '\n') {
      ++end;
    }
    return std::string(doc.substr(pos + 1, end - pos - 1));
  }
  return "";
}

std::optional<std::string> FirstText(std::string_view doc, std::string_view name) {
  size_t start = FindStartTag(doc, name, 0);
  if (start == std::string_view::npos) return std::nullopt;
  size_t end = 0;
  auto inner = Inner(doc, name, start, &end);
  if (!inner) return std::nullopt;
  return DecodeEntities(*inner);
}

std::vector<std::string_view> Elements(std::string_view doc, std::string_view name) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while ((pos = FindStartTag(doc, name, pos)) != std::string_view::npos) {
    size_t end = 0;
    auto inner = Inner(doc, name, pos, &end);
    if (!inner) break;
    out.push_back(*inner);
    pos = end;
  }
  return out;
}

}  // namespace loge::tier::xml
