// ObjectStore: the cold tier's view of a bucket, and tier/'s facade. The
// uploader, reconcile and search-plan code talk to this interface; S3Store
// (s3_store.h) implements it over HTTP, tests may fake it.
//
// Keys are relative to the store's prefix: a store opened with prefix "loge/"
// writes key "a/b" to object "loge/a/b" and lists it back as "a/b".
//
// Failure: kNotFound for a missing object (Head, GetRange); kUnavailable when
// the store cannot be reached in time (connect, timeout, 5xx), so callers can
// degrade ("partial": true) instead of failing; kIOError for a refusal (403,
// bad credentials, a malformed answer); kInvalidArgument for a bad key, range
// or expiry. Messages carry the S3 error Code and Message, never credentials.
//
// Thread-safety: implementations are safe for concurrent use.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace loge::tier {

struct ObjectInfo {
  std::string key;   // relative to the store's prefix
  uint64_t size = 0; // bytes
  std::string etag;  // as the store returns it, quotes stripped
};

// One page of a listing. next_token is empty on the last page.
struct ListPage {
  std::vector<ObjectInfo> objects;  // in key order
  std::string next_token;           // opaque continuation token
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // Writes `bytes` as one object, replacing any existing one.
  virtual Status PutObject(std::string_view key, std::string_view bytes) = 0;
  // Uploads the file at `path`: one PUT below the store's multipart
  // threshold, else a multipart upload that is aborted on any failure, so a
  // failed upload leaves no object and no stored parts behind.
  virtual Status PutFile(std::string_view key, const std::string& path) = 0;
  // Size and ETag of an object; kNotFound when it does not exist.
  virtual Result<ObjectInfo> HeadObject(std::string_view key) = 0;
  // Bytes [offset, offset+length) of an object, fewer at its end.
  // kInvalidArgument when offset is at or past the end; length 0 is an error.
  virtual Result<std::string> GetObjectRange(std::string_view key, uint64_t offset,
                                             uint64_t length) = 0;
  // One page of the objects under `prefix` (relative), at most max_keys
  // (1..1000), continuing after `token` (empty for the first page).
  virtual Result<ListPage> ListObjectsPage(std::string_view prefix, std::string_view token,
                                           int max_keys) = 0;
  // Every object under `prefix`, following continuation tokens, page_size
  // keys per request.
  Result<std::vector<ObjectInfo>> ListObjects(std::string_view prefix, int page_size = 1000);
  // Deletes an object; OK when it did not exist.
  virtual Status DeleteObject(std::string_view key) = 0;
  // A URL that GETs the object without credentials until `expiry` passes
  // (1 s .. 7 days, else kInvalidArgument). Range requests work on it.
  virtual Result<std::string> PresignGet(std::string_view key, std::chrono::seconds expiry) = 0;
  // The unsigned URL of an object for public reads (bucket policy or CDN).
  virtual std::string PublicUrl(std::string_view key) const = 0;
};

inline Result<std::vector<ObjectInfo>> ObjectStore::ListObjects(std::string_view prefix,
                                                                 int page_size) {
  std::vector<ObjectInfo> all;
  std::string token;
  do {
    LOGE_ASSIGN_OR_RETURN(ListPage page, ListObjectsPage(prefix, token, page_size));
    for (auto& o : page.objects) all.push_back(std::move(o));
    token = std::move(page.next_token);
  } while (!token.empty());
  return all;
}

}  // namespace loge::tier
