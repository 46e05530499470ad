// POST /api/v1/push: undo Content-Encoding, decode by Content-Type, validate,
// store. DecodePushBody is shared with POST /loki/api/v1/push
// (handler_loki.cc); docs/push-formats.md lists what each combination means.
#include <algorithm>
#include <cctype>

#include "ingest/decode_gzip.h"
#include "ingest/decode_loki_proto.h"
#include "ingest/decode_msgpack.h"
#include "server/handler_ingest.h"
#include "server/server.h"

namespace loge::server {

namespace {

enum class BodyFormat { kJson, kMsgpack, kProtobuf };

bool FormatOf(const std::string& type, BodyFormat* f) {
  if (type == "application/json") {
    *f = BodyFormat::kJson;
  } else if (type == "application/msgpack" || type == "application/x-msgpack") {
    *f = BodyFormat::kMsgpack;
  } else if (type == "application/x-protobuf" || type == "application/protobuf") {
    *f = BodyFormat::kProtobuf;
  } else {
    return false;
  }
  return true;
}

}  // namespace

std::string MediaType(std::string_view ct) {
  std::string_view t = ct.substr(0, ct.find(';'));
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  std::string out(t);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

Status UndoContentEncoding(HttpRequest* req, size_t max_bytes) {
  const std::string enc = MediaType(req->Header("content-encoding"));
  if (enc.empty() || enc == "identity") return Status::OK();
  if (enc != "gzip" && enc != "x-gzip" && enc != "deflate") {
    return Status::Unsupported("unsupported Content-Encoding \"" + enc + "\" (want gzip, deflate or identity)");
  }
  std::string inflated;
  LOGE_RETURN_IF_ERROR(ingest::Inflate(
      req->body, enc == "deflate" ? ingest::ZlibWrapper::kDeflate : ingest::ZlibWrapper::kGzip, max_bytes, &inflated));
  req->body = std::move(inflated);
  return Status::OK();
}

Status Server::DecodePushBody(HttpRequest& req, bool loki, Payload* out) {
  const size_t max_bytes = opts_.http.max_body_bytes;  // --max-body-size bounds the decoded body too
  const std::string type = MediaType(req.Header("content-type"));
  BodyFormat format;
  if (!FormatOf(type, &format)) {
    if (!loki) {
      return Status::Unsupported("unsupported Content-Type \"" + type +
                                 "\" (want application/json, application/msgpack or application/x-protobuf)");
    }
    format = BodyFormat::kProtobuf;  // Loki: anything but JSON is snappy protobuf
  }

  const std::string enc = MediaType(req.Header("content-encoding"));
  if (enc == "snappy") {
    // Clients such as Vector label protobuf pushes this way; protobuf
    // bodies are snappy blocks anyway, so Loki ignores it, and so do we.
    if (format != BodyFormat::kProtobuf) {
      return Status::Unsupported("Content-Encoding \"snappy\" applies only to protobuf bodies");
    }
  } else if (Status st = UndoContentEncoding(&req, max_bytes); !st.ok()) {
    if (st.code() != Code::kUnsupported) return st;
    return Status::Unsupported("unsupported Content-Encoding \"" + enc +
                               "\" (want gzip, deflate, identity, or snappy with protobuf)");
  }

  switch (format) {
    case BodyFormat::kJson: return ingest::DecodeJsonPush(req.body, opts_.limits, out);
    case BodyFormat::kMsgpack: return ingest::DecodeMsgpackPush(req.body, opts_.limits, out);
    case BodyFormat::kProtobuf: return ingest::DecodeLokiProtoPush(req.body, opts_.limits, max_bytes, out);
  }
  return Status::Unsupported("unsupported body format");
}

Status Server::StoreDiscovered(Payload p, bool service_name) {
  ingest::DiscoverOptions d = opts_.discover;
  d.service_name = d.service_name && service_name;
  ingest::DiscoverFields(d, &p);
  return store_->Push(std::move(p));
}

HttpResponse Server::HandlePush(HttpRequest& req) {
  Payload p;
  Status st = DecodePushBody(req, /*loki=*/false, &p);
  // loge's own push keeps its streams' labels as sent.
  if (st.ok()) st = StoreDiscovered(std::move(p), /*service_name=*/false);
  if (!st.ok()) return ErrorFromStatus(st);
  HttpResponse r;
  r.status = store_->durable() ? 200 : 202;
  r.body = R"({"status":"success"})";
  return r;
}

}  // namespace loge::server
