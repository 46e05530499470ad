// `| json`, `| json a="x.y[0]"` and `| unpack`, as Loki runs them: every
// string, number and boolean field becomes a label, nested objects are
// flattened with `_`, arrays and nulls are skipped; a line that is not a
// JSON object gets __error__=JSONParserErr with the walker's message.
#include <algorithm>

#include "query/json_walk.h"
#include "query/stages.h"

namespace loge::query {

namespace {

using json_walk::Type;
using json_walk::Value;

bool IsLabelChar(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (c >= '0' && c <= '9');
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Appends `key` sanitized: every byte outside [a-zA-Z0-9_] becomes '_' (a
// multi-byte character becomes one '_'), and a leading digit of the whole
// name gets a '_' before it.
void AppendSanitized(std::string* to, std::string_view key) {
  key = TrimSpace(key);
  if (key.empty()) return;
  if (to->empty() && key[0] >= '0' && key[0] <= '9') to->push_back('_');
  for (size_t i = 0; i < key.size(); i++) {
    unsigned char c = static_cast<unsigned char>(key[i]);
    if (c >= 0x80) {
      // Skip the continuation bytes of one UTF-8 character.
      while (i + 1 < key.size() && (static_cast<unsigned char>(key[i + 1]) & 0xC0) == 0x80) i++;
      to->push_back('_');
      continue;
    }
    to->push_back(IsLabelChar(c) ? static_cast<char>(c) : '_');
  }
}

// Invalid UTF-8 (and U+FFFD) becomes a space, as Loki does for label values.
std::string CleanUtf8(std::string s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  bool changed = false;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; k++) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    if (ok && len == 3 && c == 0xEF && static_cast<unsigned char>(s[i + 1]) == 0xBF &&
        static_cast<unsigned char>(s[i + 2]) == 0xBD) {
      ok = false;  // U+FFFD itself
      len = 3;
    }
    if (!ok) {
      out.push_back(' ');
      i += len > 0 && i + len <= s.size() ? len : 1;
      changed = true;
      continue;
    }
    out.append(s, i, len);
    i += len;
  }
  return changed ? out : s;
}

std::string ValueText(const Value& v) {
  switch (v.type) {
    case Type::kString: {
      std::string out;
      if (v.raw.find('\\') == std::string_view::npos) {
        out.assign(v.raw);
      } else if (!json_walk::Unescape(v.raw, &out)) {
        return "";
      }
      return CleanUtf8(std::move(out));
    }
    case Type::kNumber: return std::string(v.raw);
    case Type::kBool: return v.raw == "true" ? "true" : "false";
    default: return "";
  }
}

class JsonParser : public Stage {
 public:
  bool Process(int64_t, PipelineLine* line, LabelsBuilder* lb) const override {
    if (lb->NoLabels()) return true;
    std::vector<std::string_view> prefix;
    std::string_view err = Walk(line->text, &prefix, lb, nullptr);
    if (err == kStop) return true;
    if (!err.empty()) lb->AddError(kErrJson, err);
    return true;
  }

  // Process, also recording each label's keys from the root in *paths.
  static void ProcessWithPaths(std::string_view line, LabelsBuilder* lb, JsonPaths* paths) {
    std::vector<std::string_view> prefix;
    std::string_view err = Walk(line, &prefix, lb, paths);
    if (!err.empty() && err != kStop) lb->AddError(kErrJson, err);
  }

 private:
  static constexpr std::string_view kStop = "stop";

  static std::string Joined(const std::vector<std::string_view>& parts) {
    std::string out;
    for (size_t i = 0; i < parts.size(); i++) {
      if (TrimSpace(parts[i]).empty()) continue;
      if (i > 0 && !out.empty()) out.push_back('_');
      AppendSanitized(&out, parts[i]);
    }
    return out;
  }

