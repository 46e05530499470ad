#include "query/tombstone.h"

#include "query/logql.h"

namespace loge::query {

Result<Tombstone> Tombstone::Make(std::string id, std::string_view query, int64_t start, int64_t end) {
  if (query.empty()) return Status::InvalidArgument("query: a delete request needs a stream selector");
  if (start > end) return Status::InvalidArgument("start: the start must not be after the end");
  auto sel = ParseSelector(query);
  if (!sel.ok()) return sel.status().WithContext("query");
  if (sel->matchers.empty()) {
    return Status::InvalidArgument("query: a delete request needs a stream selector with a label matcher, e.g. {app=\"web\"}");
  }
  if (!sel->entry_filters.empty() || (sel->pipeline && !sel->pipeline->empty())) {
    return Status::InvalidArgument(
        "query: a delete request takes a stream selector and line filters (|=, !=, |~, !~) only; no parsers, "
        "label filters or formatters");
  }
  Tombstone t;
  t.id_ = std::move(id);
  t.query_ = std::string(query);
  t.start_ = start;
  t.end_ = end;
  t.matchers_ = std::move(sel->matchers);
  t.line_filters_ = std::move(sel->line_filters);
  return t;
}

bool Tombstone::MatchesStream(const Labels& labels) const {
  for (const auto& m : matchers_) {
    if (!m.Matches(labels)) return false;
  }
  return true;
}

bool Tombstone::DeletesRow(int64_t ts, std::string_view line) const {
  if (ts < start_ || ts > end_) return false;
  for (const auto& f : line_filters_) {
    if (!f.Matches(line)) return false;
  }
  return true;
}

StreamTombstones::StreamTombstones(const Tombstones& all, const Labels& labels) {
  if (!all) return;
  for (const auto& t : *all) {
    if (t.MatchesStream(labels)) v_.push_back(&t);
  }
  if (!v_.empty()) all_ = all;
}

bool StreamTombstones::Overlaps(int64_t min_ts, int64_t max_ts) const {
  for (const Tombstone* t : v_) {
    if (t->start() <= max_ts && t->end() >= min_ts) return true;
  }
  return false;
}

bool StreamTombstones::Deletes(int64_t ts, std::string_view line) const {
  for (const Tombstone* t : v_) {
    if (t->DeletesRow(ts, line)) return true;
  }
  return false;
}

std::vector<std::pair<int64_t, int64_t>> StreamTombstones::Windows() const {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (const Tombstone* t : v_) out.emplace_back(t->start(), t->end());
  return out;
}

}  // namespace loge::query
