#include "bench/body_pool.h"

#include <algorithm>
#include <chrono>

#include <cstring>

#include "bench/body_pool_shippers.h"
#include "core/json_writer.h"
#include "core/status.h"

namespace loge::bench {

namespace {

void WriteDigits(char* p, uint64_t v) {
  for (size_t i = kTimestampLen; i-- > 0; v /= 10) p[i] = static_cast<char>('0' + v % 10);
}

void WriteHex(char* p, uint64_t v) {
  static const char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < kRequestIdLen; i++, v >>= 4) p[i] = kHex[v & 15];
}

// Picks k distinct streams uniformly (every stream is active, as on a real
// fleet) and splits batch lines between them by weight, at least one each,
// so busy prod streams and info levels dominate the line count.
std::vector<std::pair<size_t, size_t>> PlanBody(const std::vector<StreamSpec>& streams, size_t k, size_t batch,
                                                Rng* rng) {
  std::vector<size_t> order(streams.size());
  for (size_t i = 0; i < order.size(); i++) order[i] = i;
  for (size_t i = 0; i < k; i++) std::swap(order[i], order[i + rng->Uniform(order.size() - i)]);
  std::vector<size_t> picked(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k));
  std::sort(picked.begin(), picked.end());
  double total = 0;
  for (size_t j : picked) total += streams[j].weight;
  std::vector<std::pair<size_t, size_t>> plan;
  size_t assigned = 0;
  for (size_t j : picked) {
    size_t n = std::max<size_t>(1, static_cast<size_t>(static_cast<double>(batch - k) * streams[j].weight / total));
    plan.emplace_back(j, n);
    assigned += n;
  }
  // The shares sum to at most batch - k, the minimum of one adds at most k:
  // give the rounding remainder to the heaviest stream so every body has
  // exactly batch lines.
  auto heaviest = std::max_element(plan.begin(), plan.end(),
                                   [](const auto& a, const auto& b) { return a.second < b.second; });
  heaviest->second += batch - assigned;
  return plan;
}


void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// A varint of v < 2^35 in exactly 5 bytes (over-long encodings are valid).
void WritePaddedVarint5(char* p, uint64_t v) {
  for (int k = 0; k < 4; k++) p[k] = static_cast<char>(((v >> (7 * k)) & 0x7f) | 0x80);
  p[4] = static_cast<char>((v >> 28) & 0x7f);
}
constexpr size_t kVarint5 = 5;

void WriteBigEndian64(char* p, uint64_t v) {
  for (int k = 0; k < 8; k++) p[k] = static_cast<char>(v >> (56 - 8 * k));
}

void EncodeJson(const std::vector<StreamSpec>& specs, const std::vector<PlannedStream>& plan, int64_t now_ns,
                PushBody* b) {
  std::string& j = b->body;
  j += "{\"streams\":[";
  bool first_stream = true;
  for (const auto& ps : plan) {
    if (!first_stream) j += ',';
    first_stream = false;
    j += "{\"stream\":{";
    bool first_label = true;
    for (const auto& [name, value] : specs[ps.spec].labels) {
      if (!first_label) j += ',';
      first_label = false;
      JsonWriter::Escape(name, &j);
      j += ':';
      JsonWriter::Escape(value, &j);
    }
    j += "},\"values\":[";
    for (size_t i = 0; i < ps.lines.size(); i++) {
      const Line& line = ps.lines[i];
      if (i > 0) j += ',';
      j += "[\"";
      b->ts_pos.push_back(static_cast<uint32_t>(j.size()));
      j.append(kTimestampLen, '0');
      WriteDigits(j.data() + b->ts_pos.back(), static_cast<uint64_t>(now_ns) + b->ts_pos.size() - 1);
      j += "\",";
      // Escaping only inserts bytes, so the id is at or after its raw offset;
      // hex digits are never escaped, so they appear verbatim.
      const size_t start = j.size();
      JsonWriter::Escape(line.text, &j);
      const std::string_view id(line.text.data() + line.request_id_pos, kRequestIdLen);
      const size_t at = j.find(id, start + line.request_id_pos);
      LOGE_ASSERT(at != std::string::npos, "BUG: request id lost in escaping");
      b->id_pos.push_back(static_cast<uint32_t>(at));
      j += ']';
    }
    j += "]}";
  }
  j += "]}";
}

void MsgpackStr(std::string* out, std::string_view s) {
  if (s.size() < 32) {
    out->push_back(static_cast<char>(0xa0 | s.size()));
  } else if (s.size() < 256) {
    out->push_back('\xd9');
    out->push_back(static_cast<char>(s.size()));
  } else if (s.size() < 65536) {
    out->push_back('\xda');
    out->push_back(static_cast<char>(s.size() >> 8));
    out->push_back(static_cast<char>(s.size()));
  } else {
    out->push_back('\xdb');
    for (int k = 3; k >= 0; k--) out->push_back(static_cast<char>(s.size() >> (8 * k)));
  }
  out->append(s);
}