  static std::string_view Walk(std::string_view obj, std::vector<std::string_view>* prefix, LabelsBuilder* lb,
                               JsonPaths* paths) {
    std::string_view inner_err;
    std::string_view err = json_walk::ObjectEach(obj, [&](std::string_view key, const Value& v) {
      if (v.type == Type::kObject) {
        prefix->push_back(key);
        std::string p = Joined(*prefix);
        if (lb->hints().ShouldExtractPrefix(p)) inner_err = Walk(v.raw, prefix, lb, paths);
        prefix->pop_back();
        return inner_err.empty();
      }
      if (v.type != Type::kString && v.type != Type::kNumber && v.type != Type::kBool) return true;
      std::string name;
      if (prefix->empty()) {
        AppendSanitized(&name, key);
        if (name.empty()) return true;
        if (lb->BaseHas(name) || lb->HasIn(LabelCategory::kMetadata, name)) name += kExtractedSuffix;
      } else {
        prefix->push_back(key);
        name = Joined(*prefix);
        if (lb->BaseHas(name) || lb->HasIn(LabelCategory::kMetadata, name)) {
          std::string suffixed = std::string(key) + std::string(kExtractedSuffix);
          prefix->back() = suffixed;
          name = Joined(*prefix);
        }
        prefix->pop_back();
      }
      if (lb->hints().ShouldExtract(name) && !lb->Extracted(name)) {
        lb->Set(LabelCategory::kParsed, name, ValueText(v));
        if (paths != nullptr) {
          std::vector<std::string> keys(prefix->begin(), prefix->end());
          keys.emplace_back(key);
          paths->emplace_back(std::move(name), std::move(keys));
        }
      }
      if (lb->AllRequiredExtracted()) {
        inner_err = kStop;
        return false;
      }
      return true;
    });
    return !inner_err.empty() ? inner_err : err;
  }
};

// One step of a JSON path: a field name or an array index.
struct PathStep {
  bool index = false;
  std::string field;
  size_t i = 0;
};

// Loki's JSON path expressions: `a.b`, `a[0].b`, `["a.b"]`, `a["b"][1]`.
Result<std::vector<PathStep>> ParsePath(std::string_view s) {
  std::vector<PathStep> out;
  size_t i = 0;
  auto bad = [&] { return Status::InvalidArgument("cannot parse expression [" + std::string(s) + "]: syntax error"); };
  bool expect_field = true;
  while (i < s.size()) {
    char c = s[i];
    if (c == '[') {
      i++;
      if (i < s.size() && s[i] == '"') {
        size_t close = s.find('"', i + 1);
        if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ']') return bad();
        out.push_back(PathStep{false, std::string(s.substr(i + 1, close - i - 1)), 0});
        i = close + 2;
      } else {
        size_t close = s.find(']', i);
        if (close == std::string_view::npos || close == i) return bad();
        std::string_view num = s.substr(i, close - i);
        if (!std::all_of(num.begin(), num.end(), [](char d) { return d >= '0' && d <= '9'; })) return bad();
        out.push_back(PathStep{true, "", static_cast<size_t>(std::strtoull(std::string(num).c_str(), nullptr, 10))});
        i = close + 1;
      }
      expect_field = false;
    } else if (c == '.') {
      if (expect_field) return bad();
      i++;
      expect_field = true;
    } else {
      size_t j = i;
      while (j < s.size() && s[j] != '.' && s[j] != '[' && s[j] != ']' && s[j] != '"') j++;
      if (j == i) return bad();
      out.push_back(PathStep{false, std::string(s.substr(i, j - i)), 0});
      i = j;
      expect_field = false;
    }
  }
  if (out.empty() || expect_field) return bad();
  return out;
}

// Follows `path` from the value at the start of `data`.
bool Follow(std::string_view data, const std::vector<PathStep>& path, Value* out) {
  Value cur;
  size_t end;
  if (!json_walk::GetValue(data, &cur, &end).empty()) return false;
  for (const auto& step : path) {
    bool found = false;
    Value next;
    if (step.index) {
      if (cur.type != Type::kArray) return false;
      size_t k = 0;
      json_walk::ArrayEach(cur.raw, [&](const Value& v) {
        if (k++ == step.i) {
          next = v;
          found = true;
          return false;
        }
        return true;
      });
    } else {
      if (cur.type != Type::kObject) return false;
      json_walk::ObjectEach(cur.raw, [&](std::string_view key, const Value& v) {
        if (key == step.field) {
          next = v;
          found = true;
          return false;
        }
        return true;
      });
    }
    if (!found) return false;
    cur = next;
  }
  *out = cur;
  return true;
}

class JsonExtractParser : public Stage {
 public:
  JsonExtractParser(std::vector<std::string> ids, std::vector<std::vector<PathStep>> paths)
      : ids_(std::move(ids)), paths_(std::move(paths)) {}

