// The Elasticsearch API as log shippers use it (Filebeat, Logstash,
// Fluentd, Vector, the Elasticsearch clients), at the root and under
// /insert/elasticsearch/ (VictoriaLogs' prefix):
//
//   POST /_bulk, /<index>/_bulk      documents in, one entry each
//                                    (decode_es_bulk.h); the answer is
//                                    Elasticsearch's bulk response with a
//                                    status per item, after the WAL fsync
//   GET, HEAD /                      the cluster info a client checks the
//                                    version in (see IsEsProbe for when /
//                                    is this rather than the web UI)
//   GET /_license, /_xpack           a basic, active license
//   anything else under /_…          200 {"acknowledged":true}: template,
//                                    ILM and pipeline set-up calls succeed
//                                    and change nothing
//
// Every answer carries X-Elastic-Product: Elasticsearch (the official
// clients refuse a server without it). A whole request that cannot be
// stored (429 backpressure, 503, 413, a malformed action line) gets
// Elasticsearch's error shape {"error":{"type","reason",…},"status"};
// clients retry 429 and 503.
#include <cctype>
#include <charconv>
#include <chrono>

#include "core/json_writer.h"
#include "core/time.h"
#include "ingest/decode_es_bulk.h"
#include "server/handler_ingest.h"
#include "server/server.h"

namespace loge::server {
namespace {

HttpResponse EsJson(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers.emplace_back("X-Elastic-Product", "Elasticsearch");
  return r;
}

// Elasticsearch's exception name for an HTTP status.
const char* EsErrorType(int status) {
  switch (status) {
    case 400: return "illegal_argument_exception";
    case 413: return "content_too_long_exception";
    case 415: return "media_type_header_exception";
    case 429: return "es_rejected_execution_exception";
    case 503: return "unavailable_shards_exception";
    default: return "exception";
  }
}

HttpResponse EsError(const Status& st) {
  HttpResponse r = ErrorFromStatus(st);  // status and Retry-After
  JsonWriter w;
  w.BeginObject();
  w.Key("error");
  w.BeginObject();
  w.Key("root_cause");
  w.BeginArray();
  w.BeginObject();
  w.Key("type");
  w.String(EsErrorType(r.status));
  w.Key("reason");
  w.String(st.message());
  w.EndObject();
  w.EndArray();
  w.Key("type");
  w.String(EsErrorType(r.status));
  w.Key("reason");
  w.String(st.message());
  w.EndObject();
  w.Key("status");
  w.Int(r.status);
  w.EndObject();
  r.body = w.Take();
  r.headers.emplace_back("X-Elastic-Product", "Elasticsearch");
  return r;
}

std::string InfoBody(const std::string& version) {
  JsonWriter w;
  w.BeginObject();
  w.Key("name");
  w.String("loge");
  w.Key("cluster_name");
  w.String("loge");
  w.Key("cluster_uuid");
  w.String("bG9nZS1sb2ctc3RvcmU");
  w.Key("version");
  w.BeginObject();
  w.Key("number");
  w.String(version);
  w.Key("build_flavor");
  w.String("default");
  w.Key("build_type");
  w.String("tar");
  w.Key("build_hash");
  w.String("loge");
  w.Key("build_date");
  w.String("2024-01-01T00:00:00.000Z");
  w.Key("build_snapshot");
  w.Bool(false);
  w.Key("lucene_version");
  w.String("9.12.0");
  w.Key("minimum_wire_compatibility_version");
  w.String("7.17.0");
  w.Key("minimum_index_compatibility_version");
  w.String("7.0.0");
  w.EndObject();
  w.Key("tagline");
  w.String("You Know, for Search");
  w.EndObject();
  return w.Take();
}

void WriteLicense(JsonWriter* w) {
  w->BeginObject();
  w->Key("status");
  w->String("active");
  w->Key("uid");
  w->String("6c6f6765-0000-4000-8000-000000000001");
  w->Key("type");
  w->String("basic");
  w->Key("mode");
  w->String("basic");
  w->Key("issue_date_in_millis");
  w->Int(1704067200000);
  w->Key("max_nodes");
  w->Int(1000);
  w->Key("issued_to");
  w->String("loge");
  w->Key("issuer");
  w->String("loge");
  w->Key("start_date_in_millis");
  w->Int(-1);
  w->EndObject();
}

}  // namespace

bool IsEsProbe(const HttpRequest& req) {
  const std::string_view accept = req.Header("accept");
  if (accept.find("text/html") != std::string_view::npos) return false;  // a browser: the UI
  if (accept.find("json") != std::string_view::npos) return true;        // Beats, the clients
  for (const auto& [name, value] : req.headers) {
    if (name.starts_with("x-elastic-")) return true;  // x-elastic-client-meta, x-elastic-product-origin
  }
  std::string ua(req.Header("user-agent"));
  for (char& c : ua) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view who : {"elastic", "beat", "logstash", "fluent", "vector", "manticore"}) {
    if (ua.find(who) != std::string::npos) return true;
  }
  return false;
}

