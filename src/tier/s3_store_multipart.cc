// S3Store's file uploads: one PUT for small files, multipart for large ones.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tier/s3_store.h"
#include "tier/s3_xml.h"
#include "tier/sigv4.h"

namespace loge::tier {

namespace {

// S3's limit on parts per upload.
constexpr uint64_t kMaxParts = 10000;
// Pages of ListMultipartUploads read at most (1000 uploads each): a bound on
// a cleanup call, not a limit anyone should reach.
constexpr int kMaxUploadPages = 100;

Status ReadAt(int fd, uint64_t offset, uint64_t n, const std::string& path, std::string* out) {
  out->resize(n);
  uint64_t done = 0;
  while (done < n) {
    ssize_t r = pread(fd, out->data() + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Status::IOError("read " + path + ": " + std::strerror(errno));
    if (r == 0) return Status::IOError("read " + path + ": file shrank during upload");
    done += static_cast<uint64_t>(r);
  }
  return Status::OK();
}

// Closes a descriptor on every path out of PutFile.
struct FdCloser {
  int fd;
  ~FdCloser() { close(fd); }
};

}  // namespace

Status S3Store::PutFile(std::string_view key, const std::string& path) {
  if (key.empty()) return Status::InvalidArgument("S3 key is empty");
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("open " + path + ": " + std::strerror(errno));
  FdCloser closer{fd};
  struct stat st {};
  if (fstat(fd, &st) != 0) return Status::IOError("stat " + path + ": " + std::strerror(errno));
  auto size = static_cast<uint64_t>(st.st_size);
  if (size < options_.multipart_threshold) {
    std::string body;
    LOGE_RETURN_IF_ERROR(ReadAt(fd, 0, size, path, &body));
    return PutBody(key, body);
  }
  return PutMultipart(key, fd, size).WithContext("upload " + path);
}

// Multipart upload, in order:
//  1. CreateMultipartUpload → upload id.
//  2. UploadPart for each part_size slice of the file (the last may be
//     shorter), in order, keeping each part's ETag.
//  3. CompleteMultipartUpload with the parts in ascending order. S3 may
//     answer 200 with an <Error> body: that is a failure too.
//  4. On any failure after 1: AbortMultipartUpload, so no stored parts are
//     left behind (they would be billed forever), and return the first error.
Status S3Store::PutMultipart(std::string_view key, int fd, uint64_t size) {
  std::string full = FullKey(key);
  uint64_t part_size = std::max(options_.part_size, (size + kMaxParts - 1) / kMaxParts);

  // 1.
  Request create{"POST", ObjectPath(full), "uploads=", {}, {}, true,
                 Describe("CreateMultipartUpload", full)};
  if (!options_.acl.empty()) create.headers.push_back("x-amz-acl: " + options_.acl);
  LOGE_ASSIGN_OR_RETURN(Response created, Perform(create));
  if (created.status != 200) return Fail(create, created);
  std::string upload_id = xml::FirstText(created.body, "UploadId").value_or("");
  if (upload_id.empty()) return Status::IOError(create.what + ": answer has no UploadId");

  auto abort_with = [&](Status st) {
    if (skip_abort_.load()) return st;
    Status a = AbortMultipartUpload(key, upload_id);
    if (!a.ok()) return st.WithContext("abort failed too (" + a.message() + ")");
    return st;
  };

  // 2.
  std::string complete = "<CompleteMultipartUpload>";
  std::string buf;
  int part = 0;
  for (uint64_t off = 0; off < size; off += part_size) {
    ++part;
    uint64_t n = std::min(part_size, size - off);
    Request up{"PUT", ObjectPath(full),
               sigv4::CanonicalQuery({{"partNumber", std::to_string(part)},
                                      {"uploadId", upload_id}}),
               {}, {}, false, Describe("UploadPart " + std::to_string(part), full)};
    if (fail_part_.load() == part) return abort_with(Status::IOError(up.what + ": injected failure"));
    Status read = ReadAt(fd, off, n, "file", &buf);
    if (!read.ok()) return abort_with(read);
    up.body = buf;
    Result<Response> resp = Perform(up);
    if (!resp.ok()) return abort_with(resp.status());
    if (resp->status != 200) return abort_with(Fail(up, *resp));
    if (resp->etag.empty()) return abort_with(Status::IOError(up.what + ": no ETag"));
    complete += "<Part><PartNumber>" + std::to_string(part) + "</PartNumber><ETag>" +
                xml::Escape(resp->etag) + "</ETag></Part>";
  }
  complete += "</CompleteMultipartUpload>";

  // 3.
  Request done{"POST", ObjectPath(full), sigv4::CanonicalQuery({{"uploadId", upload_id}}), {},
               complete, false, Describe("CompleteMultipartUpload", full)};
  Result<Response> resp = Perform(done);
  if (!resp.ok()) return abort_with(resp.status());
  if (resp->status != 200 || xml::RootName(resp->body) == "Error") {
    return abort_with(Fail(done, *resp));
  }
  return Status::OK();
}

Status S3Store::AbortMultipartUpload(std::string_view key, std::string_view upload_id) {
  std::string full = FullKey(key);
  Request req{"DELETE", ObjectPath(full),
              sigv4::CanonicalQuery({{"uploadId", std::string(upload_id)}}), {}, {}, true,
              Describe("AbortMultipartUpload", full)};
  LOGE_ASSIGN_OR_RETURN(Response resp, Perform(req));
  if (resp.status != 204 && resp.status != 200 && resp.status != 404) return Fail(req, resp);
  return Status::OK();
}

// Lists the whole bucket's uploads and filters by prefix here: MinIO answers
// a prefix that is not an exact key with an empty list.
Result<std::vector<S3Store::PendingUpload>> S3Store::ListMultipartUploads(
    std::string_view prefix) {
  std::string full = FullKey(prefix);
  std::vector<PendingUpload> out;
  std::string key_marker, id_marker;
  for (int page = 0; page < kMaxUploadPages; ++page) {
    sigv4::Params params = {{"uploads", ""}};
    if (!key_marker.empty()) {
      params.emplace_back("key-marker", key_marker);
      params.emplace_back("upload-id-marker", id_marker);
    }
    Request req{"GET", BucketPath(), sigv4::CanonicalQuery(std::move(params)), {}, {}, true,
                Describe("ListMultipartUploads", full)};
    LOGE_ASSIGN_OR_RETURN(Response resp, Perform(req));
    if (resp.status != 200) return Fail(req, resp);
    for (std::string_view u : xml::Elements(resp.body, "Upload")) {
      std::string k = xml::FirstText(u, "Key").value_or("");
      if (k.compare(0, full.size(), full) != 0) continue;
      k.erase(0, options_.prefix.size());
      out.push_back({std::move(k), xml::FirstText(u, "UploadId").value_or("")});
    }
    if (xml::FirstText(resp.body, "IsTruncated").value_or("") != "true") return out;
    key_marker = xml::FirstText(resp.body, "NextKeyMarker").value_or("");
    id_marker = xml::FirstText(resp.body, "NextUploadIdMarker").value_or("");
    if (key_marker.empty()) {
      return Status::IOError(req.what + ": truncated listing without NextKeyMarker");
    }
  }
  return out;
}

}  // namespace loge::tier
