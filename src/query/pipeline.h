// Log pipelines: what runs on each entry after the stream selector — line
// filters, parsers (json, logfmt, regexp, pattern, unpack), label filters,
// line_format, label_format, drop, keep, decolorize — with Loki's semantics
// for the labels an entry carries while it runs (LabelsBuilder) and the
// error labels failing stages set (__error__, __error_details__).
//
// Thread-safety: a Pipeline and its stages are immutable once built and
// shared by every worker; the per-entry state (LabelsBuilder, the line) is
// the caller's.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/types.h"

namespace loge::query {

inline constexpr std::string_view kErrorLabel = "__error__";
inline constexpr std::string_view kErrorDetailsLabel = "__error_details__";
inline constexpr std::string_view kPreserveErrorLabel = "__preserve_error__";
// Loki's suffix for a parsed or metadata label that collides with a stream label.
inline constexpr std::string_view kExtractedSuffix = "_extracted";
// Values of __error__ (Loki's names).
inline constexpr std::string_view kErrJson = "JSONParserErr";
inline constexpr std::string_view kErrLogfmt = "LogfmtParserErr";
inline constexpr std::string_view kErrLabelFilter = "LabelFilterErr";
inline constexpr std::string_view kErrTemplate = "TemplateFormatErr";
inline constexpr std::string_view kErrSample = "SampleExtractionErr";

// Which labels a parser needs to extract (Loki's parser hints). A metric
// query that groups by a few labels only extracts those (and the ones its
// label filters and unwrap read), and stops parsing a line once it has them
// all; `sum(...)` without grouping extracts nothing but what filters read.
// Per entry state (what was extracted) lives in the LabelsBuilder.
struct ParserHints {
  bool no_labels = false;              // nothing is needed at all
  std::vector<std::string> required;   // empty: everything
  bool preserve_error = false;         // the grouping keeps __error__
  bool ShouldExtract(std::string_view key) const;
  bool ShouldExtractPrefix(std::string_view prefix) const;
};

enum class LabelCategory { kStream = 0, kMetadata = 1, kParsed = 2 };

// An entry's labels while a pipeline runs: the stream's labels (the base),
// the entry's structured metadata and the labels stages add. A name lives
// in one category at most; parsed beats metadata beats stream (Loki's
// LabelsBuilder precedence). Reused across entries: Reset keeps capacity.
class LabelsBuilder {
 public:
  void Reset(const Labels* stream, const ParserHints* hints);
  // Adds a flat JSON object of strings as metadata; a name that collides
  // with a stream label becomes <name>_extracted. Malformed text adds none.
  void AddMetadata(std::string_view json);

  bool BaseHas(std::string_view name) const;
  bool HasIn(LabelCategory c, std::string_view name) const;
  // The value of `name`: added labels first, then the stream's unless
  // deleted; a stream label with an empty value counts as absent.
  std::optional<std::string_view> Get(std::string_view name) const;
  void Set(LabelCategory c, std::string_view name, std::string_view value);
  void Del(std::string_view name);

  const std::string& err() const { return err_; }
  const std::string& err_details() const { return err_details_; }
  bool HasErr() const { return !err_.empty(); }
  void SetErr(std::string_view e) { err_.assign(e); }
  void SetErrDetails(std::string_view d) { err_details_.assign(d); }
  void ResetErr() { err_.clear(); }
  void ResetErrDetails() { err_details_.clear(); }
  // Sets __error__ (and its details) as a failing parser does.
  void AddError(std::string_view err, std::string_view details);

  const ParserHints& hints() const { return *hints_; }
  // Parser hints: a label this entry already extracted is not extracted again.
  bool Extracted(std::string_view key) const;
  bool AllRequiredExtracted() const;
  bool NoLabels() const { return hints_->no_labels || AllRequiredExtracted(); }

  // True when no stage changed the labels (no metadata, no parsed label, no
  // deletion, no error).
  bool Unchanged() const;
  // Every label, sorted: stream (minus deleted and overridden), metadata,
  // parsed, then __error__ and __error_details__ when set.
  Labels All() const;
  // The same split by category; error labels count as parsed.
  void Categorized(Labels* stream, Labels* metadata, Labels* parsed) const;
  // Labels for a metric sample: `by` keeps only `groups`, `without` drops
  // them; no_labels keeps none. An entry with an error keeps every label
  // (so the error reaches the evaluator).
  Labels Grouped(const std::vector<std::string>& groups, bool without, bool no_labels) const;

 private:
  const Labels* base_ = nullptr;
  const ParserHints* hints_ = nullptr;
  std::vector<std::pair<std::string, std::string>> add_[3];
  std::vector<std::string> del_;
  std::vector<std::string> extracted_;
  std::string err_;
  std::string err_details_;
};

// The line an entry carries through the stages: a view of the stored text
// until a stage rewrites it.
struct PipelineLine {
  std::string_view text;
  std::string own;  // backs `text` once a stage has rewritten it
  void Replace(std::string s) {
    own = std::move(s);
    text = own;
  }
};

class Stage {
 public:
  virtual ~Stage() = default;
  // Runs on one entry; false drops it.
  virtual bool Process(int64_t ts, PipelineLine* line, LabelsBuilder* lb) const = 0;
  // Labels this stage reads (for parser hints).
  virtual void RequiredLabels(std::vector<std::string>* /*out*/) const {}
  // True when the stage may change the line text (line filters after it
  // see the new text, so they cannot be checked against stored blocks).
  virtual bool ChangesLine() const { return false; }
  // True when the stage only ever drops entries by the line text.
  virtual bool IsLineFilter() const { return false; }
  // True when all the stage does is clear __error__ / __error_details__
  // (`| drop __error__`): a no-op where no earlier stage can set them.
  virtual bool OnlyClearsErrors() const { return false; }
};

using StagePtr = std::shared_ptr<const Stage>;

// The stages after a stream selector, in order.
struct Pipeline {
  std::vector<StagePtr> stages;
  bool empty() const { return stages.empty(); }
  // Runs every stage; false when one drops the entry. lb must be Reset and
  // given the entry's metadata first.
  bool Process(int64_t ts, PipelineLine* line, LabelsBuilder* lb) const {
    for (const auto& s : stages) {
      if (!s->Process(ts, line, lb)) return false;
    }
    return true;
  }
  void RequiredLabels(std::vector<std::string>* out) const {
    for (const auto& s : stages) s->RequiredLabels(out);
  }
};

// Parses a Go duration ("1.5s", "250ms", "1h2m"); Go's error text on failure.
Result<int64_t> ParseGoDuration(std::string_view s);
// Parses a byte size as go-humanize does ("26.4KiB", "0.01MB", "30000B", "1 kb").
Result<uint64_t> ParseHumanBytes(std::string_view s);
// Go's strconv.ParseFloat for a label value ("1.5", "1e3", "0x1p-2", "+Inf");
// Go's error text on failure.
Result<double> ParseGoFloat(std::string_view s);

}  // namespace loge::query
