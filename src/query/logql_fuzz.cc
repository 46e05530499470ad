// libFuzzer target for the LogQL parser, over the whole grammar (log and
// metric queries, pipelines, templates): no input may crash, hang or leak;
// a parse error must carry a position (loge's form) and be InvalidArgument
// in both error styles; a parsed pipeline must run over a sample entry.
// Build and run with scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "query/logql.h"

namespace {

void RunPipeline(const loge::query::Selector& s, std::string_view in) {
  const loge::Labels stream = {{"app", "web"}, {"env", "prod"}};
  for (const auto& m : s.matchers) (void)m.Matches(stream);
  for (std::string_view line : {std::string_view("level=error msg=\"request timeout\" code=503 caf\xc3\xa9"),
                                std::string_view(R"({"a":{"b":[1,2]},"level":"info","n":1.5})"), in}) {
    for (const auto& f : s.line_filters) (void)f.Matches(line);
    if (!s.pipeline) continue;
    loge::query::LabelsBuilder lb;
    lb.Reset(&stream, nullptr);
    lb.AddMetadata(R"({"trace_id":"t1","app":"m"})");
    loge::query::PipelineLine pl{line, {}};
    (void)s.pipeline->Process(1767225600000000000, &pl, &lb);
    (void)lb.All();
  }
}

void Walk(const loge::query::Expr& e, std::string_view in) {
  if (e.kind == loge::query::Expr::Kind::kLog || e.kind == loge::query::Expr::Kind::kRangeAgg) RunPipeline(e.selector, in);
  if (e.lhs) Walk(*e.lhs, in);
  if (e.rhs) Walk(*e.rhs, in);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto s = loge::query::ParseSelector(in);
  if (!s.ok()) {
    LOGE_ASSERT(s.status().code() == loge::Code::kInvalidArgument, "BUG: parse error is not InvalidArgument");
    LOGE_ASSERT(loge::query::ErrorPosition(s.status()).first > 0, "BUG: parse error without a position");
  } else {
    RunPipeline(*s, in);
  }
  loge::query::ParseOptions loki;
  loki.loki_errors = true;
  loki.require_matcher = true;
  for (const auto& opts : {loge::query::ParseOptions{}, loki}) {
    auto e = loge::query::ParseExpr(in, opts);
    if (!e.ok()) {
      LOGE_ASSERT(e.status().code() == loge::Code::kInvalidArgument, "BUG: parse error is not InvalidArgument");
      continue;
    }
    Walk(**e, in);
  }
  return 0;
}
