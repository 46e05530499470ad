// loge-bench-decode: how fast each push decoder turns a body into a Payload,
// on the same generated lines in every format (bench/body_pool: the
// loadgen's realistic access-log and JSON-app lines, 10 streams and 1000
// lines per body, 16 distinct bodies cycled).
//
// Counters, all per second of decoding on one thread:
//   line_bytes  raw log-line bytes (the same work in every format: compare these)
//   body_bytes  request-body bytes as sent (protobuf: after snappy)
//   lines       entries
// Validation (ValidatePayload) is included, as in the server.
//
//   build/release/bench/decode/loge-bench-decode --benchmark_repetitions=5
#include <benchmark/benchmark.h>
#include <snappy.h>
#include <zlib.h>

#include <string>
#include <vector>

#include "bench/body_pool.h"
#include "bench/body_pool_shippers.h"
#include "ingest/decode_es_bulk.h"
#include "ingest/decode_gzip.h"
#include "ingest/decode_json.h"
#include "ingest/decode_loki_proto.h"
#include "ingest/decode_msgpack.h"
#include "ingest/decode_jsonline.h"
#include "ingest/decode_otlp.h"
#include "ingest/decode_snappy.h"
#include "ingest/decode_syslog.h"

namespace loge::bench {
namespace {

constexpr size_t kBodies = 16;
constexpr size_t kLinesPerBody = 1000;
constexpr size_t kStreamsPerBody = 10;
constexpr size_t kMaxBody = 64 << 20;  // the server's default --max-body-size

struct Corpus {
  std::vector<std::string> bodies;  // as sent
  std::vector<std::string> raw;     // protobuf before snappy; else empty
  size_t line_bytes = 0;            // per pass over all bodies
  size_t body_bytes = 0;
  size_t lines = 0;
};

std::string Gzip(const std::string& in) {
  z_stream zs{};
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, in.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

enum class Wrap { kNone, kSnappy, kGzip };

Corpus Build(PushFormat format, Wrap wrap) {
  BodyPoolOptions o;
  o.seed = 1;
  o.bodies = kBodies;
  o.batch = kLinesPerBody;
  o.streams_per_push = kStreamsPerBody;
  o.format = format;
  Corpus c;
  for (const PushBody& b : BuildBodies(o, nullptr, 0)) {
    std::string body = b.body;
    if (wrap == Wrap::kSnappy) {
      c.raw.push_back(body);
      body.clear();
      snappy::Compress(b.body.data(), b.body.size(), &body);
    } else if (wrap == Wrap::kGzip) {
      body = Gzip(body);
    }
    c.line_bytes += b.line_bytes;
    c.lines += b.lines;
    c.body_bytes += body.size();
    c.bodies.push_back(std::move(body));
  }
  return c;
}

const Corpus& JsonCorpus() {
  static const Corpus c = Build(PushFormat::kJson, Wrap::kNone);
  return c;
}
const Corpus& JsonGzipCorpus() {
  static const Corpus c = Build(PushFormat::kJson, Wrap::kGzip);
  return c;
}
const Corpus& MsgpackCorpus() {
  static const Corpus c = Build(PushFormat::kMsgpack, Wrap::kNone);
  return c;
}
const Corpus& ProtoCorpus() {
  static const Corpus c = Build(PushFormat::kProtobuf, Wrap::kSnappy);
  return c;
}

void Report(benchmark::State& state, const Corpus& c, size_t passes_bodies) {
  const double passes = static_cast<double>(passes_bodies) / static_cast<double>(c.bodies.size());
  auto rate = [&](size_t per_pass) {
    return benchmark::Counter(static_cast<double>(per_pass) * passes, benchmark::Counter::kIsRate,
                              benchmark::Counter::kIs1000);
  };
  state.counters["line_bytes"] = rate(c.line_bytes);
  state.counters["body_bytes"] = rate(c.body_bytes);
  state.counters["lines"] = rate(c.lines);
  state.SetLabel(std::to_string(c.body_bytes / c.bodies.size() / 1000) + " KB/body");
}

template <typename Decode>
void Run(benchmark::State& state, const Corpus& c, Decode decode) {
  ingest::Limits limits;
  size_t n = 0;
  for (auto _ : state) {
    Payload p;
    Status st = decode(c.bodies[n % c.bodies.size()], limits, &p);
    if (!st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(p);
    n++;
  }
  Report(state, c, n);
}

void BM_DecodeJson(benchmark::State& state) {
  Run(state, JsonCorpus(), [](const std::string& b, const ingest::Limits& l, Payload* p) {
    return ingest::DecodeJsonPush(b, l, p);
  });
}

void BM_DecodeMsgpack(benchmark::State& state) {
  Run(state, MsgpackCorpus(), [](const std::string& b, const ingest::Limits& l, Payload* p) {
    return ingest::DecodeMsgpackPush(b, l, p);
  });
}

void BM_DecodeProtobufSnappy(benchmark::State& state) {
  Run(state, ProtoCorpus(), [](const std::string& b, const ingest::Limits& l, Payload* p) {
    return ingest::DecodeLokiProtoPush(b, l, kMaxBody, p);
  });
}

void BM_DecodeJsonGzip(benchmark::State& state) {
  Run(state, JsonGzipCorpus(), [](const std::string& b, const ingest::Limits& l, Payload* p) {
    std::string json;
    LOGE_RETURN_IF_ERROR(ingest::Inflate(b, ingest::ZlibWrapper::kGzip, kMaxBody, &json));
    return ingest::DecodeJsonPush(json, l, p);
  });
}

// The two halves of the protobuf path, apart.
void BM_SnappyOnly(benchmark::State& state) {
  const Corpus& c = ProtoCorpus();
  size_t n = 0;
  std::string out;
  for (auto _ : state) {
    Status st = ingest::SnappyUncompress(c.bodies[n % c.bodies.size()], kMaxBody, &out);
    if (!st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(out);
    n++;
  }
  Report(state, c, n);
}

void BM_ProtobufOnly(benchmark::State& state) {
  const Corpus& c = ProtoCorpus();
  ingest::Limits limits;
  size_t n = 0;
  for (auto _ : state) {
    Payload p;
    Status st = ingest::DecodePushRequest(c.raw[n % c.raw.size()], limits, &p);
    if (!st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(p);
    n++;
  }
  Report(state, c, n);
}

// --- the shippers' formats (issue 16): the same lines, the generated
// streams' labels as resource attributes, document fields or syslog header
// fields, and each decoder told those are the label fields.

const std::vector<std::string>& LabelFields() {
  static const std::vector<std::string> f = ingest::SplitFieldList(kShipperLabelFields);
  return f;
}

template <PushFormat F>
const Corpus& ShipperCorpus() {
  static const Corpus c = Build(F, Wrap::kNone);
  return c;
}

void BM_DecodeOtlpProto(benchmark::State& state) {
  ingest::OtlpOptions o;
  o.label_attributes = LabelFields();
  Run(state, ShipperCorpus<PushFormat::kOtlpProto>(), [&](const std::string& b, const ingest::Limits& l, Payload* p) {
    ingest::OtlpRejects r;
    return ingest::DecodeOtlpLogsProto(b, o, l, 1, p, &r);
  });
}

void BM_DecodeOtlpJson(benchmark::State& state) {
  ingest::OtlpOptions o;
  o.label_attributes = LabelFields();
  Run(state, ShipperCorpus<PushFormat::kOtlpJson>(), [&](const std::string& b, const ingest::Limits& l, Payload* p) {
    ingest::OtlpRejects r;
    return ingest::DecodeOtlpLogsJson(b, o, l, 1, p, &r);
  });
}

void BM_DecodeEsBulk(benchmark::State& state) {
  ingest::EsBulkOptions o;
  o.doc.stream_fields = LabelFields();
  Run(state, ShipperCorpus<PushFormat::kEsBulk>(), [&](const std::string& b, const ingest::Limits& l, Payload* p) {
    std::vector<ingest::EsBulkItem> items;
    return ingest::DecodeEsBulk(b, o, l, 1, p, &items);
  });
}

void BM_DecodeJsonLine(benchmark::State& state) {
  ingest::DocumentOptions o = ingest::DefaultJsonLineOptions();
  o.stream_fields = LabelFields();
  Run(state, ShipperCorpus<PushFormat::kJsonLine>(), [&](const std::string& b, const ingest::Limits& l, Payload* p) {
    return ingest::DecodeJsonLines(b, o, l, 1, p);
  });
}

// Octet-counted RFC 5424 over TCP: framing and decoding, as the listener
// does per read (one body = one batch).
void BM_DecodeSyslog(benchmark::State& state) {
  Run(state, ShipperCorpus<PushFormat::kSyslog>(), [&](const std::string& b, const ingest::Limits& l, Payload* p) {
    ingest::SyslogFramer framer(l.max_line_bytes + 65536);
    ingest::SyslogDecoder d(l);
    framer.Append(b);
    std::string_view frame;
    for (;;) {
      auto r = framer.Next(&frame);
      if (!r.ok()) return r.status();
      if (!*r) break;
      LOGE_RETURN_IF_ERROR(d.Add(frame, 1));
    }
    LOGE_ASSIGN_OR_RETURN(*p, d.Take());
    return Status::OK();
  });
}

BENCHMARK(BM_DecodeJson)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DecodeMsgpack)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DecodeProtobufSnappy)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DecodeJsonGzip)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SnappyOnly)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ProtobufOnly)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DecodeOtlpProto)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DecodeOtlpJson)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DecodeEsBulk)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DecodeJsonLine)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DecodeSyslog)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace loge::bench

BENCHMARK_MAIN();
