// Range aggregations: one scan of the stored rows per aggregation, each
// row's sample added to every step whose window holds it (see metric.h).
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <unordered_map>

#include "query/metric_internal.h"
#include "query/scanner.h"
#include "storage/segment_reader.h"

namespace loge::query {

namespace {

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
int64_t CeilDiv(int64_t a, int64_t b) { return -FloorDiv(-a, b); }

// Ops whose per-step value is a sum of per-sample values (counted without
// keeping samples).
bool Additive(RangeOp op) {
  switch (op) {
    case RangeOp::kCount:
    case RangeOp::kRate:
    case RangeOp::kBytes:
    case RangeOp::kBytesRate:
    case RangeOp::kSum:
    case RangeOp::kAbsent: return true;
    default: return false;
  }
}

// The serialized label set: the key of a series.
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

// What a range aggregation's scan needs, shared by its workers.
struct RangeSpec {
  const Expr* e = nullptr;
  Steps steps;
  SampleGrouping grouping;
  ParserHints hints;
  Query q;
  bool additive = false;
  bool header_ok = false;  // header counting allowed (no filters, no pipeline, line counts or bytes)
  bool bytes = false;      // value = line bytes
  bool unwrap = false;
};

struct SeriesAcc {
  Labels metric;
  std::vector<double> sum;                        // additive: per step
  std::vector<uint8_t> has;                       // additive: per step
  std::vector<std::pair<int64_t, double>> samples;  // otherwise: every sample
};

class RangeConsumer : public RowConsumer {
 public:
  explicit RangeConsumer(const RangeSpec& s) : s_(s) {}

  BlockUse OnBlock(const BlockHeader& b) override {
    if (!s_.header_ok || b.cursor == nullptr) return BlockUse::kRows;
    bool stream_only = StreamOnly(*b.stream);
    if (!stream_only && b.cursor->HasMetadata()) return BlockUse::kRows;
    // Otherwise a count needs each row's time, not its line.
    const BlockUse rows = s_.bytes ? BlockUse::kRows : BlockUse::kTimestamps;
    if (!b.distinct || b.min_ts < s_.q.start || b.max_ts > s_.q.end) return rows;
    int64_t lo1, hi1, lo2, hi2;
    StepRange(b.min_ts, &lo1, &hi1);
    StepRange(b.max_ts, &lo2, &hi2);
    if (lo1 != lo2 || hi1 != hi2) return rows;
    blocks_from_headers_++;
    if (lo1 > hi1) return BlockUse::kHeader;  // in no window
    Labels grouped = GroupStream(b.stream->labels);
    SeriesAcc& acc = Series(grouped);
    double v = s_.bytes ? static_cast<double>(b.LineBytes()) : static_cast<double>(b.n);
    for (int64_t i = lo1; i <= hi1; i++) {
      acc.sum[static_cast<size_t>(i)] += v;
      acc.has[static_cast<size_t>(i)] = 1;
    }
    rows_ += b.n;
    return BlockUse::kHeader;
  }

  // Without a pipeline or unwrap, a stream whose labels alone name its
  // series needs no metadata and no per-row label work.
  bool WantsMetadata(const ScanStream& stream) override { return !Plain(stream); }

  Status OnRows(const ScanStream& stream, const std::vector<ScanRow>& rows) override {
    if (s_.additive && Plain(stream)) {
      SeriesAcc& acc = Series(GroupStream(stream.labels));
      for (const auto& r : rows) {
        rows_++;
        double v = s_.bytes ? static_cast<double>(r.line.size()) : 1;
        int64_t lo, hi;
        StepRange(r.ts, &lo, &hi);
        for (int64_t i = lo; i <= hi; i++) {
          acc.sum[static_cast<size_t>(i)] += v;
          acc.has[static_cast<size_t>(i)] = 1;
        }
      }
      return Status::OK();
    }
    const Pipeline* p = s_.q.HasPipeline() ? s_.q.pipeline.get() : nullptr;
    for (const auto& r : rows) {
      rows_++;
      lb_.Reset(&stream.labels, &s_.hints);
      lb_.AddMetadata(r.metadata);
      PipelineLine line{r.line, {}};
      if (p != nullptr && !p->Process(r.ts, &line, &lb_)) continue;
      double v = 1;
      if (s_.unwrap) {
        if (!Unwrapped(&v)) continue;
      } else if (s_.bytes) {
        v = static_cast<double>(line.text.size());
      }
      Labels grouped = lb_.Grouped(s_.grouping.groups, s_.grouping.without, s_.grouping.no_labels);
      SeriesAcc& acc = Series(grouped);
      if (s_.additive) {
        int64_t lo, hi;
        StepRange(r.ts, &lo, &hi);
        for (int64_t i = lo; i <= hi; i++) {
          acc.sum[static_cast<size_t>(i)] += v;
          acc.has[static_cast<size_t>(i)] = 1;
        }
      } else {
        acc.samples.emplace_back(r.ts, v);
      }
    }
    return Status::OK();
  }

