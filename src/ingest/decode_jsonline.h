// JSON lines (POST /insert/jsonline, VictoriaLogs' endpoint): one JSON
// object per line, each an entry by DocumentMapper's rules
// (json_document.h). The field names come from the query parameters
// VictoriaLogs defines — _msg_field (default _msg), _time_field (default
// _time), _stream_fields, ignore_fields — which the handler puts in the
// DocumentOptions.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/status.h"
#include "core/types.h"
#include "ingest/decode_json.h"
#include "ingest/json_document.h"

namespace loge::ingest {

// VictoriaLogs' defaults for the message and time fields.
DocumentOptions DefaultJsonLineOptions();

// Decodes every non-blank line into *out, then runs ValidatePayload. A line
// that is not a JSON object, has an unreadable time or a line over the
// limit fails the whole body: InvalidArgument naming the line ("line 3:
// field \"_time\": …"). A body with no lines is InvalidArgument too.
Status DecodeJsonLines(std::string_view body, const DocumentOptions& opts, const Limits& limits, int64_t now_ns,
                       Payload* out);

}  // namespace loge::ingest
