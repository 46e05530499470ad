// OTLP/HTTP JSON: ExportLogsServiceRequest in the OTLP JSON encoding, with
// simdjson's DOM (the whole document is checked before it is walked, like
// the Loki JSON decoder). The encoding is protobuf's JSON mapping with
// OTLP's changes: keys in lowerCamelCase (the proto names are accepted too,
// as protobuf's own parsers do), trace and span ids as hex rather than
// base64, enums as integers; 64-bit integers arrive as strings or numbers.
// Unknown keys are ignored, as the spec requires.
#include <charconv>
#include <cmath>

#include "ingest/decode_otlp.h"
#include "ingest/json_scratch.h"
#include "ingest/otlp_model.h"

namespace loge::ingest {
namespace {

namespace dom = simdjson::dom;

class Walker {
 public:
  Status Fail(const std::string& path, const std::string& what) {
    return Status::InvalidArgument(path + ": " + what);
  }

  // obj[camel] or obj[snake]; false when neither is there (or is null).
  static bool Get(dom::object obj, std::string_view camel, std::string_view snake, dom::element* out) {
    if (obj.at_key(camel).get(*out) == simdjson::SUCCESS && !out->is_null()) return true;
    return !snake.empty() && obj.at_key(snake).get(*out) == simdjson::SUCCESS && !out->is_null();
  }

  Status Array(dom::object obj, std::string_view camel, std::string_view snake, const std::string& path,
               dom::array* out, bool* present) {
    dom::element el;
    *present = Get(obj, camel, snake, &el);
    if (!*present) return Status::OK();
    if (el.get_array().get(*out) != simdjson::SUCCESS) return Fail(path + "." + std::string(camel), "want an array");
    return Status::OK();
  }

  Status String(dom::object obj, std::string_view camel, std::string_view snake, const std::string& path,
                std::string_view* out) {
    dom::element el;
    if (!Get(obj, camel, snake, &el)) return Status::OK();
    if (el.get_string().get(*out) != simdjson::SUCCESS) return Fail(path + "." + std::string(camel), "want a string");
    return Status::OK();
  }

  // A 64-bit integer: a JSON number or a decimal string (protobuf's JSON
  // mapping writes int64 and fixed64 as strings).
  template <typename T>
  Status Integer(dom::element el, const std::string& path, T* out) {
    std::string_view s;
    if (el.get_string().get(s) == simdjson::SUCCESS) {
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
      if (ec != std::errc() || end != s.data() + s.size()) return Fail(path, "want an integer");
      return Status::OK();
    }
    if constexpr (std::is_signed_v<T>) {
      int64_t v;
      if (el.get_int64().get(v) == simdjson::SUCCESS) {
        *out = static_cast<T>(v);
        return Status::OK();
      }
    } else {
      uint64_t v;
      if (el.get_uint64().get(v) == simdjson::SUCCESS) {
        *out = static_cast<T>(v);
        return Status::OK();
      }
    }
    double d;
    if (el.get_double().get(d) == simdjson::SUCCESS && std::isfinite(d) && d == std::floor(d) && d >= -9.2e18 &&
        d <= 1.8e19) {
      *out = static_cast<T>(d);
      return Status::OK();
    }
    return Fail(path, "want an integer");
  }

