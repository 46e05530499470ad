#include "storage/merge.h"

#include <algorithm>
#include <map>
#include <memory>

#include "io/file_system.h"
#include "storage/segment_reader.h"
#include "storage/zstd_vfs.h"

namespace loge::storage {

namespace {

struct Source {
  size_t input;  // index into the readers
  BlockHeader h;
};

// Builds one stream's output blocks from its input blocks, in time order.
class StreamMerger {
 public:
  StreamMerger(SegmentWriter* w, MergeStats* stats) : w_(w), stats_(stats) {}

  // Takes the next input block (ascending min_ts). Blocks whose time ranges
  // chain into one another (a row at the same instant as one already taken
  // may be its duplicate: equal timestamps count) form a group; a group is
  // only complete once a block starts after all of it, because a retried
  // push's copy may overlap a block taken long before (not just the last).
  Status Add(Block b) {
    stats_->blocks_in++;
    stats_->rows_in += b.n;
    if (!group_.empty() && b.min_ts > group_max_) LOGE_RETURN_IF_ERROR(EndGroup());
    group_max_ = group_.empty() ? b.max_ts : std::max(group_max_, b.max_ts);
    group_.push_back(std::move(b));
    return Status::OK();
  }

  Status Finish() {
    if (!group_.empty()) LOGE_RETURN_IF_ERROR(EndGroup());
    if (pending_.n > 0) LOGE_RETURN_IF_ERROR(w_->AddBlock(pending_));
    pending_ = Block();
    return Status::OK();
  }

 private:
  Status Flush() {
    LOGE_RETURN_IF_ERROR(w_->AddBlock(pending_));
    pending_ = Block();
    return Status::OK();
  }

  // Appends b (entirely after pending_ in time) to pending_, writing out
  // every block that fills up; the last, possibly partial, stays pending.
  Status Append(Block b) {
    while (b.n > 0) {
      if (pending_.n == 0) {
        pending_ = TakeFront(&b, kBlockMaxLines, kBlockMaxBytes);
        continue;
      }
      // Text bytes of pending_ with its separators, plus the one joining b.
      const size_t used = pending_.bytes + pending_.n;
      if (pending_.n >= kBlockMaxLines || used >= kBlockMaxBytes) {
        LOGE_RETURN_IF_ERROR(Flush());
        continue;
      }
      const size_t room = kBlockMaxBytes - used;
      Block front = TakeFront(&b, static_cast<uint32_t>(kBlockMaxLines - pending_.n), room);
      if (front.bytes + front.n > room) {
        // Not even its first line fits: it starts the next block.
        LOGE_RETURN_IF_ERROR(Flush());
        pending_ = std::move(front);
        continue;
      }
      AppendBlock(&pending_, front);
    }
    return Status::OK();
  }

  // A group of one block is copied; a larger one is decoded, sorted by
  // time, rid of exact duplicates and encoded again. Either way it lies
  // wholly after pending_ in time.
  Status EndGroup() {
    std::vector<Block> group = std::move(group_);
    group_.clear();
    if (group.size() == 1) return Append(std::move(group[0]));
    std::vector<Entry> rows;
    for (const Block& b : group) {
      stats_->blocks_decoded++;
      LOGE_ASSIGN_OR_RETURN(auto e, BlockEntries(b));
      for (auto& x : e) rows.push_back(std::move(x));
    }
    group.clear();
    std::sort(rows.begin(), rows.end(), [](const Entry& a, const Entry& b) {
      if (a.ts != b.ts) return a.ts < b.ts;
      if (a.line != b.line) return a.line < b.line;
      return a.metadata < b.metadata;
    });
    auto same = [](const Entry& a, const Entry& b) {
      return a.ts == b.ts && a.line == b.line && a.metadata == b.metadata;
    };
    const size_t before = rows.size();
    rows.erase(std::unique(rows.begin(), rows.end(), same), rows.end());
    stats_->rows_dropped += before - rows.size();
    std::vector<const Entry*> ptrs;
    ptrs.reserve(rows.size());
    for (const auto& e : rows) ptrs.push_back(&e);
    // Its id keys are extracted again: the interleaved rows may fill many
    // output blocks, and each would carry the keys of all of them.
    return Append(EncodeBlock2(ptrs.data(), ptrs.data() + ptrs.size()));
  }

