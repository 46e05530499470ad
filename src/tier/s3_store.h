// S3Store: ObjectStore over the S3 REST API (specs/s3.md) on libcurl.
// Requests are signed by libcurl (CURLOPT_AWS_SIGV4 "aws:amz:<region>:s3");
// presigned URLs by sigv4.h on OpenSSL. Works with AWS and with S3-compatible
// servers (MinIO in the tests; set force_path_style for those).
//
// Every request is bounded: connect_timeout to connect, and it is aborted
// when it moves fewer than kLowSpeedBytes per second for low_speed_time, so an
// outage is an error (kUnavailable), never a hang. Server errors (5xx) and
// dropped connections are retried max_retries times with backoff; refused
// connections and timeouts are not (the caller decides: retry next cycle, or
// answer "partial").
//
// Credentials and the region come from the AWS chain (aws_credentials.h) at
// Open and are held for the store's lifetime. No message or log names them.
//
// Thread-safety: every method may be called from any thread concurrently,
// except the TEST_ hooks, which must be set before the store is shared. Each
// request runs on an easy handle taken from an idle pool (mu_), so
// connections are reused; no lock is held while a request runs.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/mutex.h"
#include "core/status.h"
#include "tier/aws_credentials.h"
#include "tier/object_store.h"

namespace loge::tier {

struct S3Options {
  // Bucket name (--s3-bucket). Required.
  std::string bucket;
  // Prepended to every key (--s3-prefix, default "loge/"); "" for the bucket root.
  std::string prefix = "loge/";
  // Scheme, host and port of the service (--s3-endpoint), e.g.
  // "http://127.0.0.1:9000". Default "": https://s3.<region>.amazonaws.com.
  std::string endpoint;
  // Signing region (--s3-region). Default "": AWS_REGION, AWS_DEFAULT_REGION,
  // the profile's region in ~/.aws/config, else "us-east-1".
  std::string region;
  // Bucket in the path (host/bucket/key) instead of the host name
  // (bucket.host/key) (--s3-force-path-style, default false). Needed for
  // MinIO and other self-hosted servers, and for bucket names with dots over TLS.
  bool force_path_style = false;
  // Base of PublicUrl (--s3-read-url-base), e.g. a CDN: PublicUrl(k) is
  // "<base>/<prefix><k>". Default "": the object's own URL.
  std::string read_url_base;
  // Canned ACL sent as x-amz-acl on uploads (--s3-acl), e.g. "public-read".
  // Default "": none (the bucket's policy decides).
  std::string acl;
  // Expiry of PresignGet when it is passed 0 s (--s3-presign-expiry, default 15 min).
  std::chrono::seconds presign_expiry{15 * 60};

  // Files of at least this many bytes are sent as multipart uploads
  // (default 16 MiB: below it one PUT is as fast and has nothing to clean up).
  uint64_t multipart_threshold = 16ull << 20;
  // Bytes per multipart part (default 8 MiB; S3's minimum is 5 MiB, except the
  // last part). Raised automatically to keep a file within 10,000 parts.
  uint64_t part_size = 8ull << 20;
  // Time allowed to establish a connection (default 5 s).
  std::chrono::milliseconds connect_timeout{5000};
  // A transfer slower than kLowSpeedBytes/s for this long is aborted (default 20 s).
  std::chrono::seconds low_speed_time{20};
  // Total time for a request without a large body (HEAD, range GET, list,
  // delete; default 60 s). Uploads are bounded by low_speed_time only.
  std::chrono::seconds request_timeout{60};
  // Retries after a 5xx or a dropped connection (default 2).
  int max_retries = 2;
};

// Bytes per second below which a transfer counts as stalled.
inline constexpr long kLowSpeedBytes = 1024;
// S3's minimum part size, except the last part.
inline constexpr uint64_t kMinPartSize = 5ull << 20;

class S3Store final : public ObjectStore {
 public:
  // Opens a store with credentials and region from the AWS chain.
  // kInvalidArgument for bad options; the chain's errors otherwise.
  static Result<std::unique_ptr<S3Store>> Open(S3Options options);
  // Opens a store with explicit credentials (tests, or a caller that
  // resolved them itself). An empty options.region still uses the chain.
  static Result<std::unique_ptr<S3Store>> Open(S3Options options, AwsCredentials credentials);

  ~S3Store() override;
  S3Store(const S3Store&) = delete;
  S3Store& operator=(const S3Store&) = delete;

