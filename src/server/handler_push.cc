// POST /api/v1/push: decode by Content-Type, validate, store.
#include <algorithm>

#include "server/server.h"

namespace loge::server {

namespace {

// "Application/JSON; charset=utf-8" -> "application/json".
std::string MediaType(std::string_view ct) {
  std::string_view t = ct.substr(0, ct.find(';'));
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  std::string out(t);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

}  // namespace

HttpResponse Server::HandlePush(HttpRequest& req) {
  std::string enc = MediaType(req.Header("content-encoding"));
  if (!enc.empty() && enc != "identity") {
    return ErrorFromStatus(Status::Unsupported("unsupported Content-Encoding \"" + enc + "\""));
  }
  std::string type = MediaType(req.Header("content-type"));
  Payload p;
  Status st;
  if (type == "application/json") {
    st = ingest::DecodeJsonPush(req.body, opts_.limits, &p);
  } else {
    st = Status::Unsupported("unsupported Content-Type \"" + type + "\" (want application/json)");
  }
  if (st.ok()) st = ingester_->Push(std::move(p));
  if (!st.ok()) return ErrorFromStatus(st);
  HttpResponse r;
  r.status = ingester_->durable() ? 200 : 202;
  r.body = R"({"status":"success"})";
  return r;
}

}  // namespace loge::server
