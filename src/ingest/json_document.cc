// DocumentMapper (json_document.h).
#include "ingest/json_document.h"

#include <algorithm>

namespace loge::ingest {
namespace {

namespace dom = simdjson::dom;

bool Contains(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string Quote(std::string_view s) {
  constexpr size_t kMax = 64;
  std::string out = "\"" + std::string(s.substr(0, kMax));
  if (s.size() > kMax) out += "...";
  return out + "\"";
}

}  // namespace

DocumentMapper::DocumentMapper(const DocumentOptions& opts, const Limits& limits, int64_t now_ns, Payload* out)
    : opts_(opts), limits_(limits), now_ns_(now_ns), grouper_(out) {}

std::string_view DocumentMapper::Text(dom::element v, std::string* owned) {
  owned->clear();
  switch (v.type()) {
    case dom::element_type::STRING: return std::string_view(v);
    case dom::element_type::INT64: *owned = std::to_string(int64_t(v)); break;
    case dom::element_type::UINT64: *owned = std::to_string(uint64_t(v)); break;
    case dom::element_type::DOUBLE: *owned = FormatDouble(double(v)); break;
    case dom::element_type::BOOL: *owned = bool(v) ? "true" : "false"; break;
    case dom::element_type::NULL_VALUE: break;
    case dom::element_type::ARRAY:
    case dom::element_type::OBJECT: *owned = simdjson::minify(v); break;
  }
  return *owned;
}

std::string_view DocumentMapper::Normalized(std::string_view name) {
  if (IsValidLabelName(name)) return name;
  auto it = normalized_.find(name);
  if (it == normalized_.end()) it = normalized_.emplace(std::string(name), NormalizeName(name)).first;
  return it->second;
}

void DocumentMapper::Flatten(dom::object obj, const Field* parent) {
  for (dom::key_value_pair kv : obj) {
    Field f;
    f.value = kv.value;
    if (parent == nullptr) {
      f.key = kv.key;
    } else {
      // parent's name may itself live in names_: reserve first, so the
      // append below reads it before anything moves.
      const std::string_view pname = Name(*parent);
      const size_t need = pname.size() + 1 + kv.key.size();
      if (parent->nested) {
        names_.reserve(names_.size() + need);
      }
      const std::string_view pn = Name(*parent);
      f.off = static_cast<uint32_t>(names_.size());
      names_.append(pn).append(".").append(kv.key);
      f.len = static_cast<uint32_t>(need);
      f.nested = true;
    }
    dom::object inner;
    if (kv.value.get_object().get(inner) == simdjson::SUCCESS && inner.size() > 0) {
      // An object named as a message field may be the line (when no
      // message field is a plain value): remember it whole too.
      if (Contains(opts_.message_fields, Name(f))) objects_.push_back(f);
      Flatten(inner, &f);
    } else {
      fields_.push_back(f);
    }
  }
}

Status DocumentMapper::Add(dom::element doc, std::string_view raw) {
  dom::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) return Status::InvalidArgument("want a JSON object");
  fields_.clear();
  objects_.clear();
  names_.clear();
  // names_ must not move while fields point into it by offset only; views
  // are taken after flattening ends.
  Flatten(obj, nullptr);

  // The line: the first message field present, in the options' order;
  // else the first message field that is an object (its JSON), whose
  // members are then not metadata as well.
  const Field* message = nullptr;
  for (size_t i = 0; message == nullptr && i < opts_.message_fields.size(); i++) {
    for (const auto& f : fields_) {
      if (Name(f) == opts_.message_fields[i] && !f.value.is_null()) {
        message = &f;
        break;
      }
    }
  }
  std::string consumed_prefix;
  for (size_t i = 0; message == nullptr && i < opts_.message_fields.size(); i++) {
    for (const auto& o : objects_) {
      if (Name(o) == opts_.message_fields[i]) {
        message = &o;
        consumed_prefix = std::string(Name(o)) + ".";
        break;
      }
    }
  }
  std::string owned;
  std::string line;
  if (message != nullptr) {
    line.assign(Text(message->value, &owned));
  } else {
    while (!raw.empty() && (raw.back() == '\r' || raw.back() == ' ' || raw.back() == '\t')) raw.remove_suffix(1);
    line.assign(raw);
  }
  if (line.size() > limits_.max_line_bytes) {
    return Status::InvalidArgument(
        (message != nullptr ? "field " + Quote(Name(*message)) : std::string("document")) + ": line of " +
        std::to_string(line.size()) + " bytes exceeds the maximum of " + std::to_string(limits_.max_line_bytes));
  }

  int64_t ts = now_ns_;
  labels_.clear();
  owned_.clear();
  md_.Clear();
  for (const auto& f : fields_) {
    const std::string_view name = Name(f);
    if (&f == message || Contains(opts_.ignore_fields, name)) continue;
    if (!consumed_prefix.empty() && name.starts_with(consumed_prefix)) continue;
    if (!opts_.time_field.empty() && name == opts_.time_field) {
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
          // Integers read exactly (nanosecond numbers need all 19 digits).
          ok = ParseLogTime(Text(f.value, &owned), &t) || double(f.value) == 0;
          break;
        case dom::element_type::DOUBLE: ok = NumberToLogTime(double(f.value), &t) || double(f.value) == 0; break;
        case dom::element_type::NULL_VALUE: ok = true; break;
        default: ok = false;
      }
      if (!ok) {
        return Status::InvalidArgument("field " + Quote(name) + ": cannot read time " +
                                       Quote(Text(f.value, &owned)) + " (want RFC 3339 or a unix timestamp)");
      }
      if (t != 0) ts = t;
      continue;
    }
    std::string_view value = Text(f.value, &owned);
    if (!owned.empty()) value = owned_.emplace_back(std::move(owned));
    if (Contains(opts_.stream_fields, name)) {
      labels_.emplace_back(Normalized(name), value);
    } else {
      md_.Add(Normalized(name), value);
    }
  }
  Entry& e = grouper_.For(&labels_)->entries.emplace_back();
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