  Status PutObject(std::string_view key, std::string_view bytes) override;
  Status PutFile(std::string_view key, const std::string& path) override;
  Result<ObjectInfo> HeadObject(std::string_view key) override;
  Result<std::string> GetObjectRange(std::string_view key, uint64_t offset,
                                     uint64_t length) override;
  Result<ListPage> ListObjectsPage(std::string_view prefix, std::string_view token,
                                   int max_keys) override;
  Status DeleteObject(std::string_view key) override;
  // expiry 0 s means options().presign_expiry.
  Result<std::string> PresignGet(std::string_view key, std::chrono::seconds expiry) override;
  std::string PublicUrl(std::string_view key) const override;

  // Unfinished multipart uploads under `prefix` (relative), for cleaning up
  // after a crash: keys are relative, like every key here.
  struct PendingUpload {
    std::string key;
    std::string upload_id;
  };
  Result<std::vector<PendingUpload>> ListMultipartUploads(std::string_view prefix);
  // Frees the stored parts of an unfinished upload.
  Status AbortMultipartUpload(std::string_view key, std::string_view upload_id);

  const S3Options& options() const { return options_; }

  // Test hooks (set before the store is shared).
  // Creates the bucket (MinIO starts with none).
  Status TEST_CreateBucket();
  // Lets anyone GET objects of the bucket (a bucket policy), so PublicUrl works.
  Status TEST_SetPublicReadPolicy();
  // The upload of part `part_number` (1-based) fails before it is sent; 0 = never.
  void TEST_FailUploadPart(int part_number) { fail_part_ = part_number; }
  // A failed multipart upload is left unfinished instead of aborted.
  void TEST_SkipAbort(bool skip) { skip_abort_ = skip; }
  // The clock PresignGet signs with.
  void TEST_SetClock(std::function<std::chrono::system_clock::time_point()> now) {
    now_ = std::move(now);
  }

 private:
  // One signed HTTP request; curl adds host, x-amz-date and Authorization.
  struct Request {
    std::string method;                // GET, HEAD, PUT, POST, DELETE
    std::string path;                  // encoded, from ObjectPath or BucketPath
    std::string query;                 // canonical (sigv4::CanonicalQuery); may be empty
    std::vector<std::string> headers;  // extra "name: value" lines, all signed
    std::string_view body;             // PUT/POST body; the caller keeps it alive
    bool bounded = true;               // apply options_.request_timeout
    std::string what;                  // "PUT s3://bucket/key", for messages
  };
  struct Response {
    long status = 0;            // HTTP status
    std::string body;
    std::string etag;           // ETag header, quotes kept
    int64_t content_length = -1;
  };

  S3Store(S3Options options, AwsCredentials credentials);

  // Runs one request with retries. Transport failures become kUnavailable;
  // any HTTP status is a Response for the caller to judge.
  Result<Response> Perform(const Request& req);
  Result<Response> PerformOnce(const Request& req, void* curl);
  void* TakeHandle() EXCLUDES(mu_);
  void ReturnHandle(void* curl) EXCLUDES(mu_);

  std::string FullKey(std::string_view key) const;
  // Encoded path of an object ("/bucket/loge/a%20b" or "/loge/a%20b").
  std::string ObjectPath(std::string_view full_key) const;
  std::string BucketPath() const;
  // "S3 PUT s3://bucket/loge/key", the start of every message about a request.
  std::string Describe(std::string_view method, std::string_view full_key) const;
  // The Status for an unexpected HTTP answer: the S3 error Code and Message
  // from its body and a remedy; kNotFound for 404, kUnavailable for 5xx/429,
  // kInvalidArgument for 416, kIOError otherwise.
  Status Fail(const Request& req, const Response& resp) const;

  Status PutBody(std::string_view key, std::string_view body);
  Status PutMultipart(std::string_view key, int fd, uint64_t size);

  S3Options options_;
  AwsCredentials credentials_;
  std::string scheme_host_;  // "https://bucket.s3.us-east-1.amazonaws.com"
  std::string host_;         // host[:port] as sent in the Host header
  std::string sigv4_;        // "aws:amz:<region>:s3"
  std::function<std::chrono::system_clock::time_point()> now_;
  std::atomic<int> fail_part_{0};
  std::atomic<bool> skip_abort_{false};

  Mutex mu_;
  std::vector<void*> idle_ GUARDED_BY(mu_);  // CURL* easy handles, reset, ready for reuse
};

}  // namespace loge::tier
