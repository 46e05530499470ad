// Elasticsearch bulk bodies (POST /_bulk, /insert/elasticsearch/_bulk,
// /<index>/_bulk): newline-delimited JSON, an action line followed by a
// source document for `index` and `create`, as Filebeat, Logstash,
// Fluentd, Vector and the Elasticsearch clients send them. Each source
// document becomes one entry by DocumentMapper's rules (json_document.h)
// with EsBulkOptions' field names.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/types.h"
#include "ingest/decode_json.h"
#include "ingest/json_document.h"

namespace loge::ingest {

struct EsBulkOptions {
  // --es-message-field, --es-time-field, --es-stream-fields.
  DocumentOptions doc{{"message", "log", "msg"}, "@timestamp", {"host.name", "service.name", "app"}, {}};
  std::string default_index;  // from /<index>/_bulk; echoed when an action names none
};

// The outcome of one action, for the bulk answer's `items`.
struct EsBulkItem {
  std::string action;  // "index", "create", "update", "delete"
  std::string index;   // _index as given (or the default)
  std::string id;      // _id as given, "" when none
  int status = 201;    // 201 stored (once the push succeeds); 400 refused
  std::string error_type;    // with status 400: an Elasticsearch exception name
  std::string error_reason;  // with status 400: why
};

// Decodes the body into *out (only the documents that can be stored; it may
// be empty) and one item per action into *items, in order, then runs
// ValidatePayload on a non-empty payload. A document that cannot be stored
// (not a JSON object, an unreadable time, a line over the limit) and the
// update and delete actions fail alone (item status 400). A malformed
// action line, an unknown action or an index/create without its document
// is InvalidArgument for the whole body, as in Elasticsearch.
Status DecodeEsBulk(std::string_view body, const EsBulkOptions& opts, const Limits& limits, int64_t now_ns,
                    Payload* out, std::vector<EsBulkItem>* items);

}  // namespace loge::ingest
