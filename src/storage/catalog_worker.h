// CatalogWorker: a background component that works on the catalog beside the
// write path — the S3 uploader and reconcile (tier/uploader.h). The store
// owns the catalog and the FileSet; it starts the worker once both are open
// and reconciled with the output directory, and stops it before the catalog
// closes. Storage knows only this interface, so ingest does not depend on tier.
//
// Thread-safety: Start and Stop are called by the store's owner thread
// (open, close); RunNow may be called from any thread (admin endpoint).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace loge::storage {

class Catalog;
class FileSet;

class CatalogWorker {
 public:
  virtual ~CatalogWorker() = default;
  // Begins work on catalog and files (neither owned; both outlive Stop()).
  // A non-OK status fails the store's Open.
  virtual Status Start(Catalog* catalog, FileSet* files) = 0;
  // Ends work and joins every thread the worker started. Idempotent.
  virtual void Stop() = 0;
  // Runs one full pass now instead of waiting for the interval (tests and
  // POST /api/v1/admin/rotate); returns named counters of what it did.
  virtual Result<std::vector<std::pair<std::string, int64_t>>> RunNow() = 0;
  // Deletes the object a remote catalog row names by `url` (retention,
  // store/retention.h); OK when it is gone already. The caller then removes
  // the row. Unavailable when the worker has no object store.
  virtual Status DeleteRemote(const std::string& url) {
    return Status::Unavailable("no object store to delete " + url + " from");
  }
  // Downloads the object a remote catalog row names by `url` into the
  // local file `path` (created or truncated; not fsynced: a rewrite's
  // input, store/merger.h). NotFound when the object is gone;
  // Unavailable when the worker has no object store.
  virtual Status FetchRemote(const std::string& url, const std::string& path) {
    return Status::Unavailable("no object store to fetch " + url + " from (to " + path + ")");
  }
  // True when DeleteRemote and FetchRemote work (an object store is set).
  virtual bool HasObjectStore() const { return false; }
};

}  // namespace loge::storage
