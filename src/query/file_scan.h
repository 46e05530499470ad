// What every reader of stored files shares — the engine (Engine::Run) and the
// explore endpoints (label values, volume), which walk files themselves
// because they need every matching row, not the top k: catalog pruning,
// the per-block substring pre-check, stream label parsing, and how a remote
// file is opened, named and skipped.
//
// Thread-safety: pure functions.
#pragma once

#include <simdjson.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/types.h"
#include "query/engine.h"
#include "storage/file_set.h"
#include "storage/filters.h"
#include "storage/terms.h"

namespace loge::query {

// Per |= filter of a query, the filter keys of each of its alternatives, in
// both formats' key schemes (format 1: token and hashed-trigram keys;
// format 2: dense trigram and id keys, storage/keys.h).
struct Needles {
  std::vector<std::vector<storage::NeedleKeys>> v1;
  storage::NeedleSet2 v2;
  bool empty() const { return v1.empty(); }
};
using NeedleSet = Needles;
NeedleSet NeedlesOf(const Query& q);

// Format 1: false when, for some |= filter, the serialized whole-file filters
// (empty = none) rule out every alternative.
bool MayHoldAll(std::string_view token_filter, std::string_view trigram_filter, const NeedleSet& needles);

enum class PruneReason { kKeep, kTime, kLabels, kFilter };
// Decides from the catalog row alone whether a file can hold an answer: its
// time bounds, its label keys (unless unknown, as for segments adopted from a
// bucket listing), its filters (format 1: whole-file token and trigram
// filters; format 2: its group filters, of which one must admit the needles).
PruneReason Prune(const storage::CatalogEntry& e, const Query& q, const NeedleSet& needles);

// A block can hold a match only if, for every |= filter, one of its
// alternatives occurs somewhere in the block's text (one memmem per needle
// over the joined lines, before any line is decoded).
bool BlockMayMatch(const Query& q, std::string_view lines);

// A stream's labels as stored (a JSON object of strings).
Result<Labels> ParseLabelsJson(simdjson::dom::parser& parser, std::string_view json);

// A remote file has no local copy: it is read from its URL (entry.path).
inline bool IsRemote(const storage::FileHandle& f) { return f.local_path.empty(); }
inline const std::string& OpenPath(const storage::FileHandle& f) {
  return IsRemote(f) ? f.entry.path : f.local_path;
}
// How messages name a file: never with a presigned URL's signature.
std::string ShownName(const storage::FileHandle& f);
// Failures of a remote file that leave the rest of an answer valid (the
// store is down, refuses, or lost the object): skip it, say so.
bool SkippableRemoteFailure(const storage::FileHandle& f, const Status& s);
// A local file whose bytes do not read back (a frame's checksum, a damaged
// SQLite page): skip it, say so, and have it quarantined.
bool DamagedLocalFile(const storage::FileHandle& f, const Status& s);

}  // namespace loge::query