  // A count's rows from their times alone (OnBlock said kTimestamps: no
  // filters, no pipeline, labels from the stream).
  Status OnTimestamps(const ScanStream& stream, const std::vector<int64_t>& ts) override {
    SeriesAcc& acc = Series(GroupStream(stream.labels));
    for (int64_t t : ts) {
      rows_++;
      int64_t lo, hi;
      StepRange(t, &lo, &hi);
      for (int64_t i = lo; i <= hi; i++) {
        acc.sum[static_cast<size_t>(i)] += 1;
        acc.has[static_cast<size_t>(i)] = 1;
      }
    }
    return Status::OK();
  }

  std::unordered_map<std::string, SeriesAcc>& series() { return series_; }
  uint64_t blocks_from_headers() const { return blocks_from_headers_; }
  uint64_t rows() const { return rows_; }

 private:
  // The steps whose window holds a row at ts: [*lo, *hi], empty when lo > hi.
  void StepRange(int64_t ts, int64_t* lo, int64_t* hi) const {
    const Steps& st = s_.steps;
    int64_t e = ts + s_.e->offset_ns;
    *lo = std::max<int64_t>(0, CeilDiv(e - st.start, st.step));
    *hi = std::min<int64_t>(static_cast<int64_t>(st.n) - 1, FloorDiv(e + s_.e->range_ns - 1 - st.start, st.step));
  }

  bool Plain(const ScanStream& s) { return !s_.unwrap && !s_.q.HasPipeline() && StreamOnly(s); }

  // True when a stream's samples are labelled from its labels alone
  // (metadata cannot change them).
  bool StreamOnly(const ScanStream& s) {
    auto it = stream_only_.find(&s);
    if (it != stream_only_.end()) return it->second;
    bool only = s_.grouping.no_labels;
    if (!only && !s_.grouping.without && !s_.grouping.groups.empty()) {
      only = true;
      for (const auto& g : s_.grouping.groups) {
        bool found = false;
        for (const auto& [k, v] : s.labels) found = found || (k == g && !v.empty());
        only = only && found;
      }
    }
    stream_only_.emplace(&s, only);
    return only;
  }

  Labels GroupStream(const Labels& stream) {
    lb_.Reset(&stream, &s_.hints);
    return lb_.Grouped(s_.grouping.groups, s_.grouping.without, s_.grouping.no_labels);
  }

  SeriesAcc& Series(const Labels& ls) {
    std::string key = KeyOf(ls);
    auto it = series_.find(key);
    if (it != series_.end()) return it->second;
    SeriesAcc acc;
    acc.metric = ls;
    if (s_.additive) {
      acc.sum.assign(s_.steps.n, 0);
      acc.has.assign(s_.steps.n, 0);
    }
    return series_.emplace(std::move(key), std::move(acc)).first->second;
  }

  // The unwrapped value; false when the label is missing or a post filter
  // drops the sample.
  bool Unwrapped(double* v) {
    const Unwrap& u = *s_.e->unwrap;
    auto s = lb_.Get(u.label);
    if (!s || s->empty()) return false;
    Result<double> r = Status::InvalidArgument("");
    switch (u.conv) {
      case UnwrapConv::kNone: r = ParseGoFloat(*s); break;
      case UnwrapConv::kBytes: {
        auto b = ParseHumanBytes(*s);
        r = b.ok() ? Result<double>(static_cast<double>(*b)) : Result<double>(b.status());
        break;
      }
      case UnwrapConv::kDuration:
      case UnwrapConv::kDurationSeconds: {
        auto d = ParseGoDuration(*s);
        r = d.ok() ? Result<double>(static_cast<double>(*d) / 1e9) : Result<double>(d.status());
        break;
      }
    }
    if (r.ok()) {
      *v = *r;
    } else {
      *v = 0;
      lb_.SetErr(kErrSample);
      lb_.SetErrDetails(r.status().message());
    }
    for (const auto& f : u.post_filters) {
      if (!f->Process(&lb_)) return false;
    }
    return true;
  }