HttpResponse Server::HandleEsBulk(HttpRequest& req, std::string_view default_index) {
  const auto start = std::chrono::steady_clock::now();
  Status st = UndoContentEncoding(&req, opts_.http.max_body_bytes);
  if (!st.ok()) return EsError(st);
  ingest::EsBulkOptions opts = opts_.es;
  opts.default_index = std::string(default_index);
  Payload p;
  std::vector<ingest::EsBulkItem> items;
  st = ingest::DecodeEsBulk(req.body, opts, opts_.limits, NowNanos(), &p, &items);
  if (st.ok() && !p.streams.empty()) st = store_->Push(std::move(p));
  if (!st.ok()) return EsError(st);

  // Written by appends rather than JsonWriter calls: an answer has an item
  // per document (~190 bytes each), about as many bytes as the request.
  bool errors = false;
  for (const auto& item : items) errors |= item.status >= 300;
  std::string out;
  out.reserve(64 + items.size() * 200);
  out += "{\"took\":";
  out += std::to_string(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count());
  out += errors ? ",\"errors\":true,\"items\":[" : ",\"errors\":false,\"items\":[";
  const std::string id_base = std::to_string(NowNanos()) + "-";
  std::string escaped_index;
  const std::string* last_index = nullptr;
  char num[24];
  for (size_t i = 0; i < items.size(); i++) {
    const auto& item = items[i];
    if (i > 0) out += ',';
    out += "{\"";
    out += item.action;  // one of index, create, update, delete: nothing to escape
    out += "\":{\"_index\":";
    if (last_index == nullptr || *last_index != item.index) {  // most items share one index
      escaped_index.clear();
      JsonWriter::Escape(item.index, &escaped_index);
      last_index = &item.index;
    }
    out += escaped_index;
    out += ",\"_id\":";
    if (item.id.empty()) {
      out += '"';
      out += id_base;
      out.append(num, std::to_chars(num, num + sizeof(num), i).ptr);
      out += '"';
    } else {
      JsonWriter::Escape(item.id, &out);
    }
    if (item.status < 300) {
      out += ",\"_version\":1,\"result\":\"created\",\"_shards\":{\"total\":1,\"successful\":1,\"failed\":0},\"_seq_no\":";
      out.append(num, std::to_chars(num, num + sizeof(num), i).ptr);
      out += ",\"_primary_term\":1,\"status\":201}}";
    } else {
      out += ",\"error\":{\"type\":";
      JsonWriter::Escape(item.error_type, &out);
      out += ",\"reason\":";
      JsonWriter::Escape(item.error_reason, &out);
      out += "},\"status\":";
      out += std::to_string(item.status);
      out += "}}";
    }
  }
  out += "]}";
  return EsJson(200, std::move(out));
}

HttpResponse Server::HandleEsApi(HttpRequest& req, std::string_view api_path) {
  if (api_path == "/" || api_path.empty()) {
    if (req.method != "GET" && req.method != "HEAD") {
      HttpResponse r = EsError(Status::InvalidArgument("method " + req.method + " not allowed on " + req.path));
      r.status = 405;
      r.headers.emplace_back("Allow", "GET, HEAD");
      return r;
    }
    return EsJson(200, InfoBody(opts_.es_version));
  }
  if (api_path == "/_license" || api_path == "/_license/") {
    JsonWriter w;
    w.BeginObject();
    w.Key("license");
    WriteLicense(&w);
    w.EndObject();
    return EsJson(200, w.Take());
  }
  if (api_path == "/_xpack" || api_path == "/_xpack/") {
    JsonWriter w;
    w.BeginObject();
    w.Key("build");
    w.Raw(R"({"hash":"loge","date":"2024-01-01T00:00:00.000Z"})");
    w.Key("license");
    WriteLicense(&w);
    w.Key("features");
    w.Raw("{}");
    w.EndObject();
    return EsJson(200, w.Take());
  }
  // Index templates, ILM policies, ingest pipelines, data streams…: loge
  // keeps no indices, so set-up calls succeed and change nothing.
  return EsJson(200, R"({"acknowledged":true})");
}

}  // namespace loge::server
