// Loki protobuf push bodies -> Payload: snappy block -> logproto.PushRequest
// (protoc-generated, lite runtime) -> streams with parsed labels.
//
// Lines move out of the parsed message into the Entry (no copy). The labels
// string of each stream is parsed with the LogQL selector parser, which
// already knows Go's string escapes and backtick strings; only `=` pairs are
// accepted, as in Loki's ParseLabels.
#include "ingest/decode_loki_proto.h"

#include <climits>

#include "core/json_writer.h"
#include "ingest/decode_snappy.h"
#include "ingest/loki_push.pb.h"
#include "query/logql.h"

namespace loge::ingest {
namespace {

// Longest piece of user text quoted back in an error message.
constexpr size_t kMaxQuotedBytes = 64;
constexpr int64_t kNanosPerSecond = 1'000'000'000;

std::string Quote(std::string_view s) {
  std::string out;
  JsonWriter::Escape(s.substr(0, kMaxQuotedBytes), &out);
  if (s.size() > kMaxQuotedBytes) out.insert(out.size() - 1, "...");
  return out;
}

std::string StreamPath(size_t i) { return std::string("streams[").append(std::to_string(i)).append("]"); }

// The JSON body's vocabulary, as ValidatePayload uses for every format:
// entry j of stream i is "streams[i].values[j]", its timestamp "[0]".
std::string TimestampPath(size_t i, size_t j) {
  return StreamPath(i) + ".values[" + std::to_string(j) + "][0]";
}

Status DecodeEntry(logproto::EntryAdapter* in, size_t i, size_t j, Entry* e) {
  const int64_t sec = in->timestamp().seconds();
  const int32_t nanos = in->timestamp().nanos();
  if (nanos < 0 || nanos >= kNanosPerSecond) {
    return Status::InvalidArgument(TimestampPath(i, j) + ": nanos " + std::to_string(nanos) +
                                   " outside 0..999999999");
  }
  if (__builtin_mul_overflow(sec, kNanosPerSecond, &e->ts) || __builtin_add_overflow(e->ts, nanos, &e->ts)) {
    return Status::InvalidArgument(TimestampPath(i, j) + ": " + std::to_string(sec) +
                                   " s does not fit int64 nanoseconds");
  }
  e->line = std::move(*in->mutable_line());
  if (in->structuredmetadata_size() > 0) {
    JsonWriter w;
    w.BeginObject();
    for (const auto& kv : in->structuredmetadata()) {
      w.Key(kv.name());
      w.String(kv.value());
    }
    w.EndObject();
    e->metadata = w.Take();
  }
  return Status::OK();
}

}  // namespace

Status ParseLokiLabels(std::string_view text, Labels* out) {
  auto sel = query::ParseSelector(text);
  if (!sel.ok()) {
    return Status::InvalidArgument("couldn't parse labels " + Quote(text) + ": " + sel.status().message());
  }
  if (!sel->line_filters.empty() || !sel->entry_filters.empty() || sel->pipeline != nullptr) {
    return Status::InvalidArgument("couldn't parse labels " + Quote(text) + ": want only {name=\"value\", ...}");
  }
  out->clear();
  out->reserve(sel->matchers.size());
  for (const auto& m : sel->matchers) {
    if (m.type() != query::MatchType::kEq) {
      return Status::InvalidArgument("couldn't parse labels " + Quote(text) + ": label " + m.name() + " uses " +
                                     query::MatchTypeName(m.type()) + "; a stream's labels take only =");
    }
    if (m.value().empty()) continue;  // Loki drops empty values: {a="", b="x"} is {b="x"}
    out->emplace_back(m.name(), m.value());
  }
  return Status::OK();
}

Status DecodePushRequest(std::string_view protobuf, const Limits& limits, Payload* out) {
  out->streams.clear();
  if (protobuf.size() > static_cast<size_t>(INT_MAX)) {
    return Status::PayloadTooLarge("protobuf: PushRequest of " + std::to_string(protobuf.size()) +
                                   " bytes is past protobuf's 2 GiB limit");
  }
  logproto::PushRequest req;
  if (!req.ParseFromArray(protobuf.data(), static_cast<int>(protobuf.size()))) {
    return Status::InvalidArgument("protobuf: body is not a valid logproto.PushRequest");
  }
  out->streams.reserve(req.streams_size());
  for (int i = 0; i < req.streams_size(); i++) {
    logproto::StreamAdapter* in = req.mutable_streams(i);
    // Loki skips a stream without entries rather than failing the push.
    if (in->entries_size() == 0) continue;
    const size_t si = static_cast<size_t>(i);
    if (in->labels().size() >= kMaxLabelsStringBytes) {
      return Status::PayloadTooLarge(StreamPath(si) + ": labels string of " + std::to_string(in->labels().size()) +
                                     " bytes is too large");
    }
    Stream& s = out->streams.emplace_back();
    Status st = ParseLokiLabels(in->labels(), &s.labels);
    if (!st.ok()) return st.WithContext(StreamPath(si));
    s.entries.resize(static_cast<size_t>(in->entries_size()));
    for (int j = 0; j < in->entries_size(); j++) {
      LOGE_RETURN_IF_ERROR(DecodeEntry(in->mutable_entries(j), si, static_cast<size_t>(j), &s.entries[j]));
    }
  }
  return ValidatePayload(out, limits);
}

Status DecodeLokiProtoPush(std::string_view body, const Limits& limits, size_t max_decoded, Payload* out) {
  std::string raw;
  LOGE_RETURN_IF_ERROR(SnappyUncompress(body, max_decoded, &raw));
  return DecodePushRequest(raw, limits, out);
}

}  // namespace loge::ingest
