// Label filter stages (`| status >= 500`, `| a="x" or b=~"y"`, `| ip =
// ip("10.0.0.0/8")`) and the line filter stages, with Loki's semantics:
// a numeric, duration or bytes filter drops an entry without the label and
// keeps one whose value does not parse, setting __error__=LabelFilterErr;
// `or` stops at the first side that holds, `and` runs both.
#include <arpa/inet.h>

#include <algorithm>
#include <limits>
#include <cstring>

#include "query/pattern.h"
#include "query/stages.h"

namespace loge::query {

namespace {

template <typename T>
bool Compare(CmpOp op, T a, T b) {
  switch (op) {
    case CmpOp::kEq: return a == b;
    case CmpOp::kNeq: return a != b;
    case CmpOp::kGt: return a > b;
    case CmpOp::kGte: return a >= b;
    case CmpOp::kLt: return a < b;
    case CmpOp::kLte: return a <= b;
  }
  return false;
}

class StringFilter : public LabelFilter {
 public:
  explicit StringFilter(LabelMatcher m) : m_(std::move(m)) {}
  bool Process(LabelsBuilder* lb) const override {
    if (m_.name() == kErrorLabel) return m_.MatchesValue(lb->err());
    auto v = lb->Get(m_.name());
    return m_.MatchesValue(v ? *v : std::string_view());
  }
  void RequiredLabels(std::vector<std::string>* out) const override { out->push_back(m_.name()); }

 private:
  LabelMatcher m_;
};

// Numbers, durations and bytes: parse the value, compare.
template <typename T, typename ParseFn>
class TypedFilter : public LabelFilter {
 public:
  TypedFilter(std::string name, CmpOp op, T value, ParseFn parse)
      : name_(std::move(name)), op_(op), value_(value), parse_(parse) {}
  bool Process(LabelsBuilder* lb) const override {
    auto v = lb->Get(name_);
    if (!v) return false;
    auto parsed = parse_(*v);
    if (!parsed.ok()) {
      if (!lb->HasErr()) {
        lb->SetErr(kErrLabelFilter);
        lb->SetErrDetails(parsed.status().message());
      }
      return true;
    }
    return Compare<T>(op_, *parsed, value_);
  }
  void RequiredLabels(std::vector<std::string>* out) const override { out->push_back(name_); }

 private:
  std::string name_;
  CmpOp op_;
  T value_;
  ParseFn parse_;
};

class IpFilter : public LabelFilter {
 public:
  IpFilter(std::string name, bool negate, IpMatcher m) : name_(std::move(name)), negate_(negate), m_(m) {}
  bool Process(LabelsBuilder* lb) const override {
    if (lb->HasErr()) return true;
    auto v = lb->Get(name_);
    if (!v) return false;
    return m_.ContainsMatch(*v) != negate_;
  }
  void RequiredLabels(std::vector<std::string>* out) const override { out->push_back(name_); }

 private:
  std::string name_;
  bool negate_;
  IpMatcher m_;
};

class BinaryFilter : public LabelFilter {
 public:
  BinaryFilter(LabelFilterPtr a, LabelFilterPtr b, bool is_and) : a_(std::move(a)), b_(std::move(b)), and_(is_and) {}
  bool Process(LabelsBuilder* lb) const override {
    bool l = a_->Process(lb);
    if (!and_ && l) return true;
    bool r = b_->Process(lb);
    return and_ ? l && r : l || r;
  }
  void RequiredLabels(std::vector<std::string>* out) const override {
    a_->RequiredLabels(out);
    b_->RequiredLabels(out);
  }

 private:
  LabelFilterPtr a_, b_;
  bool and_;
};

class LabelFilterStage : public Stage {
 public:
  explicit LabelFilterStage(LabelFilterPtr f) : f_(std::move(f)) {}
  bool Process(int64_t, PipelineLine*, LabelsBuilder* lb) const override { return f_->Process(lb); }
  void RequiredLabels(std::vector<std::string>* out) const override { f_->RequiredLabels(out); }

