// Metric expression trees: vector aggregations, binary operators with
// vector matching, literals, vector() and label_replace over the per-step
// results of range aggregations (metric_range.cc), as Loki evaluates them.
#include <re2/re2.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

#include "query/metric_internal.h"

namespace loge::query {

namespace {

std::string KeyOf(const Labels& ls) {
  std::string k;
  for (const auto& [n, v] : ls) {
    k += n;
    k.push_back('\x01');
    k += v;
    k.push_back('\x02');
  }
  return k;
}

Labels Keep(const Labels& ls, const std::vector<std::string>& names, bool keep) {
  Labels out;
  for (const auto& kv : ls) {
    bool listed = std::find(names.begin(), names.end(), kv.first) != names.end();
    if (listed == keep) out.push_back(kv);
  }
  return out;
}

bool IsComparison(const std::string& op) {
  return op == "==" || op == "!=" || op == ">" || op == ">=" || op == "<" || op == "<=";
}

// Loki's MergeBinOp for one pair: false when a comparison filters it out.
bool Merge(const std::string& op, double l, double r, bool filter, double* out) {
  if (op == "+") *out = l + r;
  else if (op == "-") *out = l - r;
  else if (op == "*") *out = l * r;
  else if (op == "/") *out = r == 0 ? std::nan("") : l / r;
  else if (op == "%") *out = r == 0 ? std::nan("") : std::fmod(l, r);
  else if (op == "^") *out = std::pow(l, r);
  else {
    bool t = op == "==" ? l == r : op == "!=" ? l != r : op == ">" ? l > r : op == ">=" ? l >= r : op == "<" ? l < r : l <= r;
    if (!t && filter) return false;
    *out = t ? 1 : 0;
  }
  return true;
}

class Evaluator {
 public:
  Evaluator(DataSource* source, int concurrency, const Steps& steps, MetricResult* stats)
      : source_(source), concurrency_(concurrency), steps_(steps), stats_(stats) {}

  Result<Matrix> Eval(const Expr& e, const SampleGrouping* pushed) {
    switch (e.kind) {
      case Expr::Kind::kRangeAgg: {
        SampleGrouping g;
        if (e.grouping.present) {
          g.groups = e.grouping.labels;
          g.without = e.grouping.without;
          g.no_labels = e.grouping.Singleton();
        } else if (pushed != nullptr) {
          g = *pushed;
        }
        return EvalRangeAgg(source_, concurrency_, e, g, steps_, stats_);
      }
      case Expr::Kind::kVecAgg: return EvalVecAgg(e);
      case Expr::Kind::kBinOp: return EvalBinOp(e);
      case Expr::Kind::kVector:
      case Expr::Kind::kLiteral: {
        Series s;
        s.v.assign(steps_.n, e.value);
        s.has.assign(steps_.n, 1);
        return Matrix{std::move(s)};
      }
      case Expr::Kind::kLabelReplace: return EvalLabelReplace(e);
      case Expr::Kind::kLog: return Status::InvalidArgument("a log query is not a metric expression");
    }
    return Matrix{};
  }

