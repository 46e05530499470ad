// Loki's pattern syntax (`| pattern "<ip> - <_> [<ts>] \"<method> <path>\""`
// and the `|>` line filter): literals and captures, `<_>` an unnamed one.
//
// Thread-safety: immutable after Make.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace loge::query {

class Pattern {
 public:
  // InvalidArgument with Loki's wording: no capture, consecutive captures,
  // a duplicate name. `for_filter`: a line-filter pattern, where named
  // captures are not allowed and none are needed.
  static Result<Pattern> Make(std::string_view in, bool for_filter = true);
  // The named captures, in order.
  const std::vector<std::string>& names() const { return names_; }
  // The captured values of a line (as many as matched, up to names()).
  void Match(std::string_view line, std::vector<std::string_view>* out) const;
  // The line-filter test: every literal in order, nothing extra at the end
  // unless the pattern ends with a capture.
  bool Test(std::string_view line) const;

 private:
  struct Node {
    bool capture = false;
    std::string text;  // literal text or capture name
    bool Unnamed() const { return capture && text == "_"; }
  };
  std::vector<Node> nodes_;
  std::vector<std::string> names_;
};

}  // namespace loge::query