  Status AnyValue(dom::element el, const std::string& path, int depth, OtlpValue* v) {
    if (depth > kMaxOtlpDepth) return Fail(path, "values nested too deeply");
    *v = OtlpValue();
    dom::object obj;
    if (el.get_object().get(obj) != simdjson::SUCCESS) return Fail(path, "want an AnyValue object");
    dom::element x;
    if (Get(obj, "stringValue", "string_value", &x)) {
      if (x.get_string().get(v->s) != simdjson::SUCCESS) return Fail(path + ".stringValue", "want a string");
      v->kind = OtlpValue::Kind::kString;
    } else if (Get(obj, "boolValue", "bool_value", &x)) {
      if (x.get_bool().get(v->b) != simdjson::SUCCESS) return Fail(path + ".boolValue", "want true or false");
      v->kind = OtlpValue::Kind::kBool;
    } else if (Get(obj, "intValue", "int_value", &x)) {
      LOGE_RETURN_IF_ERROR(Integer(x, path + ".intValue", &v->i));
      v->kind = OtlpValue::Kind::kInt;
    } else if (Get(obj, "doubleValue", "double_value", &x)) {
      std::string_view special;
      if (x.get_string().get(special) == simdjson::SUCCESS) {  // "NaN", "Infinity", "-Infinity"
        v->d = special == "NaN" ? NAN : special == "Infinity" ? INFINITY : special == "-Infinity" ? -INFINITY : 0;
        if (v->d == 0) return Fail(path + ".doubleValue", "want a number");
      } else if (x.get_double().get(v->d) != simdjson::SUCCESS) {
        return Fail(path + ".doubleValue", "want a number");
      }
      v->kind = OtlpValue::Kind::kDouble;
    } else if (Get(obj, "bytesValue", "bytes_value", &x)) {
      if (x.get_string().get(v->s) != simdjson::SUCCESS) return Fail(path + ".bytesValue", "want base64 text");
      v->kind = OtlpValue::Kind::kBytes;
      v->bytes_b64 = true;
    } else if (Get(obj, "arrayValue", "array_value", &x) || Get(obj, "kvlistValue", "kvlist_value", &x)) {
      const bool list = obj.at_key("arrayValue").error() != simdjson::SUCCESS &&
                        obj.at_key("array_value").error() != simdjson::SUCCESS;
      const std::string sub = path + (list ? ".kvlistValue" : ".arrayValue");
      dom::object inner;
      if (x.get_object().get(inner) != simdjson::SUCCESS) return Fail(sub, "want an object with \"values\"");
      dom::array values;
      bool present = false;
      LOGE_RETURN_IF_ERROR(Array(inner, "values", "", sub, &values, &present));
      v->kind = list ? OtlpValue::Kind::kKvList : OtlpValue::Kind::kArray;
      if (!present) return Status::OK();
      size_t k = 0;
      for (dom::element item : values) {
        const std::string ip = sub + ".values[" + std::to_string(k++) + "]";
        if (list) {
          std::string_view key;
          OtlpValue value;
          LOGE_RETURN_IF_ERROR(KeyValue(item, ip, depth + 1, &key, &value));
          v->keys.push_back(key);
          v->items.push_back(std::move(value));
        } else {
          LOGE_RETURN_IF_ERROR(AnyValue(item, ip, depth + 1, &v->items.emplace_back()));
        }
      }
    }
    return Status::OK();
  }

  Status KeyValue(dom::element el, const std::string& path, int depth, std::string_view* key, OtlpValue* value) {
    dom::object obj;
    if (el.get_object().get(obj) != simdjson::SUCCESS) return Fail(path, "want a {\"key\", \"value\"} object");
    LOGE_RETURN_IF_ERROR(String(obj, "key", "", path, key));
    dom::element v;
    if (Get(obj, "value", "", &v)) return AnyValue(v, path + ".value", depth, value);
    *value = OtlpValue();
    return Status::OK();
  }

  Status Attributes(dom::object obj, const std::string& path, OtlpAttributes* attrs) {
    dom::array arr;
    bool present = false;
    LOGE_RETURN_IF_ERROR(Array(obj, "attributes", "", path, &arr, &present));
    if (!present) return Status::OK();
    size_t k = 0;
    for (dom::element item : arr) {
      auto& a = attrs->emplace_back();
      LOGE_RETURN_IF_ERROR(KeyValue(item, path + ".attributes[" + std::to_string(k++) + "]", 1, &a.first, &a.second));
    }
    return Status::OK();
  }

  // A trace or span id: hex of n bytes (any case), or "" for none.
  Status Id(dom::object obj, std::string_view camel, std::string_view snake, size_t n, const std::string& path,
            std::string* out) {
    std::string_view s;
    LOGE_RETURN_IF_ERROR(String(obj, camel, snake, path, &s));
    out->clear();
    if (s.empty()) return Status::OK();
    if (s.size() != 2 * n) {
      return Fail(path + "." + std::string(camel), "want " + std::to_string(2 * n) + " hex digits");
    }
    for (char c : s) {
      const char l = static_cast<char>(c | 0x20);
      if (!((c >= '0' && c <= '9') || (l >= 'a' && l <= 'f'))) {
        return Fail(path + "." + std::string(camel), "want hex digits");
      }
      out->push_back(c >= '0' && c <= '9' ? c : l);
    }
    return Status::OK();
  }