 private:
  Result<Matrix> EvalVecAgg(const Expr& e) {
    // A sum over count/rate/bytes/sum_over_time without its own grouping
    // labels its samples by the sum's grouping directly (Loki's push-down).
    std::optional<SampleGrouping> push;
    const Expr& in = *e.lhs;
    if (e.vec_op == VecOp::kSum && in.kind == Expr::Kind::kRangeAgg && !in.grouping.present &&
        (in.range_op == RangeOp::kBytes || in.range_op == RangeOp::kBytesRate || in.range_op == RangeOp::kSum ||
         in.range_op == RangeOp::kRate || in.range_op == RangeOp::kCount)) {
      SampleGrouping g;
      g.groups = e.grouping.labels;
      g.without = e.grouping.without;
      g.no_labels = !e.grouping.without && e.grouping.labels.empty();
      push = g;
    }
    LOGE_ASSIGN_OR_RETURN(Matrix m, Eval(in, push ? &*push : nullptr));
    const auto& groups = e.grouping.labels;
    const bool without = e.grouping.without;
    if (e.vec_op == VecOp::kSort || e.vec_op == VecOp::kSortDesc) return m;
    if (e.vec_op == VecOp::kTopK || e.vec_op == VecOp::kBottomK) return TopK(e, std::move(m));
    struct Group {
      Series s;
      std::vector<double> mean, count;
    };
    std::map<std::string, Group> out;
    for (const auto& s : m) {
      Labels gl = Keep(s.metric, groups, !without);
      auto [it, fresh] = out.try_emplace(KeyOf(gl));
      Group& g = it->second;
      if (fresh) {
        g.s.metric = std::move(gl);
        g.s.v.assign(steps_.n, 0);
        g.s.has.assign(steps_.n, 0);
        g.mean.assign(steps_.n, 0);
        g.count.assign(steps_.n, 0);
      }
      for (size_t i = 0; i < steps_.n; i++) {
        if (!s.has[i]) continue;
        double x = s.v[i];
        double& v = g.s.v[i];
        if (!g.s.has[i]) {
          g.s.has[i] = 1;
          g.count[i] = 1;
          g.mean[i] = x;
          v = (e.vec_op == VecOp::kStddev || e.vec_op == VecOp::kStdvar) ? 0 : x;
          continue;
        }
        g.count[i]++;
        switch (e.vec_op) {
          case VecOp::kSum: v += x; break;
          case VecOp::kAvg:
            if (std::isinf(g.mean[i]) && ((std::isinf(x) && (g.mean[i] > 0) == (x > 0)) || (!std::isinf(x) && !std::isnan(x)))) break;
            g.mean[i] += (x - g.mean[i]) / g.count[i];
            break;
          case VecOp::kMax:
            if (v < x || std::isnan(v)) v = x;
            break;
          case VecOp::kMin:
            if (v > x || std::isnan(v)) v = x;
            break;
          case VecOp::kStddev:
          case VecOp::kStdvar: {
            double delta = x - g.mean[i];
            g.mean[i] += delta / g.count[i];
            v += delta * (x - g.mean[i]);
            break;
          }
          default: break;
        }
      }
    }
    Matrix result;
    for (auto& [k, g] : out) {
      for (size_t i = 0; i < steps_.n; i++) {
        if (!g.s.has[i]) continue;
        switch (e.vec_op) {
          case VecOp::kAvg: g.s.v[i] = g.mean[i]; break;
          case VecOp::kCount: g.s.v[i] = g.count[i]; break;
          case VecOp::kStddev: g.s.v[i] = std::sqrt(g.s.v[i] / g.count[i]); break;
          case VecOp::kStdvar: g.s.v[i] = g.s.v[i] / g.count[i]; break;
          default: break;
        }
      }
      result.push_back(std::move(g.s));
    }
    return result;
  }

  // topk/bottomk per step and group, with Loki's heap: the input in label
  // order, a sample replacing the heap's top only when strictly better, so
  // ties keep what Loki keeps.
  Matrix TopK(const Expr& e, Matrix m) {
    std::sort(m.begin(), m.end(), [](const Series& a, const Series& b) { return a.metric < b.metric; });
    const bool top = e.vec_op == VecOp::kTopK;
    const size_t k = static_cast<size_t>(e.k);
    std::vector<std::string> gkeys;
    for (const auto& s : m) gkeys.push_back(KeyOf(Keep(s.metric, e.grouping.labels, !e.grouping.without)));
    std::vector<std::vector<uint8_t>> keep(m.size(), std::vector<uint8_t>(steps_.n, 0));
    for (size_t i = 0; i < steps_.n; i++) {
      std::map<std::string, std::vector<size_t>> heaps;  // group -> heap of series indexes
      auto less = [&](size_t a, size_t b) {  // Go's Less(a, b) of the heap type
        double x = m[a].v[i], y = m[b].v[i];
        if (std::isnan(x)) return true;
        return top ? x < y : x > y;
      };
      auto up = [&](std::vector<size_t>& h, size_t j) {
        while (j > 0) {
          size_t p = (j - 1) / 2;
          if (!less(h[j], h[p])) break;
          std::swap(h[p], h[j]);
          j = p;
        }
      };
      auto down = [&](std::vector<size_t>& h, size_t i0, size_t n) {
        size_t j = i0;
        for (;;) {
          size_t j1 = 2 * j + 1;
          if (j1 >= n) break;
          size_t c = j1;
          if (j1 + 1 < n && less(h[j1 + 1], h[j1])) c = j1 + 1;
          if (!less(h[c], h[j])) break;
          std::swap(h[j], h[c]);
          j = c;
        }
      };
      for (size_t j = 0; j < m.size(); j++) {
        if (!m[j].has[i]) continue;
        auto& h = heaps[gkeys[j]];
        double x = m[j].v[i];
        if (!h.empty()) {
          double t = m[h[0]].v[i];
          bool better = top ? t < x : t > x;
          if (!(h.size() < k || better || std::isnan(t))) continue;
          if (h.size() == k) {
            std::swap(h[0], h[h.size() - 1]);
            down(h, 0, h.size() - 1);
            h.pop_back();
          }
        }
        h.push_back(j);
        up(h, h.size() - 1);
      }
      for (auto& [g, h] : heaps) {
        for (size_t j : h) keep[j][i] = 1;
      }
    }
    Matrix out;
    for (size_t j = 0; j < m.size(); j++) {
      Series s = m[j];
      bool any = false;
      for (size_t i = 0; i < steps_.n; i++) {
        s.has[i] = s.has[i] && keep[j][i];
        any = any || s.has[i];
      }
      if (any) out.push_back(std::move(s));
    }
    return out;
  }

