// libFuzzer target: the JSON push decoder must answer OK or InvalidArgument
// for any bytes, without crashing, hanging or allocating without bound.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ingest/decode_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  loge::Payload p;
  loge::ingest::Limits limits;
  limits.max_line_bytes = 4096;
  loge::Status st = loge::ingest::DecodeJsonPush(std::string_view(reinterpret_cast<const char*>(data), size), limits, &p);
  if (!st.ok() && st.code() != loge::Code::kInvalidArgument) std::abort();
  return 0;
}
