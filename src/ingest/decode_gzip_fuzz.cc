// libFuzzer target: gzip and deflate Content-Encoding. Any bytes must give
// OK, InvalidArgument or PayloadTooLarge, with the output bounded by the cap
// however well the input compresses.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ingest/decode_gzip.h"

namespace {
constexpr size_t kCap = 256 << 10;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (auto w : {loge::ingest::ZlibWrapper::kGzip, loge::ingest::ZlibWrapper::kDeflate}) {
    std::string out;
    loge::Status st = loge::ingest::Inflate(in, w, kCap, &out);
    if (!st.ok() && st.code() != loge::Code::kInvalidArgument && st.code() != loge::Code::kPayloadTooLarge) {
      std::abort();
    }
    if (st.ok()) LOGE_ASSERT(out.size() <= kCap, "BUG: inflated past the cap");
    LOGE_ASSERT(out.capacity() <= 2 * kCap + 64, "BUG: inflate buffer grew past the cap");
  }
  return 0;
}
