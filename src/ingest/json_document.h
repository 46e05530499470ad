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
#include <string>
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
  struct Field {
    std::string name;                 // dotted path
    simdjson::dom::element value;
  };
  void Flatten(simdjson::dom::object obj, const std::string& prefix);

  const DocumentOptions& opts_;
  const Limits& limits_;
  const int64_t now_ns_;
  Payload* out_;
  StreamGrouper grouper_;
  std::vector<Field> fields_;   // scratch: the leaves
  std::vector<Field> objects_;  // scratch: objects named as message fields
  MetadataBuilder md_;         // scratch
};

// ["a","b"] from "a,b" (spaces around names trimmed, empty names dropped).
std::vector<std::string> SplitFieldList(std::string_view list);

}  // namespace loge::ingest
