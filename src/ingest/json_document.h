// DocumentMapper: one JSON log document (an Elasticsearch bulk source, a
// JSON line) -> one entry, by field names — the rule VictoriaLogs applies to
// both formats. Internal to ingest/ (decode_es_bulk.cc, decode_jsonline.cc).
//
//   nested objects are flattened with '.' ({"host":{"name":"a"}} is
//     "host.name"), so field names below are dotted paths
//   message_fields: the first present is the line (a non-string as JSON);
//     with none present the line is the whole document as sent
//   time_field: the entry's time (ParseLogTime: RFC 3339 or a unix number by
//     magnitude); absent, "", 0 or null means the receive time
//   stream_fields: labels, names normalized (host.name -> host_name); none
//     present gives service_name="unknown_service"
//   ignore_fields: dropped
//   every other field: structured metadata, names normalized, values as
//     text (numbers and booleans as written, arrays as JSON; null and ""
//     dropped)
//
// Thread-safety: single-threaded value.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/types.h"
#include "ingest/decode_json.h"
#include "ingest/fields.h"

namespace loge::ingest {

struct DocumentOptions {
  std::vector<std::string> message_fields;  // dotted names, in order of preference
  std::string time_field;                   // dotted name; "" = always the receive time
  std::vector<std::string> stream_fields;   // dotted names that become labels
  std::vector<std::string> ignore_fields;   // dotted names dropped
};

class DocumentMapper {
 public:
  DocumentMapper(const DocumentOptions& opts, const Limits& limits, int64_t now_ns, Payload* out);
  DocumentMapper(const DocumentMapper&) = delete;
  DocumentMapper& operator=(const DocumentMapper&) = delete;

  // Adds the document (`raw` is its text, the line when no message field
  // is present). InvalidArgument, with a reason that names the field but
  // not the document's position, when it cannot be stored: not an object,
  // an unreadable time, a line over the limit. Nothing is added then.
  Status Add(simdjson::dom::element doc, std::string_view raw);

 private:
  // A flattened field. Top-level names are views into the parsed document;
  // nested ones ("a.b.c") are built in names_.
  struct Field {
    std::string_view key;  // the name when !nested
    uint32_t off = 0;      // the name in names_ when nested
    uint32_t len = 0;
    bool nested = false;
    simdjson::dom::element value;
  };
  std::string_view Name(const Field& f) const {
    return f.nested ? std::string_view(names_).substr(f.off, f.len) : f.key;
  }
  void Flatten(simdjson::dom::object obj, const Field* parent);
  // The label/metadata name of a field name: the name itself when it is
  // already valid, else its normalized form (cached per mapper).
  std::string_view Normalized(std::string_view name);
  // A value as text: a view of a string value, else `owned` filled.
  static std::string_view Text(simdjson::dom::element v, std::string* owned);

  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };

  const DocumentOptions& opts_;
  const Limits& limits_;
  const int64_t now_ns_;
  StreamGrouper grouper_;
  std::vector<Field> fields_;   // scratch: the leaves
  std::vector<Field> objects_;  // scratch: objects named as message fields
  std::string names_;           // scratch: nested field names
  std::vector<std::pair<std::string_view, std::string_view>> labels_;  // scratch
  std::deque<std::string> owned_;                                      // scratch: non-string values
  std::unordered_map<std::string, std::string, Hash, std::equal_to<>> normalized_;  // name -> label name
  MetadataBuilder md_;          // scratch
};

// ["a","b"] from "a,b" (spaces around names trimmed, empty names dropped).
std::vector<std::string> SplitFieldList(std::string_view list);

}  // namespace loge::ingest