  Status Record(dom::element el, const std::string& path, OtlpRecord* r) {
    r->Clear();
    dom::object obj;
    if (el.get_object().get(obj) != simdjson::SUCCESS) return Fail(path, "want a LogRecord object");
    dom::element x;
    if (Get(obj, "timeUnixNano", "time_unix_nano", &x)) {
      LOGE_RETURN_IF_ERROR(Integer(x, path + ".timeUnixNano", &r->time));
    }
    if (Get(obj, "observedTimeUnixNano", "observed_time_unix_nano", &x)) {
      LOGE_RETURN_IF_ERROR(Integer(x, path + ".observedTimeUnixNano", &r->observed));
    }
    if (Get(obj, "severityNumber", "severity_number", &x)) {
      LOGE_RETURN_IF_ERROR(Integer(x, path + ".severityNumber", &r->severity_number));
    }
    LOGE_RETURN_IF_ERROR(String(obj, "severityText", "severity_text", path, &r->severity_text));
    LOGE_RETURN_IF_ERROR(String(obj, "eventName", "event_name", path, &r->event_name));
    if (Get(obj, "body", "", &x)) LOGE_RETURN_IF_ERROR(AnyValue(x, path + ".body", 1, &r->body));
    LOGE_RETURN_IF_ERROR(Attributes(obj, path, &r->attributes));
    if (Get(obj, "flags", "", &x)) LOGE_RETURN_IF_ERROR(Integer(x, path + ".flags", &r->flags));
    LOGE_RETURN_IF_ERROR(Id(obj, "traceId", "trace_id", 16, path, &r->trace_id));
    LOGE_RETURN_IF_ERROR(Id(obj, "spanId", "span_id", 8, path, &r->span_id));
    return Status::OK();
  }

  Status Document(dom::element root, OtlpMapper* mapper) {
    dom::object top;
    if (root.get_object().get(top) != simdjson::SUCCESS) {
      return Fail("body", "want an ExportLogsServiceRequest object");
    }
    dom::array rls;
    bool present = false;
    LOGE_RETURN_IF_ERROR(Array(top, "resourceLogs", "resource_logs", "body", &rls, &present));
    if (!present) return Status::OK();
    OtlpAttributes attrs;
    OtlpRecord record;
    size_t ri = 0;
    for (dom::element rl_el : rls) {
      const std::string rp = "resourceLogs[" + std::to_string(ri++) + "]";
      dom::object rl;
      if (rl_el.get_object().get(rl) != simdjson::SUCCESS) return Fail(rp, "want a ResourceLogs object");
      attrs.clear();
      dom::element res_el;
      if (Get(rl, "resource", "", &res_el)) {
        dom::object res;
        if (res_el.get_object().get(res) != simdjson::SUCCESS) return Fail(rp + ".resource", "want an object");
        LOGE_RETURN_IF_ERROR(Attributes(res, rp + ".resource", &attrs));
      }
      mapper->BeginResource(attrs);
      dom::array sls;
      LOGE_RETURN_IF_ERROR(Array(rl, "scopeLogs", "scope_logs", rp, &sls, &present));
      if (!present) continue;
      size_t si = 0;
      for (dom::element sl_el : sls) {
        const std::string sp = rp + ".scopeLogs[" + std::to_string(si++) + "]";
        dom::object sl;
        if (sl_el.get_object().get(sl) != simdjson::SUCCESS) return Fail(sp, "want a ScopeLogs object");
        std::string_view name, version;
        attrs.clear();
        dom::element scope_el;
        if (Get(sl, "scope", "", &scope_el)) {
          dom::object scope;
          if (scope_el.get_object().get(scope) != simdjson::SUCCESS) return Fail(sp + ".scope", "want an object");
          LOGE_RETURN_IF_ERROR(String(scope, "name", "", sp + ".scope", &name));
          LOGE_RETURN_IF_ERROR(String(scope, "version", "", sp + ".scope", &version));
          LOGE_RETURN_IF_ERROR(Attributes(scope, sp + ".scope", &attrs));
        }
        mapper->BeginScope(name, version, attrs);
        dom::array lrs;
        LOGE_RETURN_IF_ERROR(Array(sl, "logRecords", "log_records", sp, &lrs, &present));
        if (!present) continue;
        size_t li = 0;
        for (dom::element lr : lrs) {
          LOGE_RETURN_IF_ERROR(Record(lr, sp + ".logRecords[" + std::to_string(li++) + "]", &record));
          mapper->Add(record);
        }
      }
    }
    return Status::OK();
  }
};

}  // namespace

Status DecodeOtlpLogsJson(std::string_view body, const OtlpOptions& opts, const Limits& limits, int64_t now_ns,
                          Payload* out, OtlpRejects* rejects) {
  out->streams.clear();
  OtlpMapper mapper(opts, limits, now_ns, out);
  JsonScratch scratch;  // the model's strings point into it: map before it goes
  const std::string_view text = scratch.Pad(body);  // body, its invalid UTF-8 replaced
  dom::element root;
  const simdjson::error_code err = scratch.parser().parse(text.data(), text.size(), false).get(root);
  if (err == simdjson::MEMALLOC) return Status::ResourceExhausted("decoding OTLP JSON body: out of memory");
  if (err != simdjson::SUCCESS) return Status::InvalidArgument(std::string("malformed JSON: ") + simdjson::error_message(err));
  Walker w;
  LOGE_RETURN_IF_ERROR(w.Document(root, &mapper));
  return mapper.Finish(rejects);
}

}  // namespace loge::ingest
