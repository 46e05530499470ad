#include "storage/compactor.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <map>

#include "core/time.h"
#include "core/utf8.h"
#include "io/file_system.h"
#include "storage/block.h"
#include "storage/segment_reader.h"
#include "storage/segment_writer.h"

namespace loge::storage {

namespace {

struct MergedStream {
  std::string labels_json;
  Labels labels;
  std::vector<Entry> entries;
};

Result<Labels> LabelsFromJson(std::string_view json) {
  // The writer stores labels as a flat JSON object of strings with sorted
  // keys; parse exactly that shape.
  Labels out;
  size_t i = 0;
  auto fail = [&] { return Status::Corruption("stream labels are not a flat JSON object"); };
  auto read_string = [&](std::string* s) -> bool {
    if (i >= json.size() || json[i] != '"') return false;
    i++;
    while (i < json.size() && json[i] != '"') {
      char c = json[i++];
      if (c != '\\') {
        s->push_back(c);
        continue;
      }
      if (i >= json.size()) return false;
      char e = json[i++];
      switch (e) {
        case 'n': s->push_back('\n'); break;
        case 't': s->push_back('\t'); break;
        case 'r': s->push_back('\r'); break;
        case 'b': s->push_back('\b'); break;
        case 'f': s->push_back('\f'); break;
        case 'u': {
          if (i + 4 > json.size()) return false;
          uint32_t cp = 0;
          for (int k = 0; k < 4; k++) {
            int d = HexDigitValue(json[i + k]);
            if (d < 0) return false;
            cp = cp * 16 + static_cast<uint32_t>(d);
          }
          i += 4;
          // The writer escapes only control characters with \u, so no
          // surrogate pairs appear here.
          AppendUtf8(cp, s);
          break;
        }
        default: s->push_back(e);
      }
    }
    if (i >= json.size()) return false;
    i++;
    return true;
  };
  if (json.empty() || json[0] != '{') return fail();
  i = 1;
  while (i < json.size() && json[i] != '}') {
    std::string k, v;
    if (!read_string(&k) || i >= json.size() || json[i++] != ':' || !read_string(&v)) return fail();
    out.emplace_back(std::move(k), std::move(v));
    if (i < json.size() && json[i] == ',') i++;
  }
  return out;
}

// Reads every row of a file into `merged`, keyed by labels JSON (streams
// with equal label sets across inputs become one), adding their line bytes
// to *line_bytes.
Status ReadAll(const std::string& path, std::map<std::string, MergedStream>* merged, uint64_t* line_bytes) {
  LOGE_ASSIGN_OR_RETURN(auto reader, SegmentReader::Open(path));
  std::map<int64_t, MergedStream*> by_id;
  Status st;
  LOGE_RETURN_IF_ERROR(reader->ForEachStream([&](int64_t id, std::string_view json) {
    auto [it, fresh] = merged->try_emplace(std::string(json));
    if (fresh) {
      it->second.labels_json = it->first;
      auto labels = LabelsFromJson(json);
      if (!labels.ok()) st = labels.status();
      else it->second.labels = std::move(*labels);
    }
    by_id[id] = &it->second;
  }));
  LOGE_RETURN_IF_ERROR(st);
  std::vector<RowView> rows;
  LOGE_RETURN_IF_ERROR(reader->ScanBlocksNewestFirst(
      std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), [&](const BlockCursor& b) {
        auto it = by_id.find(b.stream());
        if (it == by_id.end()) {
          st = Status::Corruption(path + ": block of an unknown stream");
          return false;
        }
        uint32_t n = b.n();
        st = b.Rows(&rows);
        if (!st.ok()) return false;
        std::vector<std::string> meta;
        if (b.HasMetadata()) {
          auto m = b.Metadata();
          if (!m.ok()) {
            st = m.status();
            return false;
          }
          meta = std::move(*m);
        }
        auto& entries = it->second->entries;
        for (uint32_t i = 0; i < n; i++) {
          *line_bytes += rows[i].line.size();
          entries.push_back(Entry{rows[i].ts, std::string(rows[i].line), meta.empty() ? std::string() : meta[i]});
        }
        return true;
      }));
  return st.WithContext(path);
}

}  // namespace

Compactor::Compactor(const CompactorOptions& opts, Catalog* catalog, FileSet* files)
    : opts_(opts), catalog_(catalog), files_(files), fs_(opts.fs ? opts.fs : io::DefaultFileSystem()) {}

Compactor::~Compactor() { Stop(); }

void Compactor::Start() {
  if (opts_.interval.count() <= 0 || thread_.joinable()) return;
  thread_ = std::jthread([this](std::stop_token st) { Loop(st); });
}

void Compactor::Stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

void Compactor::Loop(std::stop_token st) {
  std::mutex m;
  std::condition_variable_any cv;
  for (;;) {
    {
      std::unique_lock<std::mutex> l(m);
      cv.wait_for(l, st, opts_.interval, [] { return false; });
    }
    if (st.stop_requested()) return;
    for (;;) {
      auto n = Compact();
      if (!n.ok()) {
        spdlog::error("compaction failed (will retry next interval; no data is lost): {}", n.status().ToString());
        break;
      }
      if (*n == 0 || st.stop_requested()) break;
    }
  }
}

Status Compactor::CompactAll() {
  for (;;) {
    LOGE_ASSIGN_OR_RETURN(int n, Compact());
    if (n == 0) return Status::OK();
  }
}

CompactionStats Compactor::stats() const {
  MutexLock l(&stats_mu_);
  return stats_;
}