  const RangeSpec& s_;
  LabelsBuilder lb_;
  std::unordered_map<std::string, SeriesAcc> series_;
  std::unordered_map<const ScanStream*, bool> stream_only_;
  uint64_t blocks_from_headers_ = 0;
  uint64_t rows_ = 0;
};

// Prometheus' extrapolated rate for a counter (rate_counter).
double ExtrapolatedRate(const std::vector<std::pair<int64_t, double>>& s, size_t lo, size_t hi, int64_t range_ns,
                        int64_t range_end) {
  if (hi - lo < 2) return 0;
  int64_t range_start = range_end - range_ns;
  double result = s[hi - 1].second - s[lo].second;
  double last = 0;
  for (size_t i = lo; i < hi; i++) {
    if (s[i].second < last) result += last;
    last = s[i].second;
  }
  double to_start = static_cast<double>(s[lo].first - range_start) / 1e9;
  double to_end = static_cast<double>(range_end - s[hi - 1].first) / 1e9;
  double sampled = static_cast<double>(s[hi - 1].first - s[lo].first) / 1e9;
  double avg = sampled / static_cast<double>(hi - lo - 1);
  double threshold = avg * 1.1;
  if (to_start >= threshold) to_start = avg / 2;
  double to_zero = to_start;
  if (result > 0 && s[lo].second >= 0) to_zero = sampled * (s[lo].second / result);
  if (to_zero < to_start) to_start = to_zero;
  if (to_end >= threshold) to_end = avg / 2;
  double extrapolate_to = sampled + to_start + to_end;
  result = result * (extrapolate_to / sampled);
  return result / (static_cast<double>(range_ns) / 1e9);
}

double Quantile(double q, std::vector<double> v) {
  if (v.empty()) return std::nan("");
  if (q < 0) return -HUGE_VAL;
  if (q > 1) return HUGE_VAL;
  std::sort(v.begin(), v.end());
  double n = static_cast<double>(v.size());
  double rank = q * (n - 1);
  double lower = std::max(0.0, std::floor(rank));
  double upper = std::min(n - 1, lower + 1);
  double weight = rank - std::floor(rank);
  return v[static_cast<size_t>(lower)] * (1 - weight) + v[static_cast<size_t>(upper)] * weight;
}

// The value of a non-additive op over samples [lo, hi) (sorted by time).
double Aggregate(const Expr& e, const std::vector<std::pair<int64_t, double>>& s, size_t lo, size_t hi,
                 int64_t range_end) {
  switch (e.range_op) {
    case RangeOp::kAvg: {
      double mean = 0, count = 0;
      for (size_t i = lo; i < hi; i++) {
        double x = s[i].second;
        count++;
        if (std::isinf(mean)) {
          if (std::isinf(x) && (mean > 0) == (x > 0)) continue;
          if (!std::isinf(x) && !std::isnan(x)) continue;
        }
        mean += x / count - mean / count;
      }
      return mean;
    }
    case RangeOp::kMin:
    case RangeOp::kMax: {
      double m = s[lo].second;
      for (size_t i = lo; i < hi; i++) {
        double x = s[i].second;
        if (e.range_op == RangeOp::kMax ? (x > m || std::isnan(m)) : (x < m || std::isnan(m))) m = x;
      }
      return m;
    }
    case RangeOp::kStdvar:
    case RangeOp::kStddev: {
      double aux = 0, count = 0, mean = 0;
      for (size_t i = lo; i < hi; i++) {
        double x = s[i].second;
        count++;
        double delta = x - mean;
        mean += delta / count;
        aux += delta * (x - mean);
      }
      return e.range_op == RangeOp::kStddev ? std::sqrt(aux / count) : aux / count;
    }
    case RangeOp::kQuantile: {
      std::vector<double> v;
      for (size_t i = lo; i < hi; i++) v.push_back(s[i].second);
      return Quantile(e.param.value_or(0), std::move(v));
    }
    case RangeOp::kFirst: return s[lo].second;
    case RangeOp::kLast: return s[hi - 1].second;
    case RangeOp::kRateCounter: return ExtrapolatedRate(s, lo, hi, e.range_ns, range_end);
    case RangeOp::kRate: {
      double sum = 0;
      for (size_t i = lo; i < hi; i++) sum += s[i].second;
      return sum / (static_cast<double>(e.range_ns) / 1e9);
    }
    default: return 0;
  }
}

// ParserHints as Loki's NewParserHint builds them.
ParserHints MakeHints(const Expr& e, const SampleGrouping& g) {
  std::vector<std::string> names;
  if (e.selector.pipeline) e.selector.pipeline->RequiredLabels(&names);
  if (e.unwrap) {
    for (const auto& f : e.unwrap->post_filters) f->RequiredLabels(&names);
  }
  names.insert(names.end(), g.groups.begin(), g.groups.end());
  if (e.unwrap) names.push_back(e.unwrap->label);
  std::vector<std::string> hints;
  for (const auto& n : names) {
    if (n.empty()) continue;
    auto add = [&](const std::string& x) {
      if (std::find(hints.begin(), hints.end(), x) == hints.end()) hints.push_back(x);
    };
    add(n);
    if (std::string_view(n).ends_with(kExtractedSuffix)) add(n.substr(0, n.size() - kExtractedSuffix.size()));
  }
  ParserHints h;
  bool has_error = std::find(hints.begin(), hints.end(), std::string(kErrorLabel)) != hints.end();
  if (g.no_labels) {
    if (hints.empty()) {
      h.no_labels = true;
    } else {
      h.required = hints;
      h.preserve_error = has_error;
    }
    return h;
  }
  if (g.without || g.groups.empty()) return h;
  h.required = hints;
  h.preserve_error = has_error;
  return h;
}

}  // namespace

// How one range aggregation scans and labels its samples.
RangeSpec MakeSpec(const Expr& e, const SampleGrouping& grouping, const Steps& steps) {
  RangeSpec spec;
  spec.e = &e;
  spec.steps = steps;
  spec.grouping = grouping;
  if (e.unwrap && (spec.grouping.groups.empty() || spec.grouping.without)) {
    spec.grouping.without = true;
    spec.grouping.groups.push_back(e.unwrap->label);
  }
  if (e.range_op == RangeOp::kAbsent) spec.grouping.no_labels = true;
  spec.hints = MakeHints(e, spec.grouping);
  spec.unwrap = e.unwrap.has_value();
  spec.bytes = e.range_op == RangeOp::kBytes || e.range_op == RangeOp::kBytesRate;
  spec.additive = Additive(e.range_op) && !(spec.unwrap && e.range_op == RangeOp::kRate);
  spec.q.matchers = e.selector.matchers;
  spec.q.line_filters = e.selector.line_filters;
  spec.q.entry_filters = e.selector.entry_filters;
  spec.q.pipeline = e.selector.pipeline;
  spec.q.start = steps.At(0) - e.offset_ns - e.range_ns + 1;
  spec.q.end = steps.At(steps.n - 1) - e.offset_ns;
  spec.q.limit = kMaxHeadRows;
  spec.header_ok = !spec.unwrap && !spec.q.HasPipeline() && spec.q.line_filters.empty() &&
                   spec.q.entry_filters.empty() && e.range_op != RangeOp::kAbsent;

  return spec;
}

// The per-step values of every merged series; a series that keeps
// __error__ (unless the grouping asked for it) is Loki's pipeline error.
Result<Matrix> Finish(const Expr& e, const RangeSpec& spec, const Steps& steps,
                      std::unordered_map<std::string, SeriesAcc>* merged) {
  Matrix out;
  const double range_s = static_cast<double>(e.range_ns) / 1e9;
  for (auto& [key, acc] : *merged) {
    Series s;
    s.metric = std::move(acc.metric);
    s.v.assign(steps.n, 0);
    s.has.assign(steps.n, 0);
    bool any = false;
    if (spec.additive) {
      for (size_t i = 0; i < steps.n; i++) {
        if (!acc.has[i]) continue;
        double v = acc.sum[i];
        if (e.range_op == RangeOp::kRate || e.range_op == RangeOp::kBytesRate) v /= range_s;
        if (e.range_op == RangeOp::kAbsent) v = 1;
        s.v[i] = v;
        s.has[i] = 1;
        any = true;
      }
    } else {
      auto& smp = acc.samples;
      std::stable_sort(smp.begin(), smp.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      size_t lo = 0, hi = 0;
      for (size_t i = 0; i < steps.n; i++) {
        int64_t end = steps.At(i) - e.offset_ns;
        int64_t start = end - e.range_ns;
        while (hi < smp.size() && smp[hi].first <= end) hi++;
        while (lo < hi && smp[lo].first <= start) lo++;
        if (lo >= hi) continue;
        s.v[i] = Aggregate(e, smp, lo, hi, end);
        s.has[i] = 1;
        any = true;
      }
    }
    if (!any) continue;
    // Loki: errors are not allowed in metrics unless asked for.
    bool err = false, preserved = false;
    std::string err_value;
    for (const auto& [k, v] : s.metric) {
      if (k == kErrorLabel) {
        err = true;
        err_value = v;
      }
      if (k == kPreserveErrorLabel && v == "true") preserved = true;
    }
    if (err && !preserved) {
      std::string ls = "{";
      for (size_t i = 0; i < s.metric.size(); i++) {
        ls += (i ? ", " : "") + s.metric[i].first + "=\"" + s.metric[i].second + "\"";
      }
      ls += "}";
      return Status::InvalidArgument("pipeline error: '" + err_value + "' for series: '" + ls +
                                     "'.\nUse a label filter to intentionally skip this error. (e.g | __error__!=\"" +
                                     err_value +
                                     "\").\nTo skip all potential errors you can match empty errors.(e.g __error__=\"\")\n"
                                     "The label filter can also be specified after unwrap. (e.g | unwrap latency | "
                                     "__error__=\"\" )\n");
    }
    out.push_back(std::move(s));
  }
  return out;
}

// absent_over_time: one series with the selector's equality labels at the
// steps where no sample was.
Matrix Absent(const Expr& e, const Steps& steps, Matrix out) {
  Series a;
  for (const auto& m : e.selector.matchers) {
    bool eq = m.type() == MatchType::kEq;
    auto it = std::find_if(a.metric.begin(), a.metric.end(), [&](const auto& kv) { return kv.first == m.name(); });
    if (eq && it == a.metric.end()) a.metric.emplace_back(m.name(), m.value());
  }
  for (const auto& m : e.selector.matchers) {
    if (m.type() != MatchType::kEq) {
      std::erase_if(a.metric, [&](const auto& kv) { return kv.first == m.name(); });
    }
  }
  std::sort(a.metric.begin(), a.metric.end());
  a.v.assign(steps.n, 1);
  a.has.assign(steps.n, 1);
  for (const auto& s : out) {
    for (size_t i = 0; i < steps.n; i++) {
      if (s.has[i]) a.has[i] = 0;
    }
  }
  out.clear();
  if (std::find(a.has.begin(), a.has.end(), 1) != a.has.end()) out.push_back(std::move(a));
  return out;
}

Result<Matrix> EvalRangeAgg(DataSource* source, int concurrency, const Expr& e, const SampleGrouping& grouping,
                            const Steps& steps, MetricResult* stats) {
  RangeSpec spec = MakeSpec(e, grouping, steps);
  spec.q = source->Clip(spec.q);  // past retention: never counted

  // The head, then the files.
  RangeConsumer head(spec);
  TopK all(kMaxHeadRows);
  std::vector<FileRef> files;
  source->Snapshot(spec.q, &all, &files);
  LOGE_RETURN_IF_ERROR(FeedHead(all.TakeSortedNewestFirst(), &head));
  QueryStats qs;
  FilePlan plan = PlanFiles(files, spec.q, false, &qs);
  ScanOptions so;
  so.concurrency = concurrency;
  so.newest_alone_first = false;
  so.source = source;
  LOGE_ASSIGN_OR_RETURN(ScanResult scanned, Scan(plan, spec.q, so, [&] { return std::make_unique<RangeConsumer>(spec); }));
  stats->files_opened += scanned.stats.files_opened;
  stats->blocks_scanned += scanned.stats.blocks_scanned;
  for (auto& w : scanned.warnings) stats->warnings.push_back(std::move(w));
  stats->partial = !stats->warnings.empty();

  // Merge the workers' series.
  auto& merged = head.series();
  stats->rows_processed += head.rows();
  for (auto& c : scanned.consumers) {
    auto& rc = static_cast<RangeConsumer&>(*c);
    stats->blocks_from_headers += rc.blocks_from_headers();
    stats->rows_processed += rc.rows();
    for (auto& [key, acc] : rc.series()) {
      auto it = merged.find(key);
      if (it == merged.end()) {
        merged.emplace(key, std::move(acc));
        continue;
      }
      SeriesAcc& m = it->second;
      for (size_t i = 0; i < m.sum.size(); i++) {
        m.sum[i] += acc.sum[i];
        m.has[i] |= acc.has[i];
      }
      m.samples.insert(m.samples.end(), acc.samples.begin(), acc.samples.end());
    }
  }

  LOGE_ASSIGN_OR_RETURN(Matrix out, Finish(e, spec, steps, &merged));
  if (e.range_op == RangeOp::kAbsent) return Absent(e, steps, std::move(out));
  return out;
}

}  // namespace loge::query
