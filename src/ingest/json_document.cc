// DocumentMapper (json_document.h).
#include "ingest/json_document.h"

#include <algorithm>

namespace loge::ingest {
namespace {

namespace dom = simdjson::dom;

bool Contains(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// A field's value as text; "" for null, empty objects and empty strings.
std::string Text(dom::element v) {
  switch (v.type()) {
    case dom::element_type::STRING: return std::string(std::string_view(v));
    case dom::element_type::INT64: return std::to_string(int64_t(v));
    case dom::element_type::UINT64: return std::to_string(uint64_t(v));
    case dom::element_type::DOUBLE: return FormatDouble(double(v));
    case dom::element_type::BOOL: return bool(v) ? "true" : "false";
    case dom::element_type::NULL_VALUE: return {};
    case dom::element_type::ARRAY:
    case dom::element_type::OBJECT: return simdjson::minify(v);
  }
  return {};
}

std::string Quote(std::string_view s) {
  constexpr size_t kMax = 64;
  std::string out = "\"" + std::string(s.substr(0, kMax));
  if (s.size() > kMax) out += "...";
  return out + "\"";
}

}  // namespace

DocumentMapper::DocumentMapper(const DocumentOptions& opts, const Limits& limits, int64_t now_ns, Payload* out)
    : opts_(opts), limits_(limits), now_ns_(now_ns), out_(out), grouper_(out) {}

void DocumentMapper::Flatten(dom::object obj, const std::string& prefix) {
  for (dom::key_value_pair kv : obj) {
    std::string name = prefix.empty() ? std::string(kv.key) : prefix + "." + std::string(kv.key);
    dom::object inner;
    if (kv.value.get_object().get(inner) == simdjson::SUCCESS && inner.size() > 0) {
      // An object named as a message field may be the line (when no
      // message field is a plain value): remember it whole too.
      if (Contains(opts_.message_fields, name)) objects_.push_back({name, kv.value});
      Flatten(inner, name);
    } else {
      fields_.push_back({std::move(name), kv.value});
    }
  }
}

Status DocumentMapper::Add(dom::element doc, std::string_view raw) {
  dom::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) return Status::InvalidArgument("want a JSON object");
  fields_.clear();
  objects_.clear();
  Flatten(obj, "");

  // The line: the first message field present, in the options' order.
  const Field* message = nullptr;
  for (const auto& want : opts_.message_fields) {
    for (const auto& f : fields_) {
      if (f.name == want && !f.value.is_null()) {
        message = &f;
        break;
      }
    }
    if (message != nullptr) break;
  }
  // Else the first message field that is an object: its JSON is the line,
  // and its members are not metadata as well.
  std::string consumed_prefix;
  for (size_t i = 0; message == nullptr && i < opts_.message_fields.size(); i++) {
    for (const auto& o : objects_) {
      if (o.name == opts_.message_fields[i]) {
        message = &o;
        consumed_prefix = o.name + ".";
        break;
      }
    }
  }
  std::string line;
  if (message != nullptr) {
    line = Text(message->value);
  } else {
    while (!raw.empty() && (raw.back() == '\r' || raw.back() == ' ' || raw.back() == '\t')) raw.remove_suffix(1);
    line.assign(raw);
  }
  if (line.size() > limits_.max_line_bytes) {
    return Status::InvalidArgument(
        (message != nullptr ? "field " + Quote(message->name) : std::string("document")) + ": line of " +
        std::to_string(line.size()) + " bytes exceeds the maximum of " + std::to_string(limits_.max_line_bytes));
  }

  int64_t ts = now_ns_;
  Labels labels;
  md_.Clear();
  for (const auto& f : fields_) {
    if (&f == message || Contains(opts_.ignore_fields, f.name)) continue;
    if (!consumed_prefix.empty() && f.name.starts_with(consumed_prefix)) continue;
    if (!opts_.time_field.empty() && f.name == opts_.time_field) {
      int64_t t = 0;
      bool ok;
      switch (f.value.type()) {
        case dom::element_type::STRING: {
          std::string_view s(f.value);
          ok = s.empty() || s == "0" || ParseLogTime(s, &t);
          break;
        }
        case dom::element_type::INT64:
        case dom::element_type::UINT64:
        case dom::element_type::DOUBLE: ok = NumberToLogTime(double(f.value), &t) || double(f.value) == 0; break;
        case dom::element_type::NULL_VALUE: ok = true; break;
        default: ok = false;
      }
      if (!ok) {
        return Status::InvalidArgument("field " + Quote(f.name) + ": cannot read time " + Quote(Text(f.value)) +
                                       " (want RFC 3339 or a unix timestamp)");
      }
      if (t != 0) {
        // Integers past 2^53 lose digits as doubles: nanosecond numbers are
        // read exactly (ParseLogTime on their text).
        if (f.value.type() != dom::element_type::STRING && f.value.type() != dom::element_type::DOUBLE) {
          (void)ParseLogTime(Text(f.value), &t);
        }
        ts = t;
      }
      continue;
    }
    if (Contains(opts_.stream_fields, f.name)) {
      labels.emplace_back(NormalizeName(f.name), Text(f.value));
      continue;
    }
    md_.Add(NormalizeName(f.name), Text(f.value));
  }
  Entry& e = grouper_.For(std::move(labels))->entries.emplace_back();
  e.ts = ts;
  e.line = std::move(line);
  e.metadata = md_.Json();
  return Status::OK();
}

std::vector<std::string> SplitFieldList(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
  }
  return out;
}

}  // namespace loge::ingest
