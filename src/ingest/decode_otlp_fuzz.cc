// libFuzzer target: the OTLP logs decoders (protobuf and JSON) must answer
// OK, InvalidArgument or ResourceExhausted for any bytes, without crashing,
// hanging or allocating without bound, and every label they make must be
// a valid label name.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ingest/decode_otlp.h"

namespace {

void Check(const loge::Status& st, const loge::Payload& p) {
  if (!st.ok() && st.code() != loge::Code::kInvalidArgument && st.code() != loge::Code::kResourceExhausted) {
    std::abort();
  }
  if (!st.ok()) return;
  for (const auto& s : p.streams) {
    LOGE_ASSERT(!s.labels.empty() && !s.entries.empty(), "BUG: empty stream decoded");
    for (const auto& [name, value] : s.labels) LOGE_ASSERT(loge::IsValidLabelName(name), "BUG: bad label name");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  loge::ingest::Limits limits;
  limits.max_line_bytes = 4096;
  loge::ingest::OtlpOptions opts;
  loge::Payload p;
  loge::ingest::OtlpRejects rejects;
  Check(loge::ingest::DecodeOtlpLogsProto(in, opts, limits, 1, &p, &rejects), p);
  Check(loge::ingest::DecodeOtlpLogsJson(in, opts, limits, 1, &p, &rejects), p);
  return 0;
}
