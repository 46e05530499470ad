#include "bench/body_pool_shippers.h"

#include <cstring>

#include "core/json_writer.h"
#include "core/status.h"

namespace loge::bench {
namespace {

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutLen(std::string* out, uint32_t field, std::string_view payload) {
  PutVarint(out, field << 3 | 2);
  PutVarint(out, payload.size());
  out->append(payload);
}

void WriteDigits(char* p, uint64_t v) {
  for (size_t i = kTimestampLen; i-- > 0; v /= 10) p[i] = static_cast<char>('0' + v % 10);
}

// Appends `"<ts digits>"` and records where the digits are.
void PutJsonTimestamp(std::string* j, uint64_t ts, PushBody* b) {
  j->push_back('"');
  b->ts_pos.push_back(static_cast<uint32_t>(j->size()));
  j->append(kTimestampLen, '0');
  WriteDigits(j->data() + b->ts_pos.back(), ts);
  j->push_back('"');
}

// Appends the line as a JSON string and records where its request id is.
void PutJsonLine(std::string* j, const Line& line, PushBody* b) {
  const size_t start = j->size();
  JsonWriter::Escape(line.text, j);
  const std::string_view id(line.text.data() + line.request_id_pos, kRequestIdLen);
  const size_t at = j->find(id, start + line.request_id_pos);
  LOGE_ASSERT(at != std::string::npos, "BUG: request id lost in escaping");
  b->id_pos.push_back(static_cast<uint32_t>(at));
}

// ,"app":"x","env":"y"… for a document's stream fields.
void PutJsonLabels(std::string* j, const StreamSpec& spec) {
  for (const auto& [name, value] : spec.labels) {
    j->push_back(',');
    JsonWriter::Escape(name, j);
    j->push_back(':');
    JsonWriter::Escape(value, j);
  }
}

}  // namespace

void EncodeOtlpProto(const std::vector<StreamSpec>& specs, const std::vector<PlannedStream>& plan, int64_t now_ns,
                     PushBody* b) {
  uint64_t ts = static_cast<uint64_t>(now_ns);
  for (const auto& ps : plan) {
    std::string resource, attrs;
    for (const auto& [name, value] : specs[ps.spec].labels) {
      std::string kv, any;
      PutLen(&any, 1, value);  // string_value
      PutLen(&kv, 1, name);
      PutLen(&kv, 2, any);
      PutLen(&attrs, 1, kv);  // Resource.attributes
    }
    PutLen(&resource, 1, attrs);  // ResourceLogs.resource
    std::string scope_logs;
    PutLen(&scope_logs, 1, std::string("\x0a\x05loadg", 7));  // scope {name}
    std::vector<uint32_t> ts_rel, id_rel;
    for (const Line& line : ps.lines) {
      std::string rec;
      rec.push_back(0x09);  // time_unix_nano = 1, fixed64
      const size_t ts_at = rec.size();
      rec.append(8, '\0');
      std::memcpy(rec.data() + ts_at, &ts, 8);
      ts++;
      std::string body;
      PutLen(&body, 1, line.text);  // AnyValue.string_value
      PutVarint(&rec, 5 << 3 | 2);
      PutVarint(&rec, body.size());
      const size_t line_at = rec.size() + (body.size() - line.text.size());
      rec += body;
      PutVarint(&scope_logs, 2 << 3 | 2);  // log_records = 2
      PutVarint(&scope_logs, rec.size());
      ts_rel.push_back(static_cast<uint32_t>(scope_logs.size() + ts_at));
      id_rel.push_back(static_cast<uint32_t>(scope_logs.size() + line_at + line.request_id_pos));
      scope_logs += rec;
    }
    std::string rl = resource;
    PutVarint(&rl, 2 << 3 | 2);  // scope_logs = 2
    PutVarint(&rl, scope_logs.size());
    const size_t sl_at = rl.size();
    rl += scope_logs;
    PutVarint(&b->body, 1 << 3 | 2);  // resource_logs = 1
    PutVarint(&b->body, rl.size());
    const uint32_t base = static_cast<uint32_t>(b->body.size() + sl_at);
    for (uint32_t r : ts_rel) b->ts_pos.push_back(base + r);
    for (uint32_t r : id_rel) b->id_pos.push_back(base + r);
    b->body += rl;
  }
}

void EncodeOtlpJson(const std::vector<StreamSpec>& specs, const std::vector<PlannedStream>& plan, int64_t now_ns,
                    PushBody* b) {
  std::string& j = b->body;
  uint64_t ts = static_cast<uint64_t>(now_ns);
  j += R"({"resourceLogs":[)";
  for (size_t s = 0; s < plan.size(); s++) {
    const auto& ps = plan[s];
    if (s > 0) j += ',';
    j += R"({"resource":{"attributes":[)";
    bool first = true;
    for (const auto& [name, value] : specs[ps.spec].labels) {
      if (!first) j += ',';
      first = false;
      j += R"({"key":)";
      JsonWriter::Escape(name, &j);
      j += R"(,"value":{"stringValue":)";
      JsonWriter::Escape(value, &j);
      j += "}}";
    }
    j += R"(]},"scopeLogs":[{"scope":{"name":"loadgen"},"logRecords":[)";
    for (size_t i = 0; i < ps.lines.size(); i++) {
      if (i > 0) j += ',';
      j += R"({"timeUnixNano":)";
      PutJsonTimestamp(&j, ts++, b);
      j += R"(,"body":{"stringValue":)";
      PutJsonLine(&j, ps.lines[i], b);
      j += "}}";
    }
    j += "]}]}";
  }
  j += "]}";
}

void EncodeEsBulk(const std::vector<StreamSpec>& specs, const std::vector<PlannedStream>& plan, int64_t now_ns,
                  PushBody* b) {
  std::string& j = b->body;
  uint64_t ts = static_cast<uint64_t>(now_ns);
  for (const auto& ps : plan) {
    for (const Line& line : ps.lines) {
      j += "{\"create\":{\"_index\":\"loadgen\"}}\n{\"@timestamp\":";
      PutJsonTimestamp(&j, ts++, b);
      j += ",\"message\":";
      PutJsonLine(&j, line, b);
      PutJsonLabels(&j, specs[ps.spec]);
      j += "}\n";
    }
  }
}

void EncodeJsonLines(const std::vector<StreamSpec>& specs, const std::vector<PlannedStream>& plan, int64_t now_ns,
                     PushBody* b) {
  std::string& j = b->body;
  uint64_t ts = static_cast<uint64_t>(now_ns);
  for (const auto& ps : plan) {
    for (const Line& line : ps.lines) {
      j += "{\"_time\":";
      PutJsonTimestamp(&j, ts++, b);
      j += ",\"_msg\":";
      PutJsonLine(&j, line, b);
      PutJsonLabels(&j, specs[ps.spec]);
      j += "}\n";
    }
  }
}

void EncodeSyslog(const std::vector<StreamSpec>& specs, const std::vector<PlannedStream>& plan, PushBody* b) {
  for (const auto& ps : plan) {
    const StreamSpec& spec = specs[ps.spec];
    // local0.info; the time is "-": the receive time stamps it.
    const std::string head = "<134>1 - " + spec.host + " " + spec.app + " - - - ";
    for (const Line& line : ps.lines) {
      const size_t n = head.size() + line.text.size();
      b->body += std::to_string(n);
      b->body += ' ';
      b->body += head;
      b->id_pos.push_back(static_cast<uint32_t>(b->body.size() + line.request_id_pos));
      b->body += line.text;
    }
  }
}

}  // namespace loge::bench
