// POST /otlp/v1/logs and /v1/logs: OpenTelemetry logs over OTLP/HTTP
// (decode_otlp.h maps them), answered as the OTLP/HTTP spec says:
//
//   200  stored (after the WAL fsync when --durable; OTLP has no 202):
//        an ExportLogsServiceResponse in the request's encoding, with
//        partial_success {rejected_log_records, error_message} when some
//        records could not be stored (a line over --max-line-size)
//   400  the body does not decode (exporters drop the batch)
//   413  body or decoded body over --max-body-size; 415 another
//        Content-Type or Content-Encoding (both final for exporters)
//   429, 503  with Retry-After (exporters retry after it)
// Every error carries a google.rpc.Status {code, message} in the request's
// encoding (protobuf unless the request was JSON). The status code and
// headers come from the one Status -> HTTP mapping.
#include "core/json_writer.h"
#include "core/time.h"
#include "ingest/decode_otlp.h"
#include "server/handler_ingest.h"
#include "server/server.h"

namespace loge::server {
namespace {

constexpr std::string_view kProtobuf = "application/x-protobuf";

// A length-delimited protobuf field.
void PutBytesField(uint32_t field, std::string_view v, std::string* out) {
  PutVarint64(out, field << 3 | 2);
  PutVarint64(out, v.size());
  out->append(v);
}

// google.rpc.Code for an HTTP status (the codes gRPC would have sent).
int RpcCode(int http) {
  switch (http) {
    case 400:
    case 413:
    case 415: return 3;  // INVALID_ARGUMENT
    case 404: return 5;  // NOT_FOUND
    case 429: return 8;  // RESOURCE_EXHAUSTED
    case 503: return 14;  // UNAVAILABLE
    default: return 13;  // INTERNAL
  }
}

HttpResponse OtlpError(const Status& st, bool json) {
  HttpResponse r = ErrorFromStatus(st);
  const int code = RpcCode(r.status);
  if (json) {
    JsonWriter w;
    w.BeginObject();
    w.Key("code");
    w.Int(code);
    w.Key("message");
    w.String(st.message());
    w.EndObject();
    r.body = w.Take();
    r.content_type = "application/json";
  } else {
    r.body.clear();
    PutVarint64(&r.body, 1 << 3);  // code = 1
    PutVarint64(&r.body, static_cast<uint64_t>(code));
    PutBytesField(2, st.message(), &r.body);  // message = 2
    r.content_type = std::string(kProtobuf);
  }
  return r;
}

HttpResponse OtlpOk(const ingest::OtlpRejects& rejects, bool json) {
  HttpResponse r;
  if (json) {
    JsonWriter w;
    w.BeginObject();
    if (rejects.records > 0) {
      w.Key("partialSuccess");
      w.BeginObject();
      w.Key("rejectedLogRecords");
      w.String(std::to_string(rejects.records));  // int64 in protobuf's JSON mapping
      w.Key("errorMessage");
      w.String(rejects.reason);
      w.EndObject();
    }
    w.EndObject();
    r.body = w.Take();
    r.content_type = "application/json";
  } else {
    if (rejects.records > 0) {
      std::string partial;  // ExportLogsPartialSuccess
      PutVarint64(&partial, 1 << 3);
      PutVarint64(&partial, static_cast<uint64_t>(rejects.records));
      PutBytesField(2, rejects.reason, &partial);
      PutBytesField(1, partial, &r.body);  // ExportLogsServiceResponse.partial_success = 1
    }
    r.content_type = std::string(kProtobuf);
  }
  return r;
}

}  // namespace

HttpResponse Server::HandleOtlpLogs(HttpRequest& req) {
  const std::string type = MediaType(req.Header("content-type"));
  const bool json = type == "application/json";
  if (!json && type != kProtobuf && type != "application/protobuf") {
    return OtlpError(Status::Unsupported("unsupported Content-Type \"" + type +
                                         "\" (OTLP/HTTP takes application/x-protobuf or application/json)"),
                     false);
  }
  Status st = UndoContentEncoding(&req, opts_.http.max_body_bytes);
  if (!st.ok()) return OtlpError(st, json);
  Payload p;
  ingest::OtlpRejects rejects;
  st = json ? ingest::DecodeOtlpLogsJson(req.body, opts_.otlp, opts_.limits, NowNanos(), &p, &rejects)
            : ingest::DecodeOtlpLogsProto(req.body, opts_.otlp, opts_.limits, NowNanos(), &p, &rejects);
  // detected_level from severity_text / severity_number, as Loki derives it.
  if (st.ok() && !p.streams.empty()) st = StoreDiscovered(std::move(p), /*service_name=*/false);
  if (!st.ok()) return OtlpError(st, json);
  return OtlpOk(rejects, json);
}

}  // namespace loge::server
