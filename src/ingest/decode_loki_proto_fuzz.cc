// libFuzzer target: Loki's PushRequest decoder (protobuf after snappy) and
// the labels-string parser must answer OK, InvalidArgument or
// PayloadTooLarge for any bytes, without crashing, hanging or allocating
// without bound.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ingest/decode_loki_proto.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  loge::Payload p;
  loge::ingest::Limits limits;
  limits.max_line_bytes = 4096;
  loge::Status st = loge::ingest::DecodePushRequest(in, limits, &p);
  if (!st.ok() && st.code() != loge::Code::kInvalidArgument && st.code() != loge::Code::kPayloadTooLarge) {
    std::abort();
  }
  // The same bytes as a stream's labels string.
  loge::Labels labels;
  st = loge::ingest::ParseLokiLabels(in, &labels);
  if (!st.ok() && st.code() != loge::Code::kInvalidArgument) std::abort();
  for (const auto& [name, value] : labels) {
    LOGE_ASSERT(loge::IsValidLabelName(name) && !value.empty(), "BUG: bad label accepted");
  }
  return 0;
}
