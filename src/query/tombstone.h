// Tombstones: the delete requests (Loki's POST /loki/api/v1/delete) that
// queries apply until the rows are physically gone (store/deletes.h,
// docs/retention.md "Deleting lines"). A tombstone hides every row of a
// stream its selector matches whose timestamp is in [start, end] and whose
// line passes its line filters.
//
// This is the one row predicate of deletion: the scanner (scanner.cc, per
// stream of each file), the head (ingest/head.cc), the live tail
// (server/tail.cc) and the merge that removes the rows (store/deletes.cc)
// all ask it, so what a query hides and what a rewrite drops cannot drift.
//
// Thread-safety: immutable once built; shared as a const snapshot.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/types.h"
#include "query/matcher.h"

namespace loge::query {

class Tombstone {
 public:
  // Parses a delete request's query: a stream selector with at least one
  // label matcher and optional line filters (|=, !=, |~, !~), nothing else.
  // InvalidArgument names what is wrong. start <= end, inclusive, unix ns.
  static Result<Tombstone> Make(std::string id, std::string_view query, int64_t start, int64_t end);

  const std::string& id() const { return id_; }
  const std::string& query() const { return query_; }  // as given
  int64_t start() const { return start_; }
  int64_t end() const { return end_; }
  const std::vector<LabelMatcher>& matchers() const { return matchers_; }
  const std::vector<LineFilter>& line_filters() const { return line_filters_; }
  bool MatchesStream(const Labels& labels) const;
  // For a row of a stream MatchesStream accepted.
  bool DeletesRow(int64_t ts, std::string_view line) const;

 private:
  std::string id_;
  std::string query_;
  int64_t start_ = 0;
  int64_t end_ = 0;
  std::vector<LabelMatcher> matchers_;
  std::vector<LineFilter> line_filters_;
};

using Tombstones = std::shared_ptr<const std::vector<Tombstone>>;

// The tombstones that apply to one stream. Cheap to copy; holds the
// snapshot alive.
class StreamTombstones {
 public:
  StreamTombstones() = default;
  StreamTombstones(const Tombstones& all, const Labels& labels);
  bool empty() const { return v_.empty(); }
  // True when a row in [min_ts, max_ts] may be deleted: a block that
  // overlaps must be decoded row by row (never counted from its header).
  bool Overlaps(int64_t min_ts, int64_t max_ts) const;
  bool Deletes(int64_t ts, std::string_view line) const;
  // The tombstones' windows, for a merge's block pre-check.
  std::vector<std::pair<int64_t, int64_t>> Windows() const;

 private:
  Tombstones all_;                  // keeps v_ valid
  std::vector<const Tombstone*> v_;  // those whose selector matches the stream
};

}  // namespace loge::query
