// ReconcileRemote: brings the catalog's remote rows into agreement with a
// bucket listing (docs/s3.md, "Reconcile"). Run by the Uploader at startup
// and after every rotation pass, so a node — or a fresh node on an empty
// output path — knows every segment any node rotated into the bucket.
//
// Thread-safety: one pass at a time per catalog (the Uploader serialises
// passes with its rotation, and with the object deletes of retention and of
// rewrites of remote segments, which remove remote rows in their own
// catalog transactions: a retired key is recorded in the one that removes
// its row, so a pass never finds an object unnamed and not retired).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/status.h"
#include "storage/catalog.h"

namespace loge::storage {
class FileSet;
}

namespace loge::tier {

class ObjectStore;

struct ReconcileOptions {
  // This node's id: its own keys that still have a local catalog row are an
  // upload whose catalog flip has not happened yet (uploader.cc, a crash
  // between steps 3 and 4): left for the uploader, never adopted, so no
  // segment is both local and remote.
  std::string node_id;
  // Builds the catalog row of an object whose key does not carry its
  // bounds (an older or unknown naming that still ends in .sqlite.zst) by
  // reading the file's meta. Default (empty): ReadRemoteEntry.
  std::function<Result<storage::CatalogEntry>(const std::string& url, uint64_t size)> open_unknown;
};

struct ReconcileStats {
  uint64_t listed = 0;          // objects under the prefix
  uint64_t adopted = 0;         // remote rows added with bounds from the key
  uint64_t adopted_opened = 0;  // remote rows added by reading the file (open_unknown)
  uint64_t dropped = 0;         // remote rows whose object is gone
  uint64_t repointed = 0;       // remote rows moved to the object's current URL (the URL base changed)
  uint64_t pending = 0;         // own keys of segments still local (the uploader flips them)
  uint64_t unreadable = 0;      // objects of an unknown naming that could not be read (logged, retried next pass)
  uint64_t retired_deleted = 0;  // objects of retired keys (a rewrite replaced them) deleted, never adopted
  uint64_t retired_failed = 0;   // of those, deletions that failed (logged, retried next pass)
  int64_t max_own_id = -1;      // largest segment id among this node's keys; -1 if none
};

// One pass:
//  1. list every object under the store's prefix (all pages); on failure
//     return it and change nothing (an unreachable store never empties the
//     catalog);
//  1b. an object whose key the catalog records as retired (a rewrite of a
//     remote segment swapped its row for a local one, store/merger.h, and
//     has not deleted it yet — or crashed before it could) is deleted and
//     its key forgotten; never adopted, so the rewritten rows cannot come
//     back nor the kept ones be read twice. A retired URL under this
//     store's prefix whose object is not listed is forgotten. Matched by
//     URL, or by "<node>/<name>" when the URL base changed. A row that
//     still names such an object is dropped (5);
//  2. an object whose URL (store->PublicUrl(key)) a remote row already names
//     is known; a segment key whose "<node>/<name>" ends the URL of a remote
//     row under another base (--s3-read-url-base or the endpoint changed) is
//     the same segment: its row is re-pointed to the current URL, never
//     adopted twice;
//  3. an unknown key "<node>/segment-<min>-<max>-<id>.sqlite.zst" becomes a
//     remote row with the bounds from the key, bytes = object size, rows 0,
//     label keys unknown and no filters: the planner prunes it by time only.
//     Except this node's own key whose file name a local row still has:
//     pending (see node_id);
//  4. another key ending in .sqlite.zst is read with open_unknown;
//  5. a remote row under this store's URL prefix whose object was not listed
//     is dropped (rows under another bucket or prefix are left alone);
//  6. one catalog transaction applies 3-5, then the FileSet is updated.
// Idempotent: a crash anywhere leaves the next pass to finish the job.
Result<ReconcileStats> ReconcileRemote(ObjectStore* store, storage::Catalog* catalog, storage::FileSet* files,
                                       const ReconcileOptions& opts);

// The catalog row of a remote segment read from the file itself, through
// storage::SegmentReader::Open(url): min/max ts, rows, label keys and
// filters from its meta; bytes = size. Needs the zstd VFS to open URLs
// (remote reads); until then it fails, and such objects stay uncataloged.
Result<storage::CatalogEntry> ReadRemoteEntry(const std::string& url, uint64_t size);

// The same from a local copy of the file, then named `url` (shared with
// ReadRemoteEntry; tests).
Result<storage::CatalogEntry> ReadSegmentEntry(const std::string& path, const std::string& url, uint64_t size);

}  // namespace loge::tier
