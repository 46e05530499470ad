// libFuzzer target: the msgpack push decoder must answer OK or
// InvalidArgument for any bytes, without crashing, hanging or allocating
// without bound (declared array and string sizes are not to be trusted).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ingest/decode_msgpack.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  loge::Payload p;
  loge::ingest::Limits limits;
  limits.max_line_bytes = 4096;
  loge::Status st =
      loge::ingest::DecodeMsgpackPush(std::string_view(reinterpret_cast<const char*>(data), size), limits, &p);
  if (!st.ok() && st.code() != loge::Code::kInvalidArgument) std::abort();
  if (st.ok()) {
    LOGE_ASSERT(!p.streams.empty(), "BUG: accepted a push without streams");
    for (const auto& s : p.streams) LOGE_ASSERT(!s.labels.empty() && !s.entries.empty(), "BUG: empty stream accepted");
  }
  return 0;
}
