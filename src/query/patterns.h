// Log patterns: lines clustered into templates after the idea of Drain (He
// et al., "Drain: An Online Log Parsing Approach with Fixed Depth Tree",
// ICWS 2017), counted per level and per step, for Loki's
// /loki/api/v1/patterns (Logs Drilldown's Patterns tab).
//
//   tokens   a line is cut into words (runs of anything but whitespace and
//            the punctuation below) and single punctuation characters, each
//            remembering the whitespace before it, so a template written
//            back joins its pieces exactly as the lines had them and can be
//            used as a `|> "…"` pattern filter;
//   tree     per level, then per token count, then one node per leading
//            token (kDepth of them); a token holding a digit, or a node
//            that already has kMaxChildren children, goes down the `<_>`
//            branch, so ids and counters do not split the tree;
//   leaf     the templates of that path: a line joins the most similar one
//            (the share of positions whose tokens are equal) when that
//            share reaches kSimilarity, and the positions that differ turn
//            into `<_>`; else it starts a template of its own (while the
//            leaf holds fewer than kMaxLeafClusters; then it joins the most
//            similar anyway, so every line is counted).
//
// Workers each run a PatternMiner over their share of the rows and the
// caller merges them (Merge feeds each template, with its counts, into the
// other miner the way a line goes in).
//
// Thread-safety: a PatternMiner is used by one thread at a time.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace loge::query {

// One template's counts for one level: (step start in ns, lines), step
// starts ascending, counts above zero.
struct PatternSeries {
  std::string pattern;  // the template, variable parts written `<_>`
  std::string level;    // the lines' detected_level
  std::vector<std::pair<int64_t, uint64_t>> samples;
  uint64_t total = 0;  // sum of the samples' counts
};

class PatternMiner {
 public:
  // Leading tokens that route a line down the tree below its token count.
  // One: the first word names the event in most formats (a logger, a
  // verb, `level`, `{`), while the second is already often a variable word
  // without digits (a path, a user) that would split one template across
  // leaves; the similarity scan of a leaf (at most kMaxLeafClusters) does
  // the rest.
  static constexpr size_t kDepth = 1;
  // Children of a tree node before further distinct tokens share `<_>`.
  static constexpr size_t kMaxChildren = 16;
  // Share of equal tokens at which a line joins a template (Drain's
  // similarity threshold; Drain's papers use 0.4-0.5).
  static constexpr double kSimilarity = 0.5;
  // Templates per leaf; beyond, a line joins the most similar one.
  static constexpr size_t kMaxLeafClusters = 100;
  // Tokens kept per line; the rest of a longer line is one last token.
  static constexpr size_t kMaxTokens = 128;
  // Lines longer than this are not clustered (Loki skips them too): a
  // template over kilobytes of text is no pattern a person reads.
  static constexpr size_t kMaxLineBytes = 3000;

  // `step` (ns, > 0): samples are counted per [k*step, (k+1)*step).
  explicit PatternMiner(int64_t step);
  ~PatternMiner();
  PatternMiner(PatternMiner&&) noexcept;
  PatternMiner& operator=(PatternMiner&&) noexcept;

  // Adds one line at time ts of level `level`. False when the line was
  // skipped (longer than kMaxLineBytes).
  bool Add(std::string_view line, std::string_view level, int64_t ts);
  // Moves every template of `other` (same step) into this miner.
  void Merge(PatternMiner&& other);
  // The templates, most lines first (ties by pattern); the miner is empty after.
  std::vector<PatternSeries> Take();

 private:
  struct Token {
    std::string sep;   // whitespace before the token
    std::string text;  // the token, or `<_>`
  };
  // A token of the line being added, viewing the line (or another miner's
  // template while it is merged).
  struct TokenView {
    std::string_view sep, text;
  };
  struct Cluster {
    std::vector<Token> tokens;
    std::map<int64_t, uint64_t> counts;  // step start -> lines
  };
  struct Node {
    std::unordered_map<std::string, std::unique_ptr<Node>> children;
    std::vector<size_t> clusters;  // indexes into clusters_ (at leaves)
  };

  // Cuts `line` into *out (views of it).
  static void Tokenize(std::string_view line, std::vector<TokenView>* out);
  Node* Leaf(std::string_view level, const std::vector<TokenView>& tokens);
  // The cluster that now holds `tokens` (joined or new); its index.
  size_t Insert(std::string_view level, const std::vector<TokenView>& tokens);
  static double Similarity(const std::vector<Token>& tmpl, const std::vector<TokenView>& tokens);
  static std::string Render(const std::vector<Token>& tokens);

  int64_t step_;
  std::unordered_map<std::string, std::unique_ptr<Node>> roots_;  // level -> tree
  std::vector<std::pair<std::string, Cluster>> clusters_;         // (level, cluster)
  std::vector<TokenView> scratch_;                                // Add's tokens, reused
};

}  // namespace loge::query