  Result<Matrix> EvalBinOp(const Expr& e) {
    const bool llit = e.lhs->kind == Expr::Kind::kLiteral;
    const bool rlit = e.rhs->kind == Expr::Kind::kLiteral;
    if (llit || rlit) {
      LOGE_ASSIGN_OR_RETURN(Matrix m, Eval(llit ? *e.rhs : *e.lhs, nullptr));
      const double lit = llit ? e.lhs->value : e.rhs->value;
      const bool cmp = IsComparison(e.op);
      Matrix out;
      for (auto& s : m) {
        bool any = false;
        for (size_t i = 0; i < steps_.n; i++) {
          if (!s.has[i]) continue;
          double l = llit ? lit : s.v[i];
          double r = llit ? s.v[i] : lit;
          double res;
          if (!Merge(e.op, l, r, !e.return_bool, &res)) {
            s.has[i] = 0;
            continue;
          }
          // A filtering comparison keeps the vector's value.
          s.v[i] = cmp && !e.return_bool ? s.v[i] : res;
          any = true;
        }
        if (any) out.push_back(std::move(s));
      }
      return out;
    }
    LOGE_ASSIGN_OR_RETURN(Matrix lhs, Eval(*e.lhs, nullptr));
    LOGE_ASSIGN_OR_RETURN(Matrix rhs, Eval(*e.rhs, nullptr));
    const VectorMatching& vm = e.matching;
    auto sig = [&](const Labels& ls) { return KeyOf(vm.on ? Keep(ls, vm.labels, true) : Keep(ls, vm.labels, false)); };
    std::vector<std::string> lsig, rsig;
    for (const auto& s : lhs) lsig.push_back(sig(s.metric));
    for (const auto& s : rhs) rsig.push_back(sig(s.metric));
    BinOut out{steps_.n, {}};
    for (size_t i = 0; i < steps_.n; i++) {
      if (e.op == "and" || e.op == "or" || e.op == "unless") {
        SetOpStep(e, lhs, rhs, lsig, rsig, i, &out);
      } else {
        LOGE_RETURN_IF_ERROR(MatchStep(e, lhs, rhs, lsig, rsig, i, &out));
      }
    }
    Matrix result;
    for (auto& [k, s] : out.series) result.push_back(std::move(s));
    return result;
  }

  // The result series of a binary operation, keyed by their labels.
  struct BinOut {
    size_t steps;
    std::map<std::string, Series> series;
    void Emit(const Labels& metric, size_t i, double v) {
      auto [it, fresh] = series.try_emplace(KeyOf(metric));
      if (fresh) {
        it->second.metric = metric;
        it->second.v.assign(steps, 0);
        it->second.has.assign(steps, 0);
      }
      it->second.v[i] = v;
      it->second.has[i] = 1;
    }
  };

