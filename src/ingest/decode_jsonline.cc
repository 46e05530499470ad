// JSON lines (decode_jsonline.h): one simdjson parse per line into the
// lease's padded copy of the whole body.
#include "ingest/decode_jsonline.h"

#include "ingest/json_scratch.h"

namespace loge::ingest {

DocumentOptions DefaultJsonLineOptions() { return DocumentOptions{{"_msg"}, "_time", {}, {}}; }

Status DecodeJsonLines(std::string_view sent, const DocumentOptions& opts, const Limits& limits, int64_t now_ns,
                       Payload* out) {
  out->streams.clear();
  JsonScratch scratch;
  // The body, its invalid UTF-8 replaced (never a '\n': lines stay lines).
  const std::string_view body = scratch.Pad(sent);
  const char* padded = body.data();
  DocumentMapper mapper(opts, limits, now_ns, out);
  size_t pos = 0, line_no = 0;
  while (pos < body.size()) {
    const size_t nl = body.find('\n', pos);
    const size_t end = nl == std::string_view::npos ? body.size() : nl;
    const std::string_view line = body.substr(pos, end - pos);
    const size_t start = pos;
    pos = end + 1;
    line_no++;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    simdjson::dom::element doc;
    const simdjson::error_code err = scratch.parser().parse(padded + start, line.size(), false).get(doc);
    if (err == simdjson::MEMALLOC) return Status::ResourceExhausted("decoding JSON lines: out of memory");
    Status st = err != simdjson::SUCCESS
                    ? Status::InvalidArgument(std::string("malformed JSON: ") + simdjson::error_message(err))
                    : mapper.Add(doc, line);
    if (!st.ok()) return st.WithContext("line " + std::to_string(line_no));
  }
  if (out->streams.empty()) return Status::InvalidArgument("body: no JSON lines");
  return ValidatePayload(out, limits, Utf8::kKnownValid);  // Pad repaired the body
}

}  // namespace loge::ingest
