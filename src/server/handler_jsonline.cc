// POST /insert/jsonline: one JSON object per line (decode_jsonline.h), with
// VictoriaLogs' parameters, as query parameters or VL-* headers (the query
// parameter wins):
//
//   _msg_field     fields holding the line, first present wins (default _msg)
//   _time_field    the field holding the time (default _time)
//   _stream_fields fields that become stream labels (default none)
//   ignore_fields  fields dropped
//
// Answers like POST /api/v1/push: 200 {"status":"success"} after the WAL
// fsync (202 with --durable=false), 400 naming the line, 413, 415 for an
// unknown Content-Encoding, 429 with Retry-After, 503.
#include "core/time.h"
#include "ingest/decode_jsonline.h"
#include "server/handler_explore.h"
#include "server/handler_ingest.h"
#include "server/server.h"

namespace loge::server {

HttpResponse Server::HandleJsonLine(HttpRequest& req) {
  auto params = ParseQueryString(req.query);
  if (!params.ok()) return ErrorFromStatus(params.status());
  ingest::DocumentOptions opts = ingest::DefaultJsonLineOptions();
  auto param = [&](std::string_view name, std::string_view header, std::string* out) {
    for (const auto& [k, v] : *params) {
      if (k == name) {
        *out = v;
        return true;
      }
    }
    if (std::string_view h = req.Header(header); !h.empty()) {
      *out = std::string(h);
      return true;
    }
    return false;
  };
  std::string v;
  if (param("_msg_field", "vl-msg-field", &v)) opts.message_fields = ingest::SplitFieldList(v);
  if (param("_time_field", "vl-time-field", &v)) opts.time_field = v;
  if (param("_stream_fields", "vl-stream-fields", &v)) opts.stream_fields = ingest::SplitFieldList(v);
  if (param("ignore_fields", "vl-ignore-fields", &v)) opts.ignore_fields = ingest::SplitFieldList(v);

  Status st = UndoContentEncoding(&req, opts_.http.max_body_bytes);
  Payload p;
  if (st.ok()) st = ingest::DecodeJsonLines(req.body, opts, opts_.limits, NowNanos(), &p);
  if (st.ok()) st = store_->Push(std::move(p));
  if (!st.ok()) return ErrorFromStatus(st);
  HttpResponse r;
  r.status = store_->durable() ? 200 : 202;
  r.body = R"({"status":"success"})";
  return r;
}

}  // namespace loge::server