void MsgpackHeader32(std::string* out, char type, size_t n) {
  out->push_back(type);
  for (int k = 3; k >= 0; k--) out->push_back(static_cast<char>(n >> (8 * k)));
}

void EncodeMsgpack(const std::vector<StreamSpec>& specs, const std::vector<PlannedStream>& plan, int64_t now_ns,
                   PushBody* b) {
  std::string& m = b->body;
  m.push_back('\x81');  // fixmap(1)
  MsgpackStr(&m, "streams");
  MsgpackHeader32(&m, '\xdd', plan.size());  // array32
  for (const auto& ps : plan) {
    m.push_back('\x82');  // fixmap(2)
    MsgpackStr(&m, "stream");
    MsgpackHeader32(&m, '\xdf', specs[ps.spec].labels.size());  // map32
    for (const auto& [name, value] : specs[ps.spec].labels) {
      MsgpackStr(&m, name);
      MsgpackStr(&m, value);
    }
    MsgpackStr(&m, "values");
    MsgpackHeader32(&m, '\xdd', ps.lines.size());
    for (const Line& line : ps.lines) {
      m.push_back('\x92');  // fixarray(2)
      m.push_back('\xcf');  // uint64
      b->ts_pos.push_back(static_cast<uint32_t>(m.size()));
      m.append(8, '\0');
      WriteBigEndian64(m.data() + b->ts_pos.back(), static_cast<uint64_t>(now_ns) + b->ts_pos.size() - 1);
      MsgpackStr(&m, line.text);
      b->id_pos.push_back(static_cast<uint32_t>(m.size() - line.text.size() + line.request_id_pos));
    }
  }
}

// Loki PushRequest (src/ingest/loki_push.proto), encoded by hand so the
// timestamp offsets are known.
void EncodeProtobuf(const std::vector<StreamSpec>& specs, const std::vector<PlannedStream>& plan, int64_t now_ns,
                    PushBody* b) {
  for (const auto& ps : plan) {
    std::string sm;  // one StreamAdapter
    std::vector<uint32_t> ts_rel, id_rel;
    std::string labels = "{";
    for (const auto& [name, value] : specs[ps.spec].labels) {
      if (labels.size() > 1) labels += ", ";
      labels += name;
      labels += '=';
      JsonWriter::Escape(value, &labels);  // JSON escapes of these values are valid Go escapes
    }
    labels += '}';
    sm.push_back(0x0a);  // labels = 1
    PutVarint(&sm, labels.size());
    sm += labels;
    for (const Line& line : ps.lines) {
      std::string e;  // EntryAdapter
      e.push_back(0x0a);  // timestamp = 1, a 12-byte Timestamp
      e.push_back(static_cast<char>(2 + 2 * kVarint5));
      e.push_back(0x08);  // seconds = 1
      const size_t ts_at = e.size();
      e.append(kVarint5, '\0');
      e.push_back(0x10);  // nanos = 2
      e.append(kVarint5, '\0');
      e.push_back(0x12);  // line = 2
      PutVarint(&e, line.text.size());
      const size_t line_at = e.size();
      e += line.text;
      sm.push_back(0x12);  // entries = 2
      PutVarint(&sm, e.size());
      ts_rel.push_back(static_cast<uint32_t>(sm.size() + ts_at));
      id_rel.push_back(static_cast<uint32_t>(sm.size() + line_at + line.request_id_pos));
      sm += e;
    }
    b->body.push_back(0x0a);  // streams = 1
    PutVarint(&b->body, sm.size());
    const uint32_t base = static_cast<uint32_t>(b->body.size());
    for (uint32_t r : ts_rel) b->ts_pos.push_back(base + r);
    for (uint32_t r : id_rel) b->id_pos.push_back(base + r);
    b->body += sm;
  }
  // Initial stamps, so a body is valid before any Restamp.
  uint64_t ts = static_cast<uint64_t>(now_ns);
  for (uint32_t pos : b->ts_pos) {
    WritePaddedVarint5(b->body.data() + pos, ts / 1000000000);
    WritePaddedVarint5(b->body.data() + pos + kVarint5 + 1, ts % 1000000000);
    ts++;
  }
}

}  // namespace

bool ParsePushFormat(std::string_view name, PushFormat* out) {
  if (name == "json") {
    *out = PushFormat::kJson;
  } else if (name == "msgpack") {
    *out = PushFormat::kMsgpack;
  } else if (name == "protobuf") {
    *out = PushFormat::kProtobuf;
  } else if (name == "otlp") {
    *out = PushFormat::kOtlpProto;
  } else if (name == "otlp-json") {
    *out = PushFormat::kOtlpJson;
  } else if (name == "es-bulk") {
    *out = PushFormat::kEsBulk;
  } else if (name == "jsonline") {
    *out = PushFormat::kJsonLine;
  } else if (name == "syslog") {
    *out = PushFormat::kSyslog;
  } else {
    return false;
  }
  return true;
}