  // and / or / unless at step i.
  static void SetOpStep(const Expr& e, const Matrix& lhs, const Matrix& rhs, const std::vector<std::string>& lsig,
                        const std::vector<std::string>& rsig, size_t i, BinOut* out) {
    auto emit = [&](const Labels& m, size_t step, double v) { out->Emit(m, step, v); };
    std::unordered_map<std::string, bool> rset, lset;
    bool lany = false, rany = false;
    for (size_t j = 0; j < rhs.size(); j++) {
      if (rhs[j].has[i]) rset[rsig[j]] = rany = true;
    }
    for (size_t j = 0; j < lhs.size(); j++) {
      if (lhs[j].has[i]) lset[lsig[j]] = lany = true;
    }
    if (e.op == "and") {
      if (!lany || !rany) return;
      for (size_t j = 0; j < lhs.size(); j++) {
        if (lhs[j].has[i] && rset.contains(lsig[j])) emit(lhs[j].metric, i, lhs[j].v[i]);
      }
    } else if (e.op == "or") {
      for (size_t j = 0; j < lhs.size(); j++) {
        if (lhs[j].has[i]) emit(lhs[j].metric, i, lhs[j].v[i]);
      }
      for (size_t j = 0; j < rhs.size(); j++) {
        if (rhs[j].has[i] && (!lany || !lset.contains(rsig[j]))) emit(rhs[j].metric, i, rhs[j].v[i]);
      }
    } else {
      for (size_t j = 0; j < lhs.size(); j++) {
        if (lhs[j].has[i] && (!rany || !rset.contains(lsig[j]))) emit(lhs[j].metric, i, lhs[j].v[i]);
      }
    }
  }

  // Arithmetic and comparison at step i: one-to-one, or many-to-one /
  // one-to-many with group_left / group_right.
  static Status MatchStep(const Expr& e, const Matrix& lhs, const Matrix& rhs, const std::vector<std::string>& lsig,
                          const std::vector<std::string>& rsig, size_t i, BinOut* out) {
    const VectorMatching& vm = e.matching;
    auto emit = [&](const Labels& m, size_t step, double v) { out->Emit(m, step, v); };
    const bool one_to_many = vm.card == VectorMatching::Card::kOneToMany;
    const Matrix& many = one_to_many ? rhs : lhs;
    const Matrix& one = one_to_many ? lhs : rhs;
    const auto& msig = one_to_many ? rsig : lsig;
    const auto& osig = one_to_many ? lsig : rsig;
    std::unordered_map<std::string, size_t> one_by_sig;
    for (size_t j = 0; j < one.size(); j++) {
      if (!one[j].has[i]) continue;
      if (!one_by_sig.emplace(osig[j], j).second) {
        return Status::InvalidArgument(std::string("found duplicate series on the ") + (one_to_many ? "left" : "right") +
                                       " hand-side;many-to-many matching not allowed: matching labels must be unique on one side");
      }
    }
    std::unordered_map<std::string, std::vector<std::string>> matched;
    for (size_t j = 0; j < many.size(); j++) {
      if (!many[j].has[i]) continue;
      auto it = one_by_sig.find(msig[j]);
      if (it == one_by_sig.end()) continue;
      const Series& ms = many[j];
      const Series& os = one[it->second];
      Labels metric = ms.metric;
      if (vm.card == VectorMatching::Card::kOneToOne) {
        metric = vm.on ? Keep(ms.metric, vm.labels, true) : Keep(ms.metric, vm.labels, false);
      }
      for (const auto& inc : vm.include) {
        std::erase_if(metric, [&](const auto& kv) { return kv.first == inc; });
        for (const auto& kv : os.metric) {
          if (kv.first == inc && !kv.second.empty()) metric.push_back(kv);
        }
      }
      std::sort(metric.begin(), metric.end());
      auto& seen = matched[msig[j]];
      std::string mkey = KeyOf(metric);
      if (vm.card == VectorMatching::Card::kOneToOne) {
        if (!seen.empty()) {
          return Status::InvalidArgument(
              "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)");
        }
      } else if (std::find(seen.begin(), seen.end(), mkey) != seen.end()) {
        return Status::InvalidArgument("multiple matches for labels: grouping labels must ensure unique matches");
      }
      seen.push_back(mkey);
      double l = one_to_many ? os.v[i] : ms.v[i];
      double r = one_to_many ? ms.v[i] : os.v[i];
      double res;
      if (!Merge(e.op, l, r, !e.return_bool, &res)) continue;
      if (IsComparison(e.op) && !e.return_bool) res = l;
      emit(metric, i, res);
    }
    return Status::OK();
  }

