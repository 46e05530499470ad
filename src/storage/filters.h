// FileFilters: the content filters of a format-2 file (docs/format-segment.md,
// "Filters"), and FilterBuilder, which makes them from blocks' text in one
// pass as a writer adds the blocks.
//
// A file's blocks are cut into groups of consecutive blocks holding about
// `group_lines` lines. Each group has one binary fuse filter over
//   - its rare trigram keys: trigrams in at most 1/8 of the file's groups
//     (the others, "common", go into one file-level filter instead: they
//     would prune little and cost as much as a rare one in every group);
//   - all its id keys (keys.h): nearly every one is unique to a few lines,
//     and the few repeated ones cost a key per group, so they are not
//     counted.
// A needle key is usable against a group when the common filter does not
// (may) hold it; a group whose filter lacks a usable key of every
// alternative of some `|=` filter cannot hold a match. A false positive of
// the common filter only leaves a key unused; of a group filter, only reads
// a group too many: both are sound.
//
// A file whose groups repeat keys also has a summary: one fuse filter over
// the distinct keys of all its groups (on the side-by-side corpus 0.45 per
// line where the groups hold 2.2), built when it has at most half as many
// keys as the groups (FilterBuilder::Finish). It rules a file out with one
// probe per key instead of one per group. Format 3 maps a local file's
// filters from the file (filter_frame.h); for a format-2 segment the
// summary is what stays in memory when the groups' filters do not
// (FileFilters::lazy, FilterCache).
//
// Thread-safety: FileFilters is immutable once built and may be read from
// many threads; a FilterBuilder belongs to one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "storage/keys.h"

namespace loge::io {
class MappedRegion;
}

namespace loge::storage {

struct GroupFilter {
  int64_t first_block = 0;  // blocks.id of the group's first block
  int64_t last_block = 0;   // and of its last: the group is every id between
  int64_t min_ts = 0;
  int64_t max_ts = 0;
  uint64_t n = 0;           // lines
  std::string_view filter;  // serialized FuseFilter (fuse_filter.h), in its FileFilters' bytes
};

struct FileFilters {
  // The file's common trigram keys, in one of three forms:
  //   ""                 the groups hold no trigram keys (flush files): no
  //                      trigram key is usable, only id keys;
  //   "LCB1" + bitmap    one bit per dense trigram index (kTrigramSpace bits),
  //                      set for the common ones: exact, used when smaller;
  //   a FuseFilter       (fuse_filter.h) of the common keys.
  std::string_view common;
  // A FuseFilter of every group's distinct keys; "" when the file has no
  // groups, when they hold few repeated keys, or it was written before
  // summaries (then only the groups answer).
  std::string_view summary;
  std::vector<GroupFilter> groups;  // in block order
  // True when the groups' `filter` fields were left empty to save memory:
  // their ranges and counts are here, their filters are in the file
  // (SegmentReader::ReadFilters, through a FilterCache).
  bool lazy = false;
  // What `common`, `summary` and the groups' filters point into: bytes on
  // the heap, or the file's filter frame mapped read-only (filter_frame.h),
  // which the kernel pages in and out like any file. `region` is that
  // mapping (null on the heap): UsableKeysFor marks it used, and the store
  // gives back the pages of the longest unused (store/resident_filters.h).
  std::shared_ptr<const void> storage;
  std::shared_ptr<const io::MappedRegion> region;
  bool mapped() const { return region != nullptr; }

  // True when the trigram key may be common (then it cannot rule a group out).
  bool CommonMayHold(uint64_t trigram_key) const;

  // Bytes of every filter (common, summary, groups).
  size_t Bytes() const;
  // Of those, the ones on the heap (0 when mapped).
  size_t HeapBytes() const { return mapped() ? 0 : Bytes(); }
  // The same filters without the groups' filter bytes (lazy = true): what a
  // local file keeps in memory.
  std::shared_ptr<const FileFilters> WithoutGroupFilters() const;
  // One blob holding all of the above (the catalog's copy for remote rows,
  // and a format-3 file's filter frame). Precondition: !lazy.
  std::string Serialize() const;
  // A copy of the blob's bytes, parsed and validated.
  static Result<FileFilters> Deserialize(std::string_view bytes);
  // Parses and validates `blob`, whose bytes `storage` keeps alive. With
  // `views_in` (the same bytes elsewhere, e.g. mapped from the file the
  // blob was read from), the filters point there instead: parsing reads
  // only `blob`, so no page of the mapping is touched until a query probes it.
  static Result<FileFilters> FromBlob(std::string_view blob, std::shared_ptr<const void> storage,
                                      const char* views_in = nullptr);
  // Filters from their parts, in one heap block (the writer's and the
  // format-2 reader's way in). group_filters[i] belongs to groups[i].
  static Result<FileFilters> Assemble(std::string_view common, std::string_view summary,
                                      std::vector<GroupFilter> groups, const std::vector<std::string>& group_filters);
};
using FileFiltersPtr = std::shared_ptr<const FileFilters>;

// The id keys of each block of a file as its writer extracted them (in
// memory only, never stored): a flush file keeps them until it is merged,
// so the merge joins them instead of extracting them from the text again.
struct BlockIdKeys {
  std::vector<int64_t> block_ids;  // ascending
  std::vector<size_t> offsets;     // block i's keys: keys[offsets[i], offsets[i + 1])
  std::vector<uint64_t> keys;      // per block, sorted and unique

