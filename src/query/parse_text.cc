// `| logfmt` (with --strict, --keep-empty and named fields), `| regexp` and
// `| pattern`, as Loki runs them. The logfmt decoder follows Loki's (a copy
// of go-logfmt's state machine): the same pairs, the same recovery from bad
// bytes, the same error text in __error_details__ under --strict.
#include <re2/re2.h>

#include <algorithm>
#include <limits>

#include "query/pattern.h"
#include "query/stages.h"

namespace loge::query {

namespace {

bool IsLabelChar(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (c >= '0' && c <= '9');
}

// Loki's sanitizeLabelKey(key, true).
std::string SanitizeKey(std::string_view key) {
  while (!key.empty() && std::isspace(static_cast<unsigned char>(key.front()))) key.remove_prefix(1);
  while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back()))) key.remove_suffix(1);
  std::string out;
  if (key.empty()) return out;
  if (key[0] >= '0' && key[0] <= '9') out.push_back('_');
  for (size_t i = 0; i < key.size(); i++) {
    unsigned char c = static_cast<unsigned char>(key[i]);
    if (c >= 0x80) {
      while (i + 1 < key.size() && (static_cast<unsigned char>(key[i + 1]) & 0xC0) == 0x80) i++;
      out.push_back('_');
      continue;
    }
    out.push_back(IsLabelChar(c) ? static_cast<char>(c) : '_');
  }
  return out;
}

bool HasInvalidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > s.size()) return true;
    for (size_t k = 1; k < len; k++) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return true;
    }
    i += len;
  }
  return false;
}

// Loki's logfmt decoder over one line.
class LogfmtDecoder {
 public:
  explicit LogfmtDecoder(std::string_view line) : line_(line) {}
  bool Eol() const { return pos_ >= line_.size(); }
  const std::string& err() const { return err_; }
  std::string_view key() const { return key_; }
  std::string_view value() const { return has_unquoted_ ? std::string_view(unquoted_) : value_; }

  // Advances to the next pair; false when none could be read (garbage,
  // end of line or an error).
  bool Scan() {
    key_ = {};
    value_ = {};
    has_unquoted_ = false;
    // Skip garbage (bytes <= ' ').
    while (pos_ < line_.size() && static_cast<unsigned char>(line_[pos_]) <= ' ') pos_++;
    if (pos_ >= line_.size()) return false;
    // Key.
    size_t start = pos_;
    bool multibyte = false;
    while (pos_ < line_.size()) {
      unsigned char c = static_cast<unsigned char>(line_[pos_]);
      if (c == '=') {
        if (pos_ > start) {
          key_ = line_.substr(start, pos_ - start);
          if (multibyte && HasInvalidUtf8(key_)) {
            SyntaxError("invalid key");
            return SkipValue();
          }
        }
        if (key_.empty()) {
          UnexpectedByte(c);
          return SkipValue();
        }
        return Equal();
      }
      if (c == '"') {
        UnexpectedByte(c);
        return SkipValue();
      }
      if (c <= ' ') {
        if (pos_ > start) {
          key_ = line_.substr(start, pos_ - start);
          if (multibyte && HasInvalidUtf8(key_)) {
            SyntaxError("invalid key");
            return false;
          }
        }
        return true;
      }
      if (c >= 0x80) multibyte = true;
      pos_++;
    }
    if (pos_ > start) {
      key_ = line_.substr(start, pos_ - start);
      if (multibyte && HasInvalidUtf8(key_)) {
        SyntaxError("invalid key");
        return false;
      }
    }
    return true;
  }

 private:
  bool Equal() {
    pos_++;
    if (pos_ >= line_.size()) return true;
    unsigned char c = static_cast<unsigned char>(line_[pos_]);
    if (c <= ' ') return true;
    if (c == '"') return QuotedValue();
    size_t start = pos_;
    while (pos_ < line_.size()) {
      c = static_cast<unsigned char>(line_[pos_]);
      if (c == '=' || c == '"') {
        UnexpectedByte(c);
        return SkipValue();
      }
      if (c <= ' ') {
        if (pos_ > start) value_ = line_.substr(start, pos_ - start);
        return true;
      }
      pos_++;
    }
    if (pos_ > start) value_ = line_.substr(start, pos_ - start);
    return true;
  }

  bool QuotedValue() {
    bool has_esc = false, esc = false;
    size_t start = pos_;
    for (size_t p = pos_ + 1; p < line_.size(); p++) {
      char c = line_[p];
      if (esc) {
        esc = false;
      } else if (c == '\\') {
        has_esc = esc = true;
      } else if (c == '"') {
        pos_ = p + 1;
        if (has_esc) {
          if (!Unquote(line_.substr(start, pos_ - start), &unquoted_)) {
            SyntaxError("invalid quoted value");
            return false;
          }
          has_unquoted_ = true;
        } else if (pos_ - 1 > start + 1) {
          value_ = line_.substr(start + 1, pos_ - 1 - (start + 1));
        }
        return true;
      }
    }
    pos_ = line_.size();
    SyntaxError("unterminated quoted value");
    return false;
  }

