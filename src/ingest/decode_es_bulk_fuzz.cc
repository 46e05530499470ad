// libFuzzer target: the Elasticsearch bulk and JSON lines decoders must
// answer OK, InvalidArgument or ResourceExhausted for any bytes, without
// crashing, hanging or allocating without bound; bulk items match actions.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ingest/decode_es_bulk.h"
#include "ingest/decode_jsonline.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  loge::ingest::Limits limits;
  limits.max_line_bytes = 4096;
  loge::Payload p;
  std::vector<loge::ingest::EsBulkItem> items;
  loge::Status st = loge::ingest::DecodeEsBulk(in, loge::ingest::EsBulkOptions{}, limits, 1, &p, &items);
  if (!st.ok() && st.code() != loge::Code::kInvalidArgument && st.code() != loge::Code::kResourceExhausted) {
    std::abort();
  }
  if (st.ok()) {
    size_t stored = 0;
    for (const auto& i : items) stored += i.status == 201;
    LOGE_ASSERT(stored == p.Lines(), "BUG: items and stored entries disagree");
  }
  loge::ingest::DocumentOptions jl = loge::ingest::DefaultJsonLineOptions();
  jl.stream_fields = {"app", "a.b"};
  st = loge::ingest::DecodeJsonLines(in, jl, limits, 1, &p);
  if (!st.ok() && st.code() != loge::Code::kInvalidArgument && st.code() != loge::Code::kResourceExhausted) {
    std::abort();
  }
  return 0;
}
