// libFuzzer target for the LogQL selector parser: no input may crash, hang or
// leak; a parse error must carry a position; a parsed selector must run.
// Build and run with scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "query/logql.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto s = loge::query::ParseSelector(in);
  if (!s.ok()) {
    LOGE_ASSERT(s.status().code() == loge::Code::kInvalidArgument, "BUG: parse error is not InvalidArgument");
    LOGE_ASSERT(loge::query::ErrorPosition(s.status()).first > 0, "BUG: parse error without a position");
    return 0;
  }
  const loge::Labels labels = {{"app", "web"}, {"env", "prod"}};
  for (const auto& m : s->matchers) (void)m.Matches(labels);
  for (const auto& f : s->line_filters) {
    (void)f.Matches("level=error msg=\"request timeout\" code=503 caf\xc3\xa9");
    (void)f.Matches(in);
  }
  return 0;
}
