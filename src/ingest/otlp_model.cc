// OtlpMapper and the AnyValue helpers (otlp_model.h): the one copy of the
// OTLP -> loge mapping that both wire encodings feed.
#include "ingest/otlp_model.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>

#include "core/json_writer.h"

namespace loge::ingest {
namespace {

void WriteJson(const OtlpValue& v, JsonWriter* w) {
  switch (v.kind) {
    case OtlpValue::Kind::kNone: w->Null(); break;
    case OtlpValue::Kind::kString: w->String(v.s); break;
    case OtlpValue::Kind::kBool: w->Bool(v.b); break;
    case OtlpValue::Kind::kInt: w->Int(v.i); break;
    case OtlpValue::Kind::kDouble: {
      const std::string t = FormatDouble(v.d);
      if (std::isfinite(v.d)) {
        w->Raw(t);
      } else {
        w->String(t);  // JSON has no NaN or Infinity
      }
      break;
    }
    case OtlpValue::Kind::kBytes: w->String(v.bytes_b64 ? std::string(v.s) : Base64Encode(v.s)); break;
    case OtlpValue::Kind::kArray:
      w->BeginArray();
      for (const auto& item : v.items) WriteJson(item, w);
      w->EndArray();
      break;
    case OtlpValue::Kind::kKvList:
      w->BeginObject();
      for (size_t k = 0; k < v.items.size(); k++) {
        w->Key(v.keys[k]);
        WriteJson(v.items[k], w);
      }
      w->EndObject();
      break;
  }
}

// Appends (name, text) pairs for an attribute: maps flattened with '_'
// between the normalized key parts, as Loki does; everything else as text.
void Flatten(const std::string& name, const OtlpValue& v, std::vector<std::pair<std::string, std::string>>* out) {
  if (v.kind == OtlpValue::Kind::kKvList) {
    for (size_t k = 0; k < v.items.size(); k++) {
      Flatten(name + "_" + NormalizeName(v.keys[k]), v.items[k], out);
    }
    return;
  }
  std::string text = OtlpValueText(v);
  if (!text.empty()) out->emplace_back(name, std::move(text));
}

}  // namespace

void OtlpRecord::Clear() {
  time = observed = 0;
  severity_number = 0;
  severity_text = event_name = {};
  body = OtlpValue();
  attributes.clear();
  flags = 0;
  trace_id.clear();
  span_id.clear();
}

std::string OtlpValueText(const OtlpValue& v) {
  switch (v.kind) {
    case OtlpValue::Kind::kNone: return {};
    case OtlpValue::Kind::kString: return std::string(v.s);
    case OtlpValue::Kind::kBool: return v.b ? "true" : "false";
    case OtlpValue::Kind::kInt: return std::to_string(v.i);
    case OtlpValue::Kind::kDouble: return FormatDouble(v.d);
    case OtlpValue::Kind::kBytes: return v.bytes_b64 ? std::string(v.s) : Base64Encode(v.s);
    case OtlpValue::Kind::kArray:
    case OtlpValue::Kind::kKvList: {
      JsonWriter w;
      WriteJson(v, &w);
      return w.Take();
    }
  }
  return {};
}

OtlpMapper::OtlpMapper(const OtlpOptions& opts, const Limits& limits, int64_t now_ns, Payload* out)
    : opts_(opts), limits_(limits), now_ns_(now_ns), out_(out), grouper_(out) {}

void OtlpMapper::BeginResource(const OtlpAttributes& attributes) {
  Labels labels;
  resource_md_.clear();
  for (const auto& [key, value] : attributes) {
    const bool label = std::find(opts_.label_attributes.begin(), opts_.label_attributes.end(), key) !=
                       opts_.label_attributes.end();
    if (label) {
      labels.emplace_back(NormalizeName(key), OtlpValueText(value));
    } else {
      Flatten(NormalizeName(key), value, &resource_md_);
    }
  }
  Stream* s = grouper_.For(std::move(labels));
  stream_ = static_cast<size_t>(s - out_->streams.data());
  have_stream_ = true;
  scope_md_.clear();
}

void OtlpMapper::BeginScope(std::string_view name, std::string_view version, const OtlpAttributes& attributes) {
  scope_md_.clear();
  if (!name.empty()) scope_md_.emplace_back("scope_name", std::string(name));
  if (!version.empty()) scope_md_.emplace_back("scope_version", std::string(version));
  for (const auto& [key, value] : attributes) Flatten(NormalizeName(key), value, &scope_md_);
}

void OtlpMapper::Reject(std::string reason) {
  if (rejects_.records++ == 0) rejects_.reason = std::move(reason);
}

void OtlpMapper::Add(const OtlpRecord& r) {
  if (!have_stream_) BeginResource({});  // a ResourceLogs without a resource
  const uint64_t t = r.time != 0 ? r.time : r.observed;
  if (t > static_cast<uint64_t>(INT64_MAX)) {
    Reject("log record time " + std::to_string(t) + " ns is past the year 2262");
    return;
  }
  std::string line = OtlpValueText(r.body);
  if (line.size() > limits_.max_line_bytes) {
    Reject("log record body of " + std::to_string(line.size()) + " bytes exceeds the maximum line size of " +
           std::to_string(limits_.max_line_bytes));
    return;
  }
  md_.Clear();
  md_.Add("trace_id", r.trace_id);
  md_.Add("span_id", r.span_id);
  md_.Add("severity_text", r.severity_text);
  if (r.severity_number != 0) md_.Add("severity_number", std::to_string(r.severity_number));
  if (r.flags != 0) md_.Add("flags", std::to_string(r.flags));
  md_.Add("event_name", r.event_name);
  attrs_.clear();
  for (const auto& [key, value] : r.attributes) Flatten(NormalizeName(key), value, &attrs_);
  for (const auto& [k, v] : attrs_) md_.Add(k, v);
  for (const auto& [k, v] : scope_md_) md_.Add(k, v);
  for (const auto& [k, v] : resource_md_) md_.Add(k, v);

  Entry& e = out_->streams[stream_].entries.emplace_back();
  e.ts = t != 0 ? static_cast<int64_t>(t) : now_ns_;
  e.line = std::move(line);
  e.metadata = md_.Json();
}

Status OtlpMapper::Finish(OtlpRejects* rejects) {
  *rejects = std::move(rejects_);
  // Streams whose records were all rejected hold no entries: drop them.
  auto& ss = out_->streams;
  ss.erase(std::remove_if(ss.begin(), ss.end(), [](const Stream& s) { return s.entries.empty(); }), ss.end());
  if (ss.empty()) return Status::OK();
  return ValidatePayload(out_, limits_);
}

std::vector<std::string> DefaultOtlpLabelAttributes() {
  return {"cloud.availability_zone", "cloud.region",        "container.name",       "deployment.environment",
          "k8s.cluster.name",        "k8s.container.name",  "k8s.cronjob.name",     "k8s.daemonset.name",
          "k8s.deployment.name",     "k8s.job.name",        "k8s.namespace.name",   "k8s.pod.name",
          "k8s.replicaset.name",     "k8s.statefulset.name", "service.instance.id", "service.name",
          "service.namespace"};
}

}  // namespace loge::ingest
