#include "query/file_scan.h"

#include <algorithm>
#include <cstring>

#include "core/find.h"
#include "storage/fuse_filter.h"
#include "storage/zstd_vfs.h"

namespace loge::query {

namespace {

// False when the filters prove no line contains the needle.
bool MayHold(std::string_view token_filter, std::string_view trigram_filter, const storage::NeedleKeys& n) {
  if (!token_filter.empty()) {
    for (uint64_t k : n.tokens) {
      if (!storage::FuseFilter::MayContainSerialized(token_filter, k)) return false;
    }
  }
  if (!trigram_filter.empty()) {
    for (uint64_t k : n.trigrams) {
      if (!storage::FuseFilter::MayContainSerialized(trigram_filter, k)) return false;
    }
  }
  return true;
}

}  // namespace

NeedleSet NeedlesOf(const Query& q) {
  NeedleSet needles;
  for (const auto& lf : q.line_filters) {
    if (lf.type() != LineFilterType::kContains) continue;
    auto& alts = needles.v1.emplace_back();
    auto& alts2 = needles.v2.emplace_back();
    for (const auto& n : lf.needles()) {
      alts.push_back(storage::KeysForNeedle(n));
      alts2.push_back(storage::KeysForNeedle2(n));
    }
  }
  return needles;
}

bool MayHoldAll(std::string_view token_filter, std::string_view trigram_filter, const NeedleSet& needles) {
  for (const auto& alternatives : needles.v1) {
    bool any_possible = false;
    for (const auto& n : alternatives) {
      if (MayHold(token_filter, trigram_filter, n)) {
        any_possible = true;
        break;
      }
    }
    if (!any_possible) return false;
  }
  return true;
}

PruneReason Prune(const storage::CatalogEntry& e, const Query& q, const NeedleSet& needles) {
  if (e.max_ts < q.start || e.min_ts > q.end) return PruneReason::kTime;
  for (const auto& m : q.matchers) {
    if (e.label_keys_known && m.RequiresLabel() &&
        !std::binary_search(e.label_keys.begin(), e.label_keys.end(), m.name())) {
      return PruneReason::kLabels;
    }
  }
  if (needles.empty()) return PruneReason::kKeep;
  if (e.format >= 2) {
    if (e.filters) {
      // The summary first: one probe per key for the whole file. A lazy
      // file's groups are not in memory; the scan reads them if it opens it.
      const storage::UsableKeys keys = storage::UsableKeysFor(*e.filters, needles.v2);
      if (keys.prunes && !storage::SummaryMayHold(*e.filters, keys)) return PruneReason::kFilter;
      if (keys.prunes && !e.filters->lazy && storage::CandidateGroups(*e.filters, keys, q.start, q.end).empty()) {
        return PruneReason::kFilter;
      }
    }
    return PruneReason::kKeep;
  }
  if (!MayHoldAll(e.token_filter, e.trigram_filter, needles)) return PruneReason::kFilter;
  return PruneReason::kKeep;
}

bool BlockMayMatch(const Query& q, std::string_view lines) {
  for (const auto& f : q.line_filters) {
    if (f.type() != LineFilterType::kContains) continue;
    bool any = false;
    for (const auto& n : f.needles()) {
      if (ContainsSubstring(lines, n)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

Result<Labels> ParseLabelsJson(simdjson::dom::parser& parser, std::string_view json) {
  simdjson::padded_string padded(json);
  simdjson::dom::object obj;
  if (parser.parse(padded).get_object().get(obj) != simdjson::SUCCESS) {
    return Status::Corruption("stream labels are not a JSON object");
  }
  Labels labels;
  for (auto field : obj) {
    std::string_view v;
    if (field.value.get_string().get(v) != simdjson::SUCCESS) {
      return Status::Corruption("stream label value is not a string");
    }
    labels.emplace_back(std::string(field.key), std::string(v));
  }
  return labels;
}

std::string ShownName(const storage::FileHandle& f) {
  return IsRemote(f) ? storage::RemoteCacheKey(f.entry.path) : f.local_path;
}

bool SkippableRemoteFailure(const storage::FileHandle& f, const Status& s) {
  return IsRemote(f) &&
         (s.code() == Code::kUnavailable || s.code() == Code::kIOError || s.code() == Code::kNotFound);
}

bool DamagedLocalFile(const storage::FileHandle& f, const Status& s) {
  return !IsRemote(f) && s.code() == Code::kCorruption;
}

}  // namespace loge::query