const char* ContentType(PushFormat f) {
  switch (f) {
    case PushFormat::kJson: return "application/json";
    case PushFormat::kMsgpack: return "application/msgpack";
    case PushFormat::kProtobuf: return "application/x-protobuf";
    case PushFormat::kOtlpProto: return "application/x-protobuf";
    case PushFormat::kOtlpJson: return "application/json";
    case PushFormat::kEsBulk: return "application/x-ndjson";
    case PushFormat::kJsonLine: return "application/stream+json";
    case PushFormat::kSyslog: return "text/plain";
  }
  return "application/octet-stream";
}

const char* PushPath(PushFormat f) {
  switch (f) {
    case PushFormat::kOtlpProto:
    case PushFormat::kOtlpJson: return "/otlp/v1/logs";
    case PushFormat::kEsBulk: return "/_bulk";
    case PushFormat::kJsonLine: return "/insert/jsonline?_stream_fields=app,env,host,job,level,region";
    default: return "/api/v1/push";
  }
}

std::vector<PushBody> BuildBodies(const BodyPoolOptions& opts, std::string* sample, size_t sample_max_lines) {
  LineGenerator gen(opts.seed);
  Rng rng(opts.seed ^ 0x5eed5eed5eedull);
  const auto& streams = gen.streams();
  const size_t k = std::min({opts.streams_per_push, opts.batch, streams.size()});
  const int64_t now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  size_t sampled = 0;

  std::vector<PushBody> out(opts.bodies);
  for (PushBody& b : out) {
    std::vector<PlannedStream> plan;
    for (auto [si, n] : PlanBody(streams, k, opts.batch, &rng)) {
      PlannedStream& ps = plan.emplace_back();
      ps.spec = si;
      for (size_t i = 0; i < n; i++) {
        ps.lines.push_back(gen.Next(si));
        const Line& line = ps.lines.back();
        b.lines++;
        b.line_bytes += line.text.size();
        if (sample != nullptr && sampled < sample_max_lines) {
          *sample += line.text;
          *sample += '\n';
          sampled++;
        }
      }
    }
    b.body.reserve(opts.batch * 280);
    switch (opts.format) {
      case PushFormat::kJson: EncodeJson(streams, plan, now_ns, &b); break;
      case PushFormat::kMsgpack: EncodeMsgpack(streams, plan, now_ns, &b); break;
      case PushFormat::kProtobuf: EncodeProtobuf(streams, plan, now_ns, &b); break;
      case PushFormat::kOtlpProto: EncodeOtlpProto(streams, plan, now_ns, &b); break;
      case PushFormat::kOtlpJson: EncodeOtlpJson(streams, plan, now_ns, &b); break;
      case PushFormat::kEsBulk: EncodeEsBulk(streams, plan, now_ns, &b); break;
      case PushFormat::kJsonLine: EncodeJsonLines(streams, plan, now_ns, &b); break;
      case PushFormat::kSyslog: EncodeSyslog(streams, plan, &b); break;
    }
    b.body.shrink_to_fit();
  }
  return out;
}

void Restamp(const PushBody& tmpl, PushFormat format, int64_t base_ns, Rng* rng, std::string* out) {
  char* p = out->data();
  uint64_t ts = static_cast<uint64_t>(base_ns);
  switch (format) {
    case PushFormat::kJson:
    case PushFormat::kOtlpJson:
    case PushFormat::kEsBulk:
    case PushFormat::kJsonLine:
      for (uint32_t pos : tmpl.ts_pos) WriteDigits(p + pos, ts++);
      break;
    case PushFormat::kOtlpProto:
      for (uint32_t pos : tmpl.ts_pos) {
        std::memcpy(p + pos, &ts, 8);  // fixed64, little-endian
        ts++;
      }
      break;
    case PushFormat::kSyslog: break;  // no timestamps: the receive time
    case PushFormat::kMsgpack:
      for (uint32_t pos : tmpl.ts_pos) WriteBigEndian64(p + pos, ts++);
      break;
    case PushFormat::kProtobuf:
      for (uint32_t pos : tmpl.ts_pos) {
        WritePaddedVarint5(p + pos, ts / 1000000000);
        WritePaddedVarint5(p + pos + kVarint5 + 1, ts % 1000000000);
        ts++;
      }
      break;
  }
  for (uint32_t pos : tmpl.id_pos) WriteHex(p + pos, rng->Next());
}

}  // namespace loge::bench
