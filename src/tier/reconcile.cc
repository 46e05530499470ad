#include "tier/reconcile.h"

#include <spdlog/spdlog.h>

#include <map>
#include <set>

#include "core/time.h"
#include "storage/file_set.h"
#include "storage/fuse_filter.h"
#include "storage/segment_reader.h"
#include "tier/object_store.h"
#include "tier/segment_key.h"

namespace loge::tier {

namespace {

constexpr std::string_view kSegmentSuffix = ".sqlite.zst";

storage::FilePtr RemoteHandle(storage::CatalogEntry e) {
  return std::make_shared<const storage::FileHandle>(std::move(e), std::string(), nullptr);
}

}  // namespace

Result<storage::CatalogEntry> ReadSegmentEntry(const std::string& path, const std::string& url, uint64_t size) {
  LOGE_ASSIGN_OR_RETURN(auto reader, storage::SegmentReader::Open(path));
  LOGE_ASSIGN_OR_RETURN(storage::SegmentInfo info, reader->ReadInfo());
  storage::CatalogEntry e = storage::EntryFor(storage::FileKind::kSegment, url, info, size);
  e.tier = storage::Tier::kRemote;
  if (auto tf = reader->ReadMeta("token_filter"); tf.ok()) e.token_filter = std::move(*tf);
  if (auto gf = reader->ReadMeta("trigram_filter"); gf.ok()) e.trigram_filter = std::move(*gf);
  // A filter the planner cannot trust is dropped: the file is then scanned.
  for (std::string* f : {&e.token_filter, &e.trigram_filter}) {
    if (!f->empty() && !storage::FuseFilter::Validate(*f).ok()) f->clear();
  }
  return e;
}

Result<storage::CatalogEntry> ReadRemoteEntry(const std::string& url, uint64_t size) {
  return ReadSegmentEntry(url, url, size);
}

Result<ReconcileStats> ReconcileRemote(ObjectStore* store, storage::Catalog* catalog, storage::FileSet* files,
                                       const ReconcileOptions& opts) {
  ReconcileStats stats;
  // 1. List.
  LOGE_ASSIGN_OR_RETURN(auto objects, store->ListObjects(""));
  stats.listed = objects.size();
  LOGE_ASSIGN_OR_RETURN(auto rows, catalog->List());

  // 2. What the catalog knows.
  const std::string base = store->PublicUrl("");
  std::map<std::string, int64_t> remote_by_url;
  std::set<std::string> local_names;
  for (const auto& r : rows) {
    if (r.tier == storage::Tier::kRemote) remote_by_url.emplace(r.path, r.id);
    else if (r.kind == storage::FileKind::kSegment) local_names.insert(r.path);
  }

  std::set<std::string> seen;
  std::vector<storage::CatalogEntry> adds;
  const int64_t now = NowNanos();
  for (const auto& o : objects) {
    std::string url = store->PublicUrl(o.key);
    if (remote_by_url.count(url)) {
      seen.insert(url);
      continue;
    }
    SegmentKeyInfo k;
    if (ParseSegmentKey(o.key, &k)) {
      if (k.node_id == opts.node_id) {
        stats.max_own_id = std::max(stats.max_own_id, k.id);
        if (local_names.count(k.name)) {
          stats.pending++;
          continue;
        }
      }
      // 3. Bounds from the key alone.
      storage::CatalogEntry e;
      e.kind = storage::FileKind::kSegment;
      e.tier = storage::Tier::kRemote;
      e.path = url;
      e.min_ts = k.min_ts;
      e.max_ts = k.max_ts;
      e.bytes = o.size;
      e.label_keys_known = false;
      e.sealed_at = now;
      adds.push_back(std::move(e));
      stats.adopted++;
      continue;
    }
    if (!o.key.ends_with(kSegmentSuffix)) continue;  // not a data file: not ours to judge
    // 4. An older naming: read the file's own meta.
    auto read = opts.open_unknown ? opts.open_unknown(url, o.size) : ReadRemoteEntry(url, o.size);
    if (!read.ok()) {
      stats.unreadable++;
      spdlog::warn("reconcile: cannot catalog {} (its key carries no time bounds and opening it failed: {}); "
                   "it stays out of queries and is retried next pass",
                   o.key, read.status().ToString());
      continue;
    }
    read->tier = storage::Tier::kRemote;
    read->kind = storage::FileKind::kSegment;
    read->path = url;
    read->sealed_at = now;
    adds.push_back(std::move(*read));
    stats.adopted_opened++;
  }

  // 5. Vanished objects.
  std::vector<int64_t> drop;
  for (const auto& [url, id] : remote_by_url) {
    if (!seen.count(url) && url.starts_with(base)) {
      spdlog::warn("reconcile: {} is gone from the bucket; dropping its catalog row", url);
      drop.push_back(id);
    }
  }
  stats.dropped = drop.size();
  if (adds.empty() && drop.empty()) return stats;

  // 6. One transaction, then the readers' view.
  LOGE_RETURN_IF_ERROR(catalog->ReplaceMany(drop, &adds));
  std::vector<storage::FilePtr> handles;
  handles.reserve(adds.size());
  for (auto& e : adds) handles.push_back(RemoteHandle(std::move(e)));
  files->ReplaceMany(drop, std::move(handles));
  if (stats.adopted + stats.adopted_opened > 0 || stats.dropped > 0) {
    spdlog::info("reconcile: {} objects listed, {} remote segments adopted, {} dropped", stats.listed,
                 stats.adopted + stats.adopted_opened, stats.dropped);
  }
  return stats;
}

}  // namespace loge::tier
