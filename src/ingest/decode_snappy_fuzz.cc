// libFuzzer target: raw snappy blocks, and the whole protobuf push path
// behind them. Any bytes must give OK, InvalidArgument or PayloadTooLarge;
// the output never exceeds the cap, and no block can make the decoder
// allocate more than the cap (a lying length preamble included).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ingest/decode_loki_proto.h"
#include "ingest/decode_snappy.h"

namespace {
constexpr size_t kCap = 1 << 20;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string out;
  loge::Status st = loge::ingest::SnappyUncompress(in, kCap, &out);
  if (!st.ok() && st.code() != loge::Code::kInvalidArgument && st.code() != loge::Code::kPayloadTooLarge) {
    std::abort();
  }
  if (st.ok()) LOGE_ASSERT(out.size() <= kCap, "BUG: snappy output past the cap");
  loge::Payload p;
  loge::ingest::Limits limits;
  limits.max_line_bytes = 4096;
  st = loge::ingest::DecodeLokiProtoPush(in, limits, kCap, &p);
  if (!st.ok() && st.code() != loge::Code::kInvalidArgument && st.code() != loge::Code::kPayloadTooLarge) {
    std::abort();
  }
  return 0;
}
