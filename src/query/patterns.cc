// PatternMiner (patterns.h): Drain-style clustering of log lines.
#include "query/patterns.h"

#include <algorithm>

namespace loge::query {

namespace {

constexpr std::string_view kWildcard = "<_>";

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Characters that are tokens of their own: they separate a key from its
// value (`user=bob`, `"user":"bob"`) and delimit quoted or bracketed parts,
// so a value varies alone while its key stays literal.
bool IsPunct(char c) {
  switch (c) {
    case '=': case ':': case ',': case ';': case '"': case '\'':
    case '(': case ')': case '[': case ']': case '{': case '}':
      return true;
    default:
      return false;
  }
}

bool HasDigit(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The tree key of a leading token: ids, counters and `<_>` share one branch.
std::string_view RouteKey(std::string_view text) {
  return text == kWildcard || HasDigit(text) ? kWildcard : text;
}

}  // namespace

PatternMiner::PatternMiner(int64_t step) : step_(step > 0 ? step : 1) {}
PatternMiner::~PatternMiner() = default;
PatternMiner::PatternMiner(PatternMiner&&) noexcept = default;
PatternMiner& PatternMiner::operator=(PatternMiner&&) noexcept = default;

void PatternMiner::Tokenize(std::string_view line, std::vector<TokenView>* out) {
  out->clear();
  size_t i = 0;
  while (i < line.size()) {
    size_t sep_start = i;
    while (i < line.size() && IsSpace(line[i])) i++;
    if (i == line.size()) {
      // Trailing whitespace: kept on a last, empty token so the template
      // still spells the whole line.
      if (i > sep_start) out->push_back(TokenView{line.substr(sep_start, i - sep_start), {}});
      break;
    }
    std::string_view sep = line.substr(sep_start, i - sep_start);
    if (out->size() + 1 == kMaxTokens) {
      out->push_back(TokenView{sep, line.substr(i)});  // the rest of the line
      break;
    }
    size_t start = i;
    if (IsPunct(line[i])) {
      i++;
    } else {
      while (i < line.size() && !IsSpace(line[i]) && !IsPunct(line[i])) i++;
    }
    out->push_back(TokenView{sep, line.substr(start, i - start)});
  }
}

PatternMiner::Node* PatternMiner::Leaf(std::string_view level, const std::vector<TokenView>& tokens) {
  // The child of n for key; null when n is full (only for leading tokens:
  // token counts are at most kMaxTokens, so that level is never limited).
  auto child = [](Node* n, std::string_view key, bool limited) -> Node* {
    auto it = n->children.find(std::string(key));
    if (it != n->children.end()) return it->second.get();
    if (limited && n->children.size() >= kMaxChildren && key != kWildcard) return nullptr;
    return n->children.emplace(std::string(key), std::make_unique<Node>()).first->second.get();
  };
  auto& root = roots_[std::string(level)];
  if (!root) root = std::make_unique<Node>();
  Node* n = child(root.get(), std::to_string(tokens.size()), false);
  for (size_t i = 0; i < std::min(kDepth, tokens.size()); i++) {
    Node* next = child(n, RouteKey(tokens[i].text), true);
    n = next != nullptr ? next : child(n, kWildcard, true);
  }
  return n;
}

double PatternMiner::Similarity(const std::vector<Token>& tmpl, const std::vector<TokenView>& tokens) {
  if (tmpl.size() != tokens.size()) return -1;
  if (tokens.empty()) return 1;
  size_t equal = 0;
  for (size_t i = 0; i < tokens.size(); i++) {
    if (tmpl[i].text == tokens[i].text && tmpl[i].sep == tokens[i].sep) equal++;
  }
  return static_cast<double>(equal) / static_cast<double>(tokens.size());
}

size_t PatternMiner::Insert(std::string_view level, const std::vector<TokenView>& tokens) {
  Node* leaf = Leaf(level, tokens);
  size_t best = 0;
  double best_sim = -1;
  for (size_t idx : leaf->clusters) {
    double sim = Similarity(clusters_[idx].second.tokens, tokens);
    if (sim > best_sim) {
      best_sim = sim;
      best = idx;
    }
  }
  bool full = leaf->clusters.size() >= kMaxLeafClusters;
  if (best_sim >= 0 && (best_sim >= kSimilarity || full)) {
    // Positions that differ become variable. A differing separator makes
    // the wildcard take the whitespace before it too.
    for (size_t i = 0; i < tokens.size(); i++) {
      Token& t = clusters_[best].second.tokens[i];
      if (t.sep != tokens[i].sep) {
        t.sep.clear();
        t.text = kWildcard;
      } else if (t.text != tokens[i].text) {
        t.text = kWildcard;
      }
    }
    return best;
  }
  Cluster c;
  c.tokens.reserve(tokens.size());
  for (const auto& t : tokens) c.tokens.push_back(Token{std::string(t.sep), std::string(t.text)});
  clusters_.emplace_back(std::string(level), std::move(c));
  leaf->clusters.push_back(clusters_.size() - 1);
  return clusters_.size() - 1;
}

bool PatternMiner::Add(std::string_view line, std::string_view level, int64_t ts) {
  if (line.size() > kMaxLineBytes) return false;
  Tokenize(line, &scratch_);
  size_t idx = Insert(level, scratch_);
  // Floor division, so steps stay aligned before 1970 too.
  int64_t bucket = ts / step_ * step_;
  if (ts < 0 && bucket != ts) bucket -= step_;
  clusters_[idx].second.counts[bucket]++;
  return true;
}

void PatternMiner::Merge(PatternMiner&& other) {
  std::vector<TokenView> views;
  for (auto& [level, c] : other.clusters_) {
    views.clear();
    for (const auto& t : c.tokens) views.push_back(TokenView{t.sep, t.text});
    size_t idx = Insert(level, views);
    for (const auto& [bucket, n] : c.counts) clusters_[idx].second.counts[bucket] += n;
  }
  other.clusters_.clear();
  other.roots_.clear();
}

std::string PatternMiner::Render(const std::vector<Token>& tokens) {
  std::string out;
  bool last_wild = false;
  for (const auto& t : tokens) {
    bool wild = t.text == kWildcard;
    // `<_><_>` says nothing more than `<_>` (and Loki's pattern syntax
    // rejects two captures in a row).
    if (wild && last_wild && t.sep.empty()) continue;
    out += t.sep;
    out += t.text;
    last_wild = wild;
  }
  return out;
}

std::vector<PatternSeries> PatternMiner::Take() {
  // Templates that ended up equal (a merge can make two clusters of one
  // leaf the same) are one pattern.
  std::map<std::pair<std::string, std::string>, std::map<int64_t, uint64_t>> merged;
  for (auto& [level, c] : clusters_) {
    auto& counts = merged[{Render(c.tokens), level}];
    for (const auto& [bucket, n] : c.counts) counts[bucket] += n;
  }
  clusters_.clear();
  roots_.clear();
  std::vector<PatternSeries> out;
  out.reserve(merged.size());
  for (auto& [key, counts] : merged) {
    PatternSeries s;
    s.pattern = key.first;
    s.level = key.second;
    for (const auto& [bucket, n] : counts) {
      s.samples.emplace_back(bucket, n);
      s.total += n;
    }
    out.push_back(std::move(s));
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.total > b.total; });
  return out;
}

}  // namespace loge::query