 private:
  LabelFilterPtr f_;
};

class LineFilterStage : public Stage, public LineFilterHolder {
 public:
  explicit LineFilterStage(LineFilter f) : f_(std::move(f)) {}
  bool Process(int64_t, PipelineLine* line, LabelsBuilder*) const override { return f_.Matches(line->text); }
  bool IsLineFilter() const override { return true; }
  const LineFilter& filter() const override { return f_; }

 private:
  LineFilter f_;
};

class IpLineFilter : public Stage {
 public:
  IpLineFilter(bool negate, IpMatcher m) : negate_(negate), m_(m) {}
  bool Process(int64_t, PipelineLine* line, LabelsBuilder*) const override {
    return m_.ContainsMatch(line->text) != negate_;
  }
  bool IsLineFilter() const override { return true; }

 private:
  bool negate_;
  IpMatcher m_;
};

class PatternLineFilter : public Stage {
 public:
  PatternLineFilter(bool negate, std::vector<Pattern> ps) : negate_(negate), ps_(std::move(ps)) {}
  bool Process(int64_t, PipelineLine* line, LabelsBuilder*) const override {
    bool any = false;
    for (const auto& p : ps_) {
      if (p.Test(line->text)) {
        any = true;
        break;
      }
    }
    return any != negate_;
  }
  bool IsLineFilter() const override { return true; }