  SegmentWriter* w_;
  MergeStats* stats_;
  Block pending_;              // the last output block, still filling; before group_ in time
  std::vector<Block> group_;   // input blocks whose ranges chain together, not yet taken
  int64_t group_max_ = INT64_MIN;
};

bool Overlaps(const StreamRowDrop& drop, int64_t min_ts, int64_t max_ts) {
  if (!drop.drops) return false;
  for (const auto& [start, end] : drop.windows) {
    if (start <= max_ts && end >= min_ts) return true;
  }
  return false;
}

// Leaves out of *b the rows `drop` deletes (re-encoding it when some go);
// false when none is left.
Result<bool> DropRows(const StreamRowDrop& drop, Block* b, MergeStats* stats) {
  LOGE_ASSIGN_OR_RETURN(std::vector<Entry> rows, BlockEntries(*b));
  const size_t before = rows.size();
  std::erase_if(rows, [&](const Entry& e) {
    if (!drop.drops(e.ts, e.line)) return false;
    stats->bytes_deleted += e.line.size();
    return true;
  });
  if (rows.size() == before) return true;
  stats->rows_deleted += before - rows.size();
  if (rows.empty()) return false;
  std::vector<const Entry*> ptrs;
  ptrs.reserve(rows.size());
  for (const auto& e : rows) ptrs.push_back(&e);
  *b = EncodeBlock2(ptrs.data(), ptrs.data() + ptrs.size());  // its id keys are extracted again
  return true;
}

// A merge keeps every input open and reads each once, stream by stream: a
// small page cache per input and a private frame cache keep its memory flat
// however many inputs it has (and leave the queries' frame cache alone).
constexpr int kInputPageCacheKiB = 256;
constexpr size_t kMergeFrameCacheBytes = 8 << 20;

}  // namespace

Result<SegmentInfo> MergeFiles(const std::vector<std::string>& inputs, const MergeOptions& opts, MergeStats* stats) {
  MergeStats local_stats;
  if (stats == nullptr) stats = &local_stats;
  ScopedFrameCache frames(kMergeFrameCacheBytes);
  io::FileSystem* fs = opts.fs ? opts.fs : io::DefaultFileSystem();
  std::vector<std::unique_ptr<SegmentReader>> readers;
  // Streams by labels JSON (the writer's canonical form: sorted keys), with
  // the inputs and stream ids holding them.
  std::map<std::string, std::vector<std::pair<size_t, int64_t>>> streams;
  std::vector<std::string> label_keys;
  for (size_t i = 0; i < inputs.size(); i++) {
    LOGE_ASSIGN_OR_RETURN(auto r, SegmentReader::Open(inputs[i], kInputPageCacheKiB));
    LOGE_ASSIGN_OR_RETURN(SegmentInfo info, r->ReadInfo());
    label_keys.insert(label_keys.end(), info.label_keys.begin(), info.label_keys.end());
    LOGE_RETURN_IF_ERROR(r->ForEachStream([&](int64_t id, std::string_view json) {
      streams[std::string(json)].emplace_back(i, id);
    }));
    readers.push_back(std::move(r));
  }
  SegmentWriterOptions wo;
  wo.scratch_path = opts.scratch_path;
  wo.group_lines = opts.group_lines;
  SegmentWriter w(wo);
  w.AddLabelKeys(label_keys);
  uint64_t kept_blocks = 0;  // 0 at the end: every row was deleted, nothing to write
  for (auto& [json, holders] : streams) {
    std::vector<Source> blocks;
    for (auto [input, id] : holders) {
      LOGE_ASSIGN_OR_RETURN(auto hs, readers[input]->StreamBlocks(id));
      for (const auto& h : hs) blocks.push_back(Source{input, h});
    }
    std::stable_sort(blocks.begin(), blocks.end(), [](const Source& a, const Source& b) {
      return a.h.min_ts != b.h.min_ts ? a.h.min_ts < b.h.min_ts : a.h.max_ts < b.h.max_ts;
    });
    const StreamRowDrop drop = opts.drop ? opts.drop(json) : StreamRowDrop();
    // The stream begins with its first block that keeps a row.
    bool begun = false;
    StreamMerger m(&w, stats);
    for (const auto& s : blocks) {
      LOGE_ASSIGN_OR_RETURN(Block b, readers[s.input]->ReadBlock(s.h.id));
      if (Overlaps(drop, b.min_ts, b.max_ts)) {
        LOGE_ASSIGN_OR_RETURN(bool any, DropRows(drop, &b, stats));
        if (!any) continue;
      } else if (s.input < opts.input_id_keys.size() && opts.input_id_keys[s.input] &&
                 opts.input_id_keys[s.input]->Of(s.h.id, &b.id_keys)) {
        b.id_keys_known = true;
        stats->blocks_keys_reused++;
      }
      if (!begun) LOGE_RETURN_IF_ERROR(w.BeginStream(json, {}));
      begun = true;
      kept_blocks++;
      LOGE_RETURN_IF_ERROR(m.Add(std::move(b)).WithContext(inputs[s.input]));
    }
    if (begun) LOGE_RETURN_IF_ERROR(m.Finish());
  }
  readers.clear();
  SegmentInfo info;
  if (kept_blocks == 0) return info;  // every row was deleted: no file
  for (const auto& [k, v] : opts.meta) w.SetMeta(k, v);
  LOGE_RETURN_IF_ERROR(w.WriteFile(fs, opts.output_path, opts.level, &info));
  return info;
}

}  // namespace loge::storage