// One pass, in crash-safe order:
//  1. pick the oldest eligible flush files (by max_ts), bounded in count and
//     bytes; read and merge their rows;
//  2. build the segment image and its filters, compress, write
//     segment-<minTs>-<maxTs>-<id>.sqlite.zst.tmp and fsync it;
//  3. rename it into place;
//  4. fsync the directory (2-4 are WriteSegmentFile);
//  5. one catalog transaction adds the segment and removes its sources;
//  6. publish the swap to queries; the sources are unlinked once the last
//     query reading them lets go (FileHandle).
// A crash before 5 leaves an uncataloged segment: startup deletes it (its
// sources are still cataloged). A crash after 5 but before the sources are
// unlinked leaves uncataloged flush files whose WAL seqs are all at or below
// the persisted watermark (only such files are compacted: safe_wal_seq):
// startup deletes those, while it re-registers an uncataloged flush file with
// seqs above the watermark (a flush whose catalog insert was lost).
Result<int> Compactor::Compact() {
  MutexLock pass(&pass_mu_);
  auto step = [&](int n) { return TEST_step_hook ? TEST_step_hook(n) : Status::OK(); };
  auto start = std::chrono::steady_clock::now();
  const uint64_t safe = opts_.safe_wal_seq ? opts_.safe_wal_seq() : UINT64_MAX;

  // 1. Pick.
  std::vector<FilePtr> eligible;
  for (auto& f : files_->Snapshot()) {
    const auto& e = f->entry;
    if (e.kind == FileKind::kFlush && e.tier == Tier::kLocal && e.max_wal_seq <= safe) eligible.push_back(f);
  }
  if (eligible.size() < std::max<size_t>(opts_.min_files, 1)) return 0;
  std::sort(eligible.begin(), eligible.end(), [](const FilePtr& a, const FilePtr& b) {
    return a->entry.max_ts != b->entry.max_ts ? a->entry.max_ts < b->entry.max_ts : a->entry.id < b->entry.id;
  });
  std::map<std::string, MergedStream> merged;
  std::vector<FilePtr> sources;
  uint64_t line_bytes = 0;
  for (auto& f : eligible) {
    if (sources.size() >= opts_.max_files) break;
    if (!sources.empty() && line_bytes >= opts_.max_input_bytes) break;
    LOGE_RETURN_IF_ERROR(ReadAll(f->local_path, &merged, &line_bytes));
    sources.push_back(f);
  }
  LOGE_RETURN_IF_ERROR(step(1));

  // 2. Build: streams in label order, lines by timestamp; filters over every line.
  SegmentWriter w;
  w.EnableFilters(opts_.block_filter_lines);
  uint64_t rows = 0;
  for (auto& [json, s] : merged) {
    std::stable_sort(s.entries.begin(), s.entries.end(), [](const Entry& a, const Entry& b) { return a.ts < b.ts; });
    rows += s.entries.size();
    LOGE_RETURN_IF_ERROR(w.AddStream(s.labels, s.entries));
    s.entries.clear();
    s.entries.shrink_to_fit();
  }
  std::string sources_list;
  for (const auto& f : sources) {
    if (!sources_list.empty()) sources_list.push_back(',');
    sources_list += f->entry.path;
  }
  w.SetMeta("sources", sources_list);
  SegmentInfo info;
  LOGE_ASSIGN_OR_RETURN(std::string image, w.Finish(&info));
  LOGE_ASSIGN_OR_RETURN(int64_t id, catalog_->GetState(kNextSegmentIdKey, 1));
  LOGE_RETURN_IF_ERROR(catalog_->SetState(kNextSegmentIdKey, id + 1));
  std::string name = "segment-" + std::to_string(info.min_ts) + "-" + std::to_string(info.max_ts) + "-" +
                     std::to_string(id) + ".sqlite.zst";
  std::string path = io::JoinPath(opts_.dir, name);
  LOGE_RETURN_IF_ERROR(step(2));

  // 2-4. Temp, fsync, rename, fsync dir.
  SeekableOptions so;
  so.level = opts_.level;
  so.frame_size = opts_.frame_size;
  so.threads = opts_.threads;
  LOGE_ASSIGN_OR_RETURN(uint64_t bytes, WriteSegmentFile(fs_, path, image, so));
  image.clear();
  image.shrink_to_fit();
  LOGE_RETURN_IF_ERROR(step(4));

  // 5. One catalog transaction.
  CatalogEntry e = EntryFor(FileKind::kSegment, name, info, bytes);
  e.token_filter = std::move(info.token_filter);
  e.trigram_filter = std::move(info.trigram_filter);
  e.sealed_at = NowNanos();
  std::vector<int64_t> ids;
  for (const auto& f : sources) ids.push_back(f->entry.id);
  LOGE_RETURN_IF_ERROR(catalog_->Replace(ids, &e));
  LOGE_RETURN_IF_ERROR(step(5));

  // 6. Publish; sources go when their last reader does.
  std::string local = io::JoinPath(opts_.dir, e.path);
  files_->Replace(ids, std::make_shared<const FileHandle>(std::move(e), std::move(local), fs_));
  sources.clear();

  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("compacted {} flush files ({} rows) into {} ({} bytes) in {:.2f}s", ids.size(), rows, name, bytes,
               secs);
  MutexLock l(&stats_mu_);
  stats_.passes++;
  stats_.files_in += ids.size();
  stats_.segments_out++;
  stats_.rows += rows;
  stats_.seconds += secs;
  return static_cast<int>(ids.size());
}

}  // namespace loge::storage