  Result<Matrix> EvalLabelReplace(const Expr& e) {
    LOGE_ASSIGN_OR_RETURN(Matrix m, Eval(*e.lhs, nullptr));
    RE2::Options o;
    o.set_log_errors(false);
    RE2 re("^(?:" + e.regex + ")$", o);
    if (!re.ok()) return Status::InvalidArgument("invalid regular expression in label_replace(): " + e.regex);
    // Go's $1 / ${1} / $name expansion in RE2's \1 syntax.
    std::string rewrite;
    for (size_t i = 0; i < e.replacement.size(); i++) {
      char c = e.replacement[i];
      if (c == '\\') {
        rewrite += "\\\\";
      } else if (c == '$' && i + 1 < e.replacement.size()) {
        size_t j = i + 1;
        std::string name;
        if (e.replacement[j] == '{') {
          size_t close = e.replacement.find('}', j);
          name = close == std::string::npos ? "" : e.replacement.substr(j + 1, close - j - 1);
          j = close == std::string::npos ? e.replacement.size() : close + 1;
        } else {
          while (j < e.replacement.size() && (std::isalnum(static_cast<unsigned char>(e.replacement[j])) || e.replacement[j] == '_')) j++;
          name = e.replacement.substr(i + 1, j - i - 1);
        }
        if (!name.empty() && std::all_of(name.begin(), name.end(), ::isdigit)) {
          rewrite += "\\" + name;
        } else {
          auto it = re.NamedCapturingGroups().find(name);
          if (it != re.NamedCapturingGroups().end()) rewrite += "\\" + std::to_string(it->second);
        }
        i = j - 1;
      } else {
        rewrite.push_back(c);
      }
    }
    for (auto& s : m) {
      std::string src;
      for (const auto& kv : s.metric) {
        if (kv.first == e.src) src = kv.second;
      }
      std::string res = src;
      if (!RE2::Replace(&res, re, rewrite)) continue;
      std::erase_if(s.metric, [&](const auto& kv) { return kv.first == e.dst; });
      if (!res.empty()) s.metric.emplace_back(e.dst, res);
      std::sort(s.metric.begin(), s.metric.end());
    }
    return m;
  }

  DataSource* source_;
  int concurrency_;
  Steps steps_;
  MetricResult* stats_;
};

}  // namespace

Result<MetricResult> Engine::RunMetric(const MetricQuery& mq) {
  LOGE_RETURN_IF_ERROR(CheckMetricBounds(mq));
  MetricResult res;
  Steps steps;
  steps.start = mq.start;
  if (mq.instant || mq.step <= 0) {
    steps.step = 1;
    steps.n = 1;
  } else {
    steps.step = mq.step;
    steps.n = static_cast<size_t>((mq.end - mq.start) / mq.step) + 1;
  }
  const Expr& e = *mq.expr;
  if (e.kind == Expr::Kind::kLiteral && mq.instant) {
    res.type = MetricResult::Type::kScalar;
    res.scalar = e.value;
    res.scalar_ts = mq.start;
    return res;
  }
  Evaluator ev(source_, opts_.concurrency, steps, &res);
  LOGE_ASSIGN_OR_RETURN(Matrix m, ev.Eval(e, nullptr));
  res.type = mq.instant ? MetricResult::Type::kVector : MetricResult::Type::kMatrix;
  for (auto& s : m) {
    MetricSeries out;
    std::erase_if(s.metric, [](const auto& kv) { return kv.first == kPreserveErrorLabel; });
    out.metric = std::move(s.metric);
    for (size_t i = 0; i < steps.n; i++) {
      if (s.has[i]) out.points.emplace_back(steps.At(i), s.v[i]);
    }
    if (!out.points.empty()) res.series.push_back(std::move(out));
  }
  if (res.series.size() > mq.max_series) {
    return Status::InvalidArgument("maximum number of series (" + std::to_string(mq.max_series) +
                                   ") reached for a single query; consider reducing query cardinality by adding more "
                                   "specific stream selectors, reducing the time range, or aggregating results with "
                                   "functions like sum(), count() or topk()");
  }
  std::sort(res.series.begin(), res.series.end(),
            [](const MetricSeries& a, const MetricSeries& b) { return a.metric < b.metric; });
  return res;
}

}  // namespace loge::query