  // Block `id`'s keys into *out (replacing it); false when not recorded.
  bool Of(int64_t id, std::vector<uint64_t>* out) const;
  size_t Bytes() const;
};
using BlockIdKeysPtr = std::shared_ptr<const BlockIdKeys>;

// The needles of a query in the shape the filters are asked: per `|=`
// filter, its alternatives (any may match), each with its keys.
using NeedleSet2 = std::vector<std::vector<NeedleKeys2>>;

// The needle keys a file's group filters can answer for: trigram keys its
// common filter does not hold, and every id key, per filter and
// alternative.
struct UsableKeys {
  std::vector<std::vector<std::vector<uint64_t>>> filters;
  // False when some alternative of every filter has no usable key: no group
  // can then be ruled out, and reading the groups would be wasted.
  bool prunes = false;
};
UsableKeys UsableKeysFor(const FileFilters& f, const NeedleSet2& needles);

// False when the group's filter rules out every alternative of some filter.
bool GroupMayHold(const GroupFilter& g, const UsableKeys& keys);

// False when the file's summary rules out every alternative of some filter
// (no group can then hold a match); true without a summary.
bool SummaryMayHold(const FileFilters& f, const UsableKeys& keys);

// Indices of the groups that may hold a match and overlap [start, end].
// Precondition: !f.lazy (a lazy file answers through SummaryMayHold alone).
std::vector<size_t> CandidateGroups(const FileFilters& f, const UsableKeys& keys, int64_t start, int64_t end);

class FilterBuilder {
 public:
  // group_lines: lines per group (a group closes at the first block that
  // brings it to at least this many). trigrams: whether the groups hold
  // trigram keys besides id keys (merged segments do; flush files, written
  // on the ingest path, only carry id keys: trigram extraction is most of a
  // filter's cost, and a flush file lives until the next merge).
  FilterBuilder(size_t group_lines, bool trigrams);
  ~FilterBuilder();
  FilterBuilder(const FilterBuilder&) = delete;
  FilterBuilder& operator=(const FilterBuilder&) = delete;

  // Adds one block (ids ascending across calls) and its joined line text.
  // known_ids: the block's id keys when the caller has them (a superset of
  // AddIdKeys(text)); otherwise they are extracted from the text.
  void AddBlock(int64_t block_id, int64_t min_ts, int64_t max_ts, uint32_t n, std::string_view text,
                const std::vector<uint64_t>* known_ids = nullptr);
  // Records every block's id keys from now on, for TakeBlockIdKeys.
  void RecordBlockIdKeys() { record_ = std::make_unique<BlockIdKeys>(); }
  // What RecordBlockIdKeys gathered (null when it was not called).
  std::unique_ptr<BlockIdKeys> TakeBlockIdKeys() { return std::move(record_); }
  // Closes the last group, decides the common trigrams and builds every
  // filter. The builder is spent afterwards.
  Result<FileFilters> Finish();

  // Memory held for groups not yet built (their keys, delta-coded).
  size_t PendingBytes() const;

 private:
  void CloseGroup();
  struct Pending;
  const size_t group_lines_;
  const bool trigrams_;
  std::vector<uint64_t> seen_;     // bitmap over kTrigramSpace: the open group's trigrams
  std::vector<uint16_t> holders_;  // per trigram: groups holding it (saturating)
  std::vector<uint32_t> touched_;  // trigrams with holders_ > 0
  std::vector<Pending> pending_;   // closed groups, keys delta-coded
  std::vector<uint64_t> open_ids_;
  std::vector<size_t> id_runs_;      // where each block's keys start in open_ids_
  std::vector<uint64_t> scratch_;    // UnionOfRuns' other buffer
  GroupFilter open_;
  bool open_empty_ = true;
  std::unique_ptr<BlockIdKeys> record_;
  size_t pending_bytes_ = 0;
};

}  // namespace loge::storage
