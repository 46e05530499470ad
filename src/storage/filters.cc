#include "storage/filters.h"

#include <algorithm>
#include <bit>
#include <functional>
#include <iterator>

#include "core/types.h"
#include "io/file_system.h"
#include "storage/fuse_filter.h"

namespace loge::storage {

namespace {

// A trigram in more than this share of a file's groups is common.
constexpr size_t kCommonShareDenominator = 8;
// Rare trigram keys the group filters hold, per line of the file: at about
// 1.3 bytes a key, 0.4 keys cost ~0.5 bytes per line (0.75 cost 0.42 B/line
// more on the side-by-side corpus, docs/benchmarks.md). Trigrams are taken
// rarest first until the budget is spent; the rest are common. On text with
// few distinct trigrams every rare one fits; on id-heavy text (base62 or hex
// ids put most trigrams in a tenth of the groups) only the rarest do, which
// are the ones that prune (docs/format-segment.md, "Filters").
constexpr double kRareTrigramKeysPerLine = 0.4;

// The catalog blob: "LFS3" (with the summary) since summaries; "LFS2"
// blobs, written before, are read without one.
constexpr std::string_view kBlobMagic = "LFS3";
constexpr std::string_view kBlobMagicV2 = "LFS2";
constexpr std::string_view kBitmapMagic = "LCB1";
constexpr size_t kBitmapBytes = (kTrigramSpace + 7) / 8;

Status ValidateCommon(std::string_view c) {
  if (c.empty()) return Status::OK();
  if (c.substr(0, kBitmapMagic.size()) == kBitmapMagic) {
    if (c.size() != kBitmapMagic.size() + kBitmapBytes) return Status::Corruption("common trigram bitmap: bad size");
    return Status::OK();
  }
  return FuseFilter::Validate(c);
}

// Makes [first, last) sorted and duplicate-free (usually it is already).
void SortUnique(std::vector<uint64_t>* v, size_t first) {
  const auto b = v->begin() + static_cast<ptrdiff_t>(first);
  if (std::adjacent_find(b, v->end(), std::greater_equal<uint64_t>()) == v->end()) return;
  std::sort(b, v->end());
  v->erase(std::unique(b, v->end()), v->end());
}

// Replaces *v, made of sorted duplicate-free runs (run i starts at
// starts[i], the first at 0, each ends where the next starts), by their
// sorted duplicate-free union: pairwise set unions, through *scratch. A
// group's blocks and a file's groups repeat many keys, so the lists shrink
// as they merge; for the few hundred runs of a file's groups this is a
// third of the cost of sorting their concatenation (ingest profile: the
// sorts were 7% of the server's CPU).
void UnionOfRuns(std::vector<uint64_t>* v, std::vector<size_t> starts, std::vector<uint64_t>* scratch) {
  std::vector<size_t> next;
  while (starts.size() > 1) {
    scratch->clear();
    scratch->reserve(v->size());
    next.clear();
    for (size_t i = 0; i < starts.size(); i += 2) {
      const auto a = v->begin() + static_cast<ptrdiff_t>(starts[i]);
      const auto b = i + 1 < starts.size() ? v->begin() + static_cast<ptrdiff_t>(starts[i + 1]) : v->end();
      const auto c = i + 2 < starts.size() ? v->begin() + static_cast<ptrdiff_t>(starts[i + 2]) : v->end();
      next.push_back(scratch->size());
      std::set_union(a, b, b, c, std::back_inserter(*scratch));
    }
    v->swap(*scratch);
    starts.swap(next);
  }
}

bool MayHoldAll(std::string_view filter, const std::vector<uint64_t>& keys) {
  for (uint64_t k : keys) {
    if (!FuseFilter::MayContainSerialized(filter, k)) return false;
  }
  return true;
}

}  // namespace

// A closed group waiting for Finish: its trigram indices as varint deltas
// (about a byte each: they are dense), its id keys sorted and unique.
struct FilterBuilder::Pending {
  GroupFilter meta;
  std::string trigrams;
  std::vector<uint64_t> ids;
};

bool FileFilters::CommonMayHold(uint64_t key) const {
  if (common.empty()) return true;
  if (common.size() == kBitmapMagic.size() + kBitmapBytes && common.compare(0, 4, kBitmapMagic) == 0) {
    const uint64_t i = key & ~kTrigramKeyTag;
    if (i >= kTrigramSpace) return true;
    return (static_cast<uint8_t>(common[kBitmapMagic.size() + i / 8]) >> (i % 8)) & 1;
  }
  return FuseFilter::MayContainSerialized(common, key);
}

size_t FileFilters::Bytes() const {
  size_t b = common.size() + summary.size();
  for (const auto& g : groups) b += g.filter.size();
  return b;
}

std::shared_ptr<const FileFilters> FileFilters::WithoutGroupFilters() const {
  auto f = std::make_shared<FileFilters>();
  auto bytes = std::make_shared<std::string>();
  bytes->reserve(common.size() + summary.size());
  bytes->append(common);
  bytes->append(summary);
  f->common = std::string_view(*bytes).substr(0, common.size());
  f->summary = std::string_view(*bytes).substr(common.size());
  f->groups.reserve(groups.size());
  for (const auto& g : groups) f->groups.push_back(GroupFilter{g.first_block, g.last_block, g.min_ts, g.max_ts, g.n, {}});
  f->lazy = true;
  f->storage = std::move(bytes);
  return f;
}

namespace {

void PutBytes(std::string* out, std::string_view b) {
  PutVarint64(out, b.size());
  out->append(b);
}

void PutGroupRange(std::string* out, const GroupFilter& g) {
  PutVarint64(out, ZigZag(g.first_block));
  PutVarint64(out, static_cast<uint64_t>(g.last_block - g.first_block));
  PutVarint64(out, ZigZag(g.min_ts));
  PutVarint64(out, static_cast<uint64_t>(g.max_ts) - static_cast<uint64_t>(g.min_ts));
  PutVarint64(out, g.n);
}

}  // namespace

std::string FileFilters::Serialize() const {
  std::string out(kBlobMagic);
  PutBytes(&out, common);
  PutBytes(&out, summary);
  PutVarint64(&out, groups.size());
  for (const auto& g : groups) {
    PutGroupRange(&out, g);
    PutBytes(&out, g.filter);
  }
  return out;
}

Result<FileFilters> FileFilters::Assemble(std::string_view common, std::string_view summary,
                                          std::vector<GroupFilter> groups,
                                          const std::vector<std::string>& group_filters) {
  if (group_filters.size() != groups.size()) return Status::InvalidArgument("filters: a filter per group");
  size_t size = kBlobMagic.size() + common.size() + summary.size() + 32;
  for (const auto& f : group_filters) size += f.size() + 48;
  auto blob = std::make_shared<std::string>();
  blob->reserve(size);
  blob->append(kBlobMagic);
  PutBytes(blob.get(), common);
  PutBytes(blob.get(), summary);
  PutVarint64(blob.get(), groups.size());
  for (size_t i = 0; i < groups.size(); i++) {
    PutGroupRange(blob.get(), groups[i]);
    PutBytes(blob.get(), group_filters[i]);
  }
  const std::string_view view(*blob);
  return FromBlob(view, std::move(blob));
}

Result<FileFilters> FileFilters::Deserialize(std::string_view in) {
  auto copy = std::make_shared<std::string>(in);
  const std::string_view view(*copy);
  return FromBlob(view, std::move(copy));
}

Result<FileFilters> FileFilters::FromBlob(std::string_view in, std::shared_ptr<const void> storage,
                                          const char* views_in) {
  auto bad = [](const char* what) { return Status::Corruption(std::string("filters blob: ") + what); };
  const bool v3 = in.substr(0, kBlobMagic.size()) == kBlobMagic;
  if (!v3 && in.substr(0, kBlobMagicV2.size()) != kBlobMagicV2) return bad("bad magic");
  size_t pos = kBlobMagic.size();
  FileFilters f;
  // Validation reads `in`; the views are made over `views_in` afterwards.
  auto bytes = [&](std::string_view* out) {
    uint64_t len;
    if (!GetVarint64(in, &pos, &len) || len > in.size() - pos) return false;
    *out = in.substr(pos, len);
    pos += len;
    return true;
  };
  if (!bytes(&f.common)) return bad("truncated common filter");
  if (v3 && !bytes(&f.summary)) return bad("truncated summary");
  uint64_t n;
  if (!GetVarint64(in, &pos, &n) || n > in.size()) return bad("bad group count");
  f.groups.resize(n);
  for (auto& g : f.groups) {
    uint64_t first, span, min, width, lines;
    if (!GetVarint64(in, &pos, &first) || !GetVarint64(in, &pos, &span) || !GetVarint64(in, &pos, &min) ||
        !GetVarint64(in, &pos, &width) || !GetVarint64(in, &pos, &lines) || !bytes(&g.filter)) {
      return bad("truncated group");
    }
    g.first_block = UnZigZag(first);
    g.last_block = g.first_block + static_cast<int64_t>(span);
    g.min_ts = UnZigZag(min);
    g.max_ts = static_cast<int64_t>(static_cast<uint64_t>(g.min_ts) + width);
    g.n = lines;
  }
  if (pos != in.size()) return bad("trailing bytes");
  LOGE_RETURN_IF_ERROR(ValidateCommon(f.common).WithContext("filters blob: common"));
  if (!f.summary.empty()) LOGE_RETURN_IF_ERROR(FuseFilter::Validate(f.summary).WithContext("filters blob: summary"));
  for (const auto& g : f.groups) LOGE_RETURN_IF_ERROR(FuseFilter::Validate(g.filter).WithContext("filters blob: group"));
  if (views_in != nullptr) {
    auto rebase = [&](std::string_view* v) {
      *v = v->empty() ? std::string_view() : std::string_view(views_in + (v->data() - in.data()), v->size());
    };
    rebase(&f.common);
    rebase(&f.summary);
    for (auto& g : f.groups) rebase(&g.filter);
  }
  f.storage = std::move(storage);
  return f;
}

UsableKeys UsableKeysFor(const FileFilters& f, const NeedleSet2& needles) {
  if (f.region) f.region->Touch();  // the probes that follow page it in
  UsableKeys u;
  for (const auto& alternatives : needles) {
    auto& out = u.filters.emplace_back();
    bool prunable = true;
    for (const auto& n : alternatives) {
      auto& keys = out.emplace_back();
      for (uint64_t k : n.trigrams) {
        if (!f.CommonMayHold(k)) keys.push_back(k);
      }
      keys.insert(keys.end(), n.ids.begin(), n.ids.end());
      if (keys.empty()) prunable = false;
    }
    if (prunable) u.prunes = true;
  }
  return u;
}

bool GroupMayHold(const GroupFilter& g, const UsableKeys& keys) {
  for (const auto& alternatives : keys.filters) {
    bool any = false;
    for (const auto& k : alternatives) {
      if (MayHoldAll(g.filter, k)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

bool SummaryMayHold(const FileFilters& f, const UsableKeys& keys) {
  if (f.summary.empty()) return true;
  for (const auto& alternatives : keys.filters) {
    bool any = false;
    for (const auto& k : alternatives) {
      if (MayHoldAll(f.summary, k)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

std::vector<size_t> CandidateGroups(const FileFilters& f, const UsableKeys& keys, int64_t start, int64_t end) {
  std::vector<size_t> out;
  for (size_t i = 0; i < f.groups.size(); i++) {
    const auto& g = f.groups[i];
    if (g.max_ts < start || g.min_ts > end) continue;
    if (GroupMayHold(g, keys)) out.push_back(i);
  }
  return out;
}

FilterBuilder::FilterBuilder(size_t group_lines, bool trigrams)
    : group_lines_(std::max<size_t>(group_lines, 1)), trigrams_(trigrams) {
  if (trigrams_) {
    seen_.assign((kTrigramSpace + 63) / 64, 0);
    holders_.assign(kTrigramSpace, 0);
  }
}

FilterBuilder::~FilterBuilder() = default;

size_t FilterBuilder::PendingBytes() const { return pending_bytes_; }

bool BlockIdKeys::Of(int64_t id, std::vector<uint64_t>* out) const {
  auto it = std::lower_bound(block_ids.begin(), block_ids.end(), id);
  if (it == block_ids.end() || *it != id) return false;
  const size_t i = static_cast<size_t>(it - block_ids.begin());
  out->assign(keys.begin() + static_cast<ptrdiff_t>(offsets[i]), keys.begin() + static_cast<ptrdiff_t>(offsets[i + 1]));
  return true;
}

size_t BlockIdKeys::Bytes() const {
  return block_ids.capacity() * sizeof(int64_t) + offsets.capacity() * sizeof(size_t) +
         keys.capacity() * sizeof(uint64_t);
}

void FilterBuilder::AddBlock(int64_t block_id, int64_t min_ts, int64_t max_ts, uint32_t n, std::string_view text,
                             const std::vector<uint64_t>* known_ids) {
  if (open_empty_) {
    open_ = GroupFilter{block_id, block_id, min_ts, max_ts, 0, {}};
    open_empty_ = false;
  }
  open_.last_block = block_id;
  open_.min_ts = std::min(open_.min_ts, min_ts);
  open_.max_ts = std::max(open_.max_ts, max_ts);
  open_.n += n;
  if (trigrams_) {
    uint64_t* seen = seen_.data();
    ForEachTrigram(text, [seen](uint32_t i) { seen[i >> 6] |= uint64_t{1} << (i & 63); });
  }
  const size_t before = open_ids_.size();
  if (known_ids != nullptr) {
    open_ids_.insert(open_ids_.end(), known_ids->begin(), known_ids->end());
  } else {
    AddIdKeys(text, &open_ids_);
  }
  // Each block's keys sorted and unique (known ones usually are): log lines
  // repeat their tokens, so a flush file keeps a fraction of the raw keys
  // while it waits for its merge, and the group merges runs, not sorts.
  SortUnique(&open_ids_, before);
  id_runs_.push_back(before);
  if (record_) {
    if (record_->offsets.empty()) record_->offsets.push_back(0);
    record_->block_ids.push_back(block_id);
    record_->keys.insert(record_->keys.end(), open_ids_.begin() + static_cast<ptrdiff_t>(before), open_ids_.end());
    record_->offsets.push_back(record_->keys.size());
  }
  if (open_.n >= group_lines_) CloseGroup();
}

void FilterBuilder::CloseGroup() {
  if (open_empty_) return;
  Pending p;
  p.meta = std::move(open_);
  // The bitmap lists the group's trigrams in ascending order; it is cleared
  // as it is read.
  uint32_t prev = 0;
  for (size_t w = 0; w < seen_.size(); w++) {
    uint64_t bits = seen_[w];
    if (bits == 0) continue;
    seen_[w] = 0;
    while (bits) {
      const uint32_t i = static_cast<uint32_t>(w * 64 + std::countr_zero(bits));
      bits &= bits - 1;
      PutVarint64(&p.trigrams, i - prev);
      prev = i;
      if (holders_[i] == 0) touched_.push_back(i);
      if (holders_[i] != UINT16_MAX) holders_[i]++;
    }
  }
  UnionOfRuns(&open_ids_, std::move(id_runs_), &scratch_);
  id_runs_.clear();
  p.ids = open_ids_;
  open_ids_.clear();
  pending_bytes_ += p.trigrams.size() + p.ids.size() * sizeof(uint64_t);
  pending_.push_back(std::move(p));
  open_empty_ = true;
}

Result<FileFilters> FilterBuilder::Finish() {
  CloseGroup();
  std::string common, summary;
  std::vector<GroupFilter> groups;
  std::vector<std::string> group_filters;
  // The largest holder count h such that every trigram held by at most h
  // groups fits the budget (and h is at most 1/8 of the groups).
  uint64_t lines = 0;
  for (const auto& p : pending_) lines += p.meta.n;
  const size_t cap = std::max<size_t>(1, pending_.size() / kCommonShareDenominator);
  std::vector<uint64_t> by_holders(cap + 2, 0);  // keys (trigram, group) per holder count
  for (uint32_t i : touched_) {
    if (holders_[i] <= cap) by_holders[holders_[i]] += holders_[i];
  }
  const double budget = kRareTrigramKeysPerLine * static_cast<double>(lines);
  size_t max_holders = 0;
  double spent = 0;
  for (size_t h = 1; h <= cap; h++) {
    if (spent + static_cast<double>(by_holders[h]) > budget) break;
    spent += static_cast<double>(by_holders[h]);
    max_holders = h;
  }
  std::vector<uint64_t> keys;
  for (uint32_t i : touched_) {
    if (holders_[i] > max_holders) keys.push_back(TrigramKeyOf(i));
  }
  if (trigrams_) {
    // The smaller of an exact bitmap and a filter.
    if (FuseFilter::kHeaderSize + FuseFilter::ParamsFor(static_cast<uint32_t>(keys.size())).array_length >
        kBitmapMagic.size() + kBitmapBytes) {
      common.assign(kBitmapMagic);
      common.resize(kBitmapMagic.size() + kBitmapBytes, '\0');
      for (uint64_t k : keys) {
        const uint64_t i = k & ~kTrigramKeyTag;
        common[kBitmapMagic.size() + i / 8] = static_cast<char>(common[kBitmapMagic.size() + i / 8] | (1 << (i % 8)));
      }
    } else {
      LOGE_ASSIGN_OR_RETURN(FuseFilter filter, FuseFilter::Build(keys));
      common = filter.Serialize();
    }
  }
  groups.reserve(pending_.size());
  group_filters.reserve(pending_.size());
  // Every group's keys, for the summary (one filter of the distinct ones):
  // each group's list is sorted and duplicate-free (trigram keys ascending,
  // then id keys, whose tag bit is higher).
  std::vector<uint64_t> all;
  std::vector<size_t> all_runs;
  const bool summarize = !pending_.empty();
  for (auto& p : pending_) {
    keys.clear();
    size_t pos = 0;
    uint64_t i = 0, d;
    while (trigrams_ && GetVarint64(p.trigrams, &pos, &d)) {
      i += d;
      if (holders_[i] <= max_holders) keys.push_back(TrigramKeyOf(static_cast<uint32_t>(i)));
    }
    keys.insert(keys.end(), p.ids.begin(), p.ids.end());
    std::string().swap(p.trigrams);
    std::vector<uint64_t>().swap(p.ids);
    if (summarize) {
      all_runs.push_back(all.size());
      all.insert(all.end(), keys.begin(), keys.end());
    }
    LOGE_ASSIGN_OR_RETURN(FuseFilter f, FuseFilter::Build(keys));
    group_filters.push_back(f.Serialize());
    groups.push_back(p.meta);
  }
  // A summary only where it costs at most half of what the groups hold:
  // its bytes on disk are then few, and a needle probes it instead of
  // every group (and a format-2 segment keeps it in memory instead of the
  // groups). Text whose keys repeat across groups (words,
  // ids seen by several services) gets one; on the side-by-side corpus it
  // holds 0.45 keys per line against the groups' 2.2 (+0.5 B/line on disk).
  // Unique ids in every line make it nearly as large as the groups (a
  // 32-hex id a line: 76%, +18% on the file), so such a file has none and
  // a needle probes its groups. A file of one group gets one too: a lazy
  // format-2 file is pruned by its summary alone.
  if (summarize) {
    const size_t group_keys = all.size();
    UnionOfRuns(&all, std::move(all_runs), &scratch_);
    std::vector<uint64_t>().swap(scratch_);
    if (pending_.size() == 1 || all.size() * 2 <= group_keys) {
      LOGE_ASSIGN_OR_RETURN(FuseFilter f, FuseFilter::Build(std::move(all)));
      summary = f.Serialize();
    }
  }
  pending_.clear();
  pending_bytes_ = 0;
  return FileFilters::Assemble(common, summary, std::move(groups), group_filters);
}

}  // namespace loge::storage