 private:
  bool negate_;
  std::vector<Pattern> ps_;
};

bool ParseAddr(std::string_view s, bool* v6, unsigned char out[16]) {
  std::string z(s);
  std::memset(out, 0, 16);
  if (inet_pton(AF_INET, z.c_str(), out + 12) == 1) {
    *v6 = false;
    return true;
  }
  if (inet_pton(AF_INET6, z.c_str(), out) == 1) {
    *v6 = true;
    return true;
  }
  return false;
}

bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
bool IsHex(unsigned char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

}  // namespace

Result<IpMatcher> IpMatcher::Make(const std::string& pattern) {
  IpMatcher m;
  auto bad = [&] { return Status::InvalidArgument("ip: invalid pattern: \"" + pattern + "\""); };
  bool v6 = false;
  if (ParseAddr(pattern, &v6, m.lo_)) {
    m.v6_ = v6;
    std::memcpy(m.hi_, m.lo_, 16);
    return m;
  }
  size_t slash = pattern.find('/');
  if (slash != std::string::npos) {
    if (!ParseAddr(std::string_view(pattern).substr(0, slash), &v6, m.lo_)) return bad();
    std::string bits_s = pattern.substr(slash + 1);
    if (bits_s.empty() || bits_s.size() > 3 || !std::all_of(bits_s.begin(), bits_s.end(), IsDigit)) return bad();
    int bits = std::stoi(bits_s);
    int max = v6 ? 128 : 32;
    if (bits > max) return bad();
    m.v6_ = v6;
    int total = v6 ? bits : 96 + bits;
    for (int i = 0; i < 16; i++) {
      int keep = std::clamp(total - i * 8, 0, 8);
      unsigned char mask = keep == 0 ? 0 : static_cast<unsigned char>(0xFF << (8 - keep));
      m.lo_[i] = m.lo_[i] & mask;
      m.hi_[i] = m.lo_[i] | static_cast<unsigned char>(~mask);
    }
    return m;
  }
  size_t dash = pattern.find('-');
  if (dash != std::string::npos) {
    bool v6b = false;
    if (!ParseAddr(std::string_view(pattern).substr(0, dash), &v6, m.lo_) ||
        !ParseAddr(std::string_view(pattern).substr(dash + 1), &v6b, m.hi_) || v6 != v6b ||
        std::memcmp(m.lo_, m.hi_, 16) > 0) {
      return bad();
    }
    m.v6_ = v6;
    return m;
  }
  return bad();
}

bool IpMatcher::MatchesAddress(std::string_view addr) const {
  unsigned char a[16];
  bool v6 = false;
  if (!ParseAddr(addr, &v6, a) || v6 != v6_) return false;
  return std::memcmp(a, lo_, 16) >= 0 && std::memcmp(a, hi_, 16) <= 0;
}

bool IpMatcher::ContainsMatch(std::string_view line) const {
  const size_t n = line.size();
  auto at = [&](size_t i) -> unsigned char { return i < n ? static_cast<unsigned char>(line[i]) : 0; };
  auto span = [&](size_t start, bool v6) {
    size_t i = start;
    while (i < n) {
      unsigned char c = static_cast<unsigned char>(line[i]);
      bool ok = v6 ? (IsHex(c) || c == ':' || c == '.') : (IsDigit(c) || c == '.');
      if (!ok) break;
      i++;
    }
    return i - start;
  };
  for (size_t i = 0; i < n; i++) {
    bool v4_hint = i + 3 < n && IsDigit(at(i)) && (at(i + 1) == '.' || at(i + 2) == '.' || at(i + 3) == '.');
    bool v6_hint = (at(i) == ':' && at(i + 1) == ':' && IsHex(at(i + 2))) || (IsHex(at(i)) && at(i + 1) == ':') ||
                   (IsHex(at(i)) && IsHex(at(i + 1)) && at(i + 2) == ':') ||
                   (IsHex(at(i)) && IsHex(at(i + 1)) && IsHex(at(i + 2)) && at(i + 3) == ':') ||
                   (IsHex(at(i)) && IsHex(at(i + 1)) && IsHex(at(i + 2)) && IsHex(at(i + 3)) && at(i + 4) == ':');
    if (!v4_hint && !v6_hint) continue;
    size_t len = span(i, !v4_hint);
    if (MatchesAddress(line.substr(i, len))) return true;
    i += len;
  }
  return false;
}

StagePtr MakeLineFilterStage(LineFilter f) { return std::make_shared<LineFilterStage>(std::move(f)); }

Result<StagePtr> MakeIpLineFilter(bool negate, const std::string& pattern) {
  LOGE_ASSIGN_OR_RETURN(IpMatcher m, IpMatcher::Make(pattern));
  return StagePtr(std::make_shared<IpLineFilter>(negate, m));
}

Result<StagePtr> MakePatternLineFilter(bool negate, std::vector<std::string> patterns) {
  std::vector<Pattern> ps;
  for (const auto& p : patterns) {
    LOGE_ASSIGN_OR_RETURN(Pattern compiled, Pattern::Make(p));
    ps.push_back(std::move(compiled));
  }
  return StagePtr(std::make_shared<PatternLineFilter>(negate, std::move(ps)));
}

LabelFilterPtr MakeStringLabelFilter(LabelMatcher m) { return std::make_shared<StringFilter>(std::move(m)); }

LabelFilterPtr MakeNumberLabelFilter(std::string name, CmpOp op, double value) {
  auto parse = [](std::string_view s) { return ParseGoFloat(s); };
  return std::make_shared<TypedFilter<double, decltype(parse)>>(std::move(name), op, value, parse);
}

LabelFilterPtr MakeDurationLabelFilter(std::string name, CmpOp op, int64_t ns) {
  auto parse = [](std::string_view s) { return ParseGoDuration(s); };
  return std::make_shared<TypedFilter<int64_t, decltype(parse)>>(std::move(name), op, ns, parse);
}

LabelFilterPtr MakeBytesLabelFilter(std::string name, CmpOp op, uint64_t bytes) {
  auto parse = [](std::string_view s) { return ParseHumanBytes(s); };
  return std::make_shared<TypedFilter<uint64_t, decltype(parse)>>(std::move(name), op, bytes, parse);
}

Result<LabelFilterPtr> MakeIpLabelFilter(std::string name, bool negate, const std::string& pattern) {
  LOGE_ASSIGN_OR_RETURN(IpMatcher m, IpMatcher::Make(pattern));
  return LabelFilterPtr(std::make_shared<IpFilter>(std::move(name), negate, m));
}

LabelFilterPtr MakeAndLabelFilter(LabelFilterPtr a, LabelFilterPtr b) {
  return std::make_shared<BinaryFilter>(std::move(a), std::move(b), true);
}

LabelFilterPtr MakeOrLabelFilter(LabelFilterPtr a, LabelFilterPtr b) {
  return std::make_shared<BinaryFilter>(std::move(a), std::move(b), false);
}

StagePtr MakeLabelFilterStage(LabelFilterPtr f) { return std::make_shared<LabelFilterStage>(std::move(f)); }

}  // namespace loge::query