  bool SkipValue() {
    while (pos_ < line_.size()) {
      if (static_cast<unsigned char>(line_[pos_]) <= ' ') return false;
      pos_++;
    }
    return false;
  }

  // JSON-style unquoting of "..." (go-logfmt's unquoteBytes).
  static bool Unquote(std::string_view q, std::string* out) {
    out->clear();
    if (q.size() < 2 || q.front() != '"' || q.back() != '"') return false;
    q = q.substr(1, q.size() - 2);
    for (size_t i = 0; i < q.size(); i++) {
      char c = q[i];
      if (c != '\\') {
        if (c == '"' || static_cast<unsigned char>(c) < ' ') return false;
        out->push_back(c);
        continue;
      }
      if (++i >= q.size()) return false;
      switch (q[i]) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case '\'': out->push_back('\''); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          uint32_t cp = 0;
          for (int k = 1; k <= 4; k++) {
            if (i + k >= q.size()) return false;
            char h = q[i + k];
            int d = (h >= '0' && h <= '9') ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10 : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
            if (d < 0) return false;
            cp = cp * 16 + static_cast<uint32_t>(d);
          }
          i += 4;
          if (cp < 0x80) {
            out->push_back(static_cast<char>(cp));
          } else if (cp < 0x800) {
            out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
            out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          } else {
            out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
            out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          }
          break;
        }
        default: return false;
      }
    }
    return true;
  }

  void SyntaxError(const std::string& msg) {
    err_ = "logfmt syntax error at pos " + std::to_string(pos_ + 1) + " : " + msg;
  }
  void UnexpectedByte(unsigned char c) {
    std::string q;
    if (c == '\'') {
      q = "'\\''";
    } else if (c >= 0x20 && c < 0x7f) {
      q = std::string("'") + static_cast<char>(c) + "'";
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "'\\x%02x'", c);
      q = buf;
    }
    SyntaxError("unexpected " + q);
  }

  std::string_view line_;
  size_t pos_ = 0;
  std::string_view key_;
  std::string_view value_;
  std::string unquoted_;
  bool has_unquoted_ = false;
  std::string err_;
};

