// Push bodies built before the clock starts, re-stamped cheaply per send.
//
// Thread-safety: a built pool is immutable and shared by every connection;
// Restamp writes only into the caller's own copy.
//
// Each body is a push in one of the formats loge takes (PushFormat) whose
// timestamps have a fixed width and whose lines each hold a 16-hex-digit
// request id. The offsets of both are recorded, so a sender copies a
// template, overwrites the timestamps with fresh increasing values and the
// ids with fresh random ones, and sends it: no line is byte-identical to
// another across a run, yet no body is encoded while the clock runs. The
// same seed gives the same streams and lines in every format.
//
//   kJson      Loki JSON: {"streams":[{"stream":{…},"values":[["<ns>","<line>"],…]}]},
//              timestamps as 19-digit strings
//   kMsgpack   the same document in msgpack, timestamps as uint64 (0xcf + 8 bytes)
//   kProtobuf  Loki's PushRequest, labels as {name="value", …}, each timestamp
//              a Timestamp{seconds, nanos} with both varints padded to 5
//              bytes (decoders accept over-long varints). The body is the
//              uncompressed message: the sender snappy-compresses it after
//              restamping, as a Loki client does per push.
//   kOtlpProto, kOtlpJson, kEsBulk, kJsonLine, kSyslog: the shippers'
//              formats (body_pool_shippers.h), sent to their own paths
//              (PushPath); kSyslog is for the decode benchmark only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bench/line_gen.h"

namespace loge::bench {

// Digits in a Unix-nanosecond timestamp from 2001 to 2286.
inline constexpr size_t kTimestampLen = 19;

enum class PushFormat { kJson, kMsgpack, kProtobuf, kOtlpProto, kOtlpJson, kEsBulk, kJsonLine, kSyslog };

// "json", "msgpack", "protobuf", "otlp", "otlp-json", "es-bulk", "jsonline",
// "syslog" -> format; false for anything else.
bool ParsePushFormat(std::string_view name, PushFormat* out);
// The Content-Type a push of this format is sent with.
const char* ContentType(PushFormat f);
// The request target a push of this format is sent to (its query string
// names the label fields of the generated streams where the format needs it).
const char* PushPath(PushFormat f);

struct PushBody {
  std::string body;                // the request body (kProtobuf: before snappy)
  std::vector<uint32_t> ts_pos;    // offset of each entry's timestamp digits, in entry order
  std::vector<uint32_t> id_pos;    // offset of each entry's request id digits
  size_t lines = 0;                // entries in the body
  size_t line_bytes = 0;           // raw (unescaped) bytes of those lines
};

struct BodyPoolOptions {
  uint64_t seed = 1;           // --seed: same seed, same bodies (but for clock text)
  size_t bodies = 64;          // --pool: distinct bodies to cycle through
  size_t batch = 1000;         // --batch: lines per body
  size_t streams_per_push = 10;  // --streams: distinct streams per body
  PushFormat format = PushFormat::kJson;  // --format: encoding of the bodies
};

// Builds opts.bodies bodies. If sample is not null, appends each raw line and
// '\n' to it, up to sample_max_lines lines in all.
std::vector<PushBody> BuildBodies(const BodyPoolOptions& opts, std::string* sample, size_t sample_max_lines);

// Overwrites out's timestamps with base_ns, base_ns+1, … and its request ids
// with random hex from rng. out must be a copy of tmpl.body, built in `format`.
void Restamp(const PushBody& tmpl, PushFormat format, int64_t base_ns, Rng* rng, std::string* out);

}  // namespace loge::bench