  bool Process(int64_t, PipelineLine* line, LabelsBuilder* lb) const override {
    std::string_view text = line->text;
    if (text.empty() || lb->NoLabels()) return true;
    if (text[0] != '"' && text[0] != '{' && text[0] != '[') {
      lb->AddError(kErrJson, "");
      return true;
    }
    for (size_t i = 0; i < ids_.size(); i++) {
      Value v;
      if (!Follow(text, paths_[i], &v)) {
        if (!lb->Get(ids_[i])) lb->Set(LabelCategory::kParsed, ids_[i], "");
        continue;
      }
      std::string key = ids_[i];
      if (lb->BaseHas(key) || lb->HasIn(LabelCategory::kMetadata, key)) key += kExtractedSuffix;
      std::string value;
      if (v.type == Type::kNull) {
        value = "";
      } else if (v.type == Type::kObject || v.type == Type::kArray) {
        value.assign(v.raw);
      } else if (v.type == Type::kString) {
        value = ValueText(v);
      } else {
        value.assign(v.raw);
      }
      lb->Set(LabelCategory::kParsed, key, value);
    }
    return true;
  }

 private:
  std::vector<std::string> ids_;
  std::vector<std::vector<PathStep>> paths_;
};

class UnpackParser : public Stage {
 public:
  bool Process(int64_t, PipelineLine* line, LabelsBuilder* lb) const override {
    std::string_view text = line->text;
    if (text.empty() || lb->NoLabels()) return true;
    if (text[0] != '{') {
      lb->AddError(kErrJson, "expecting json object(6), but it is not");
      return true;
    }
    std::vector<std::pair<std::string, std::string>> found;
    std::string entry;
    bool packed = false;
    std::string_view err = json_walk::ObjectEach(text, [&](std::string_view key, const Value& v) {
      if (v.type != Type::kString) return true;
      if (key == "_entry") {
        if (!json_walk::Unescape(v.raw, &entry)) entry.clear();
        packed = true;
        return true;
      }
      std::string name(key);
      if (lb->BaseHas(name) || lb->HasIn(LabelCategory::kMetadata, name)) name += kExtractedSuffix;
      if (!lb->hints().ShouldExtract(name) || lb->Extracted(name)) return true;
      std::string sanitized;
      AppendSanitized(&sanitized, name);
      found.emplace_back(std::move(sanitized), ValueText(v));
      return true;
    });
    if (!err.empty()) {
      lb->AddError(kErrJson, err);
      return true;
    }
    if (packed) {
      for (auto& [k, v] : found) lb->Set(LabelCategory::kParsed, k, v);
      line->Replace(std::move(entry));
    }
    return true;
  }
  bool ChangesLine() const override { return true; }
};

}  // namespace

StagePtr MakeJsonParser() { return std::make_shared<JsonParser>(); }

void ParseJsonWithPaths(std::string_view line, LabelsBuilder* lb, JsonPaths* paths) {
  JsonParser::ProcessWithPaths(line, lb, paths);
}

Result<StagePtr> MakeJsonExtractParser(std::vector<std::pair<std::string, std::string>> exprs) {
  std::vector<std::string> ids;
  std::vector<std::vector<PathStep>> paths;
  for (auto& [id, path] : exprs) {
    LOGE_ASSIGN_OR_RETURN(auto p, ParsePath(path));
    if (!IsValidLabelName(id)) return Status::InvalidArgument("invalid extracted label name '" + id + "'");
    ids.push_back(id);
    paths.push_back(std::move(p));
  }
  return StagePtr(std::make_shared<JsonExtractParser>(std::move(ids), std::move(paths)));
}

StagePtr MakeUnpackParser() { return std::make_shared<UnpackParser>(); }

}  // namespace loge::query
