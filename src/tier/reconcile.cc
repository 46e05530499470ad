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

// "<node>/<name>" ending a segment URL (its key under any URL base); ""
// when the URL does not end in a segment key.
std::string SegmentKeyTail(std::string_view url) {
  url = url.substr(0, url.find('?'));
  const size_t name_at = url.rfind('/');
  const size_t node_at =
      name_at == std::string_view::npos || name_at == 0 ? std::string_view::npos : url.rfind('/', name_at - 1);
  SegmentKeyInfo k;
  if (node_at == std::string_view::npos || !ParseSegmentKey(url.substr(node_at + 1), &k)) return "";
  return k.node_id + "/" + k.name;
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
  // Remote rows under another URL base (--s3-read-url-base or the endpoint
  // changed), by the "<node>/<name>" at the end of their URL.
  std::map<std::string, const storage::CatalogEntry*> elsewhere;
  std::set<std::string> local_names;
  for (const auto& r : rows) {
    if (r.tier == storage::Tier::kRemote) {
      remote_by_url.emplace(r.path, r.id);
      if (!r.path.starts_with(base)) {
        if (std::string tail = SegmentKeyTail(r.path); !tail.empty()) elsewhere.emplace(std::move(tail), &r);
      }
    } else if (r.kind == storage::FileKind::kSegment) {
      local_names.insert(r.path);
    }
  }

  // 1b. Retired keys, read after the rows: a rewrite's swap removes a row
  // and records its key in one transaction, so a row missing above is
  // recorded here.
  LOGE_ASSIGN_OR_RETURN(auto retired_urls, catalog->ListRetiredObjects());
  std::map<std::string, std::string> retired;  // URL, or "<node>/<name>" -> the retired URL
  for (const auto& u : retired_urls) {
    retired.emplace(u, u);
    if (std::string tail = SegmentKeyTail(u); !tail.empty()) retired.emplace(std::move(tail), u);
  }
  std::set<std::string> retired_listed;  // retired URLs whose object is listed
  std::vector<std::string> forget;       // retired URLs whose object is gone

  std::set<std::string> seen;
  std::vector<storage::CatalogEntry> adds;
  std::vector<int64_t> drop;
  const int64_t now = NowNanos();
  for (const auto& o : objects) {
    std::string url = store->PublicUrl(o.key);
    SegmentKeyInfo k;
    const bool segment_key = ParseSegmentKey(o.key, &k);
    if (segment_key && k.node_id == opts.node_id) stats.max_own_id = std::max(stats.max_own_id, k.id);
    auto ret = retired.find(url);
    if (ret == retired.end() && segment_key) ret = retired.find(o.key);
    if (ret != retired.end()) {
      // 1b. Replaced by a rewrite: delete, never adopt (nor mark seen: a
      // row still naming it is dropped below).
      retired_listed.insert(ret->second);
      if (Status del = store->DeleteObject(o.key); !del.ok()) {
        stats.retired_failed++;
        spdlog::error("reconcile: cannot delete {}, which a rewrite replaced (retried next pass; never adopted): {}",
                      o.key, del.ToString());
      } else {
        stats.retired_deleted++;
        forget.push_back(ret->second);
        spdlog::info("reconcile: deleted {}: a rewrite replaced it", o.key);
      }
      continue;
    }
    if (remote_by_url.count(url)) {
      seen.insert(url);
      continue;
    }
    if (segment_key) {
      // 2b. Known under its old URL: re-point the row (same segment, one row).
      if (auto it = elsewhere.find(o.key); it != elsewhere.end()) {
        storage::CatalogEntry moved = *it->second;
        drop.push_back(moved.id);
        moved.path = url;
        adds.push_back(std::move(moved));
        elsewhere.erase(it);
        stats.repointed++;
        continue;
      }
      if (k.node_id == opts.node_id && local_names.count(k.name)) {
        stats.pending++;
        continue;
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
  stats.dropped = drop.size();  // re-pointed rows are not counted as dropped
  for (const auto& [url, id] : remote_by_url) {
    if (!seen.count(url) && url.starts_with(base)) {
      spdlog::warn("reconcile: {} is gone from the bucket; dropping its catalog row", url);
      drop.push_back(id);
    }
  }
  stats.dropped = drop.size() - stats.dropped;
  // 1b. Retired keys whose object is gone (deleted above, or by the rewrite
  // itself before a crash) are forgotten; one under another bucket or
  // prefix is kept (this listing cannot say it is gone).
  for (const auto& u : retired_urls) {
    if (!retired_listed.count(u) && u.starts_with(base)) forget.push_back(u);
  }
  if (!forget.empty()) {
    if (Status f = catalog->ForgetRetiredObjects(forget); !f.ok()) {
      spdlog::warn("reconcile: cannot forget {} retired keys (retried next pass): {}", forget.size(), f.ToString());
    }
  }
  if (adds.empty() && drop.empty()) return stats;

  // 6. One transaction, then the readers' view.
  LOGE_RETURN_IF_ERROR(catalog->ReplaceMany(drop, &adds));
  std::vector<storage::FilePtr> handles;
  handles.reserve(adds.size());
  for (auto& e : adds) handles.push_back(RemoteHandle(std::move(e)));
  files->ReplaceMany(drop, std::move(handles));
  spdlog::info("reconcile: {} objects listed, {} remote segments adopted, {} dropped, {} moved to a new URL",
               stats.listed, stats.adopted + stats.adopted_opened, stats.dropped, stats.repointed);
  return stats;
}

}  // namespace loge::tier