std::string ReplaceInvalidUtf8(std::string_view v) {
  if (!HasInvalidUtf8(v) && v.find("\xEF\xBF\xBD") == std::string_view::npos) return std::string(v);
  std::string out;
  size_t i = 0;
  while (i < v.size()) {
    unsigned char c = static_cast<unsigned char>(v[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = len > 0 && i + len <= v.size();
    for (size_t k = 1; ok && k < len; k++) ok = (static_cast<unsigned char>(v[i + k]) & 0xC0) == 0x80;
    if (ok && v.substr(i, len) == "\xEF\xBF\xBD") ok = false;
    if (!ok) {
      out.push_back(' ');
      i += (len > 0 && i + len <= v.size()) ? len : 1;
    } else {
      out.append(v.substr(i, len));
      i += len;
    }
  }
  return out;
}

class LogfmtParser : public Stage {
 public:
  LogfmtParser(bool strict, bool keep_empty) : strict_(strict), keep_empty_(keep_empty) {}
  bool Process(int64_t, PipelineLine* line, LabelsBuilder* lb) const override {
    if (lb->NoLabels()) return true;
    LogfmtDecoder d(line->text);
    while (!d.Eol()) {
      if (!d.Scan()) {
        if (strict_) break;
        continue;
      }
      std::string key = SanitizeKey(d.key());
      if (key.empty()) continue;
      if (lb->BaseHas(key) || lb->HasIn(LabelCategory::kMetadata, key)) key += kExtractedSuffix;
      if (!lb->hints().ShouldExtract(key) || lb->Extracted(key)) continue;
      std::string val = ReplaceInvalidUtf8(d.value());
      if (!keep_empty_ && val.empty()) continue;
      lb->Set(LabelCategory::kParsed, key, val);
      if (lb->AllRequiredExtracted()) break;
    }
    if (strict_ && !d.err().empty()) lb->AddError(kErrLogfmt, d.err());
    return true;
  }

 private:
  bool strict_;
  bool keep_empty_;
};

// `| logfmt a="b", c`: only the named keys, under their new names; each
// name is present (possibly empty) once the stage ran.
class LogfmtExtractParser : public Stage {
 public:
  LogfmtExtractParser(std::vector<std::pair<std::string, std::string>> exprs, bool strict)
      : exprs_(std::move(exprs)), strict_(strict) {}
  bool Process(int64_t, PipelineLine* line, LabelsBuilder* lb) const override {
    if (lb->NoLabels()) return true;
    for (const auto& [id, key] : exprs_) {
      if (!lb->BaseHas(id) && !lb->HasIn(LabelCategory::kMetadata, id)) lb->Set(LabelCategory::kParsed, id, "");
    }
    LogfmtDecoder d(line->text);
    while (!d.Eol()) {
      if (!d.Scan()) {
        if (strict_) break;
        continue;
      }
      std::string key = SanitizeKey(d.key());
      if (key.empty()) continue;
      std::string val = HasInvalidUtf8(d.value()) ? std::string() : std::string(d.value());
      for (const auto& [id, orig] : exprs_) {
        if (key != orig) continue;
        std::string name = id;
        if (lb->BaseHas(name) || lb->HasIn(LabelCategory::kMetadata, name)) name += kExtractedSuffix;
        lb->Set(LabelCategory::kParsed, name, val);
      }
    }
    if (strict_ && !d.err().empty()) lb->AddError(kErrLogfmt, d.err());
    return true;
  }

 private:
  std::vector<std::pair<std::string, std::string>> exprs_;
  bool strict_;
};

class RegexpParser : public Stage {
 public:
  RegexpParser(std::shared_ptr<const re2::RE2> re, std::vector<std::pair<int, std::string>> names)
      : re_(std::move(re)), names_(std::move(names)) {}
  bool Process(int64_t, PipelineLine* line, LabelsBuilder* lb) const override {
    int n = re_->NumberOfCapturingGroups() + 1;
    std::vector<re2::StringPiece> groups(static_cast<size_t>(n));
    if (!re_->Match(line->text, 0, line->text.size(), re2::RE2::UNANCHORED, groups.data(), n)) return true;
    for (const auto& [idx, name] : names_) {
      std::string key = name;
      if (lb->BaseHas(key) || lb->HasIn(LabelCategory::kMetadata, key)) key += kExtractedSuffix;
      if (!lb->hints().ShouldExtract(key) || lb->Extracted(key)) continue;
      const auto& g = groups[static_cast<size_t>(idx)];
      lb->Set(LabelCategory::kParsed, key, std::string_view(g.data() == nullptr ? "" : g.data(), g.size()));
    }
    return true;
  }

 private:
  std::shared_ptr<const re2::RE2> re_;
  std::vector<std::pair<int, std::string>> names_;  // group index, label
};

class PatternParser : public Stage {
 public:
  explicit PatternParser(Pattern p) : p_(std::move(p)) {}
  bool Process(int64_t, PipelineLine* line, LabelsBuilder* lb) const override {
    if (lb->NoLabels()) return true;
    std::vector<std::string_view> caps;
    p_.Match(line->text, &caps);
    for (size_t i = 0; i < caps.size(); i++) {
      std::string name = p_.names()[i];
      if (lb->BaseHas(name) || lb->HasIn(LabelCategory::kMetadata, name)) name += kExtractedSuffix;
      if (lb->Extracted(name) || !lb->hints().ShouldExtract(name)) continue;
      lb->Set(LabelCategory::kParsed, name, caps[i]);
    }
    return true;
  }

 private:
  Pattern p_;
};

}  // namespace

StagePtr MakeLogfmtParser(bool strict, bool keep_empty) { return std::make_shared<LogfmtParser>(strict, keep_empty); }

Result<StagePtr> MakeLogfmtExtractParser(std::vector<std::pair<std::string, std::string>> exprs, bool strict,
                                         bool /*keep_empty*/) {
  if (exprs.empty()) return Status::InvalidArgument("no logfmt expression provided");
  for (const auto& [id, key] : exprs) {
    if (!IsValidLabelName(id)) return Status::InvalidArgument("invalid extracted label name '" + id + "'");
  }
  return StagePtr(std::make_shared<LogfmtExtractParser>(std::move(exprs), strict));
}

Result<StagePtr> MakeRegexpParser(const std::string& re) {
  RE2::Options o;
  o.set_log_errors(false);
  o.set_dot_nl(false);
  auto compiled = std::make_shared<const re2::RE2>(re, o);
  if (!compiled->ok()) return Status::InvalidArgument("error parsing regexp: " + compiled->error());
  std::vector<std::pair<int, std::string>> names;
  for (const auto& [name, idx] : compiled->NamedCapturingGroups()) {
    if (!IsValidLabelName(name)) return Status::InvalidArgument("invalid extracted label name '" + name + "'");
    names.emplace_back(idx, name);
  }
  if (names.empty()) return Status::InvalidArgument("at least one named capture must be supplied");
  std::sort(names.begin(), names.end());
  return StagePtr(std::make_shared<RegexpParser>(std::move(compiled), std::move(names)));
}

Result<StagePtr> MakePatternParser(const std::string& pattern) {
  LOGE_ASSIGN_OR_RETURN(Pattern p, Pattern::Make(pattern, /*for_filter=*/false));
  for (const auto& n : p.names()) {
    if (!IsValidLabelName(n)) return Status::InvalidArgument("invalid capture label name '" + n + "'");
  }
  return StagePtr(std::make_shared<PatternParser>(std::move(p)));
}

}  // namespace loge::query
