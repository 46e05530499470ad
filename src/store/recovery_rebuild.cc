// Startup with a catalog that was lost or unreadable: the catalog is
// rebuilt from the data files alone (docs/reliability.md, "Startup
// recovery").
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "io/file_system.h"
#include "storage/segment_reader.h"
#include "store/filename.h"
#include "store/store_impl.h"

namespace loge::store {

namespace {

struct FoundFile {
  std::string name;
  storage::CatalogEntry entry;
  std::vector<std::string> sources;  // segments: the files it was merged from
  uint64_t id = 0;                   // segments: the <id> of the name
};

std::vector<std::string> SplitSources(std::string_view rest) {
  std::vector<std::string> out;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    out.emplace_back(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  return out;
}

}  // namespace

// Every row must end up in exactly one adopted file:
//  1. each file's meta is read; one that does not read is quarantined;
//  2. segments, highest id first (ids only grow): a segment is dropped when
//     an adopted or dropped segment lists it as a source (its rows are in
//     that one), or when it lists a source already covered (two merges of
//     the same input: only the later one can have committed). Otherwise it
//     is adopted. The sources of a segment that is kept or covered are
//     covered in turn, so coverage follows merges of merges;
//  3. flush files are adopted unless covered;
//  4. dropped files are deleted: their rows are in an adopted segment;
//  5. the WAL watermark becomes the highest max_wal_seq of an adopted
//     segment: every seq up to it was in a durable file when that segment
//     was merged, so replay does not store records again that merges
//     consumed. Flush files above it keep their parts out of replay as
//     usual.
Status Store::Impl::RebuildFromFiles(const std::vector<std::string>& names, std::vector<storage::CatalogEntry>* kept) {
  std::vector<FoundFile> segments, flushes;
  for (const auto& name : names) {
    const std::string path = io::JoinPath(opts.output_path, name);
    const ParsedName p = ParseFileName(name);
    const auto kind = p.type == FileType::kSegment ? storage::FileKind::kSegment : storage::FileKind::kFlush;
    auto e = EntryFromFile(path, name, kind);
    if (!e.ok()) {
      LOGE_RETURN_IF_ERROR(QuarantineAtStartup(name, e.status()));
      continue;
    }
    FoundFile f{name, std::move(*e), {}, p.id};
    if (kind == storage::FileKind::kSegment) {
      LOGE_ASSIGN_OR_RETURN(auto reader, storage::SegmentReader::Open(path));
      if (auto src = reader->ReadMeta("sources"); src.ok()) f.sources = SplitSources(*src);
      segments.push_back(std::move(f));
    } else {
      flushes.push_back(std::move(f));
    }
  }
  std::sort(segments.begin(), segments.end(), [](const FoundFile& a, const FoundFile& b) { return a.id > b.id; });
  std::set<std::string> covered;
  std::vector<FoundFile*> adopt;
  uint64_t watermark = persisted_watermark;
  for (auto& s : segments) {
    const bool is_covered = covered.count(s.name) > 0;
    const bool conflicts = std::any_of(s.sources.begin(), s.sources.end(),
                                       [&](const std::string& src) { return covered.count(src) > 0; });
    if (is_covered || !conflicts) covered.insert(s.sources.begin(), s.sources.end());
    if (is_covered || conflicts) {
      spdlog::warn("catalog rebuild: deleting {}: {}", s.name,
                   is_covered ? "a newer segment holds its rows" : "a newer merge of the same inputs holds its rows");
      LOGE_RETURN_IF_ERROR(fs->Remove(io::JoinPath(opts.output_path, s.name)));
      continue;
    }
    watermark = std::max(watermark, s.entry.max_wal_seq);
    adopt.push_back(&s);
  }
  for (auto& f : flushes) {
    if (covered.count(f.name)) {
      spdlog::warn("catalog rebuild: deleting {}: a segment holds its rows", f.name);
      LOGE_RETURN_IF_ERROR(fs->Remove(io::JoinPath(opts.output_path, f.name)));
      continue;
    }
    adopt.push_back(&f);
  }
  for (FoundFile* f : adopt) {
    LOGE_RETURN_IF_ERROR(catalog->Add(&f->entry));
    kept->push_back(std::move(f->entry));
  }
  if (watermark > persisted_watermark) {
    LOGE_RETURN_IF_ERROR(catalog->SetState(kWatermarkKey, static_cast<int64_t>(watermark)));
    persisted_watermark = watermark;
  }
  if (!names.empty()) {
    spdlog::warn("catalog rebuild: {} of {} files adopted; WAL records up to {} count as stored", adopt.size(),
                 names.size(), persisted_watermark.load());
  }
  return Status::OK();
}

}  // namespace loge::store
