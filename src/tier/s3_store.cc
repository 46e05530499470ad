#include "tier/s3_store.h"

#include <cstdlib>

#include "tier/s3_xml.h"
#include "tier/sigv4.h"

namespace loge::tier {

namespace {

// S3's bounds on a presigned URL's lifetime.
constexpr std::chrono::seconds kMinPresignExpiry{1};
constexpr std::chrono::seconds kMaxPresignExpiry{7 * 24 * 3600};

std::string StripQuotes(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

}  // namespace

Result<std::unique_ptr<S3Store>> S3Store::Open(S3Options options) {
  LOGE_ASSIGN_OR_RETURN(AwsCredentials creds, LoadAwsCredentials());
  return Open(std::move(options), std::move(creds));
}

Result<std::unique_ptr<S3Store>> S3Store::Open(S3Options options, AwsCredentials credentials) {
  if (options.bucket.empty() || options.bucket.find('/') != std::string::npos) {
    return Status::InvalidArgument("s3-bucket: a bucket name is required, without '/'");
  }
  if (options.region.empty()) {
    LOGE_ASSIGN_OR_RETURN(options.region, LoadAwsRegion());
    if (options.region.empty()) options.region = "us-east-1";
  }
  if (options.part_size < kMinPartSize) {
    return Status::InvalidArgument("S3 part size must be at least 5 MiB");
  }
  if (options.multipart_threshold < options.part_size) {
    return Status::InvalidArgument("S3 multipart threshold must be at least the part size");
  }
  if (options.presign_expiry < kMinPresignExpiry || options.presign_expiry > kMaxPresignExpiry) {
    return Status::InvalidArgument("s3-presign-expiry: must be between 1s and 7 days");
  }
  for (char c : options.acl) {
    if (!((c >= 'a' && c <= 'z') || c == '-')) {
      return Status::InvalidArgument("s3-acl: a canned ACL such as public-read (a-z and '-')");
    }
  }
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return Status::InvalidArgument("S3 credentials: access key id and secret are both required");
  }
  return std::unique_ptr<S3Store>(new S3Store(std::move(options), std::move(credentials)));
}

S3Store::S3Store(S3Options options, AwsCredentials credentials)
    : options_(std::move(options)), credentials_(std::move(credentials)) {
  std::string scheme = "https://";
  std::string host = "s3." + options_.region + ".amazonaws.com";
  if (!options_.endpoint.empty()) {
    std::string_view e = options_.endpoint;
    size_t sep = e.find("://");
    if (sep != std::string_view::npos) {
      scheme = std::string(e.substr(0, sep + 3));
      e.remove_prefix(sep + 3);
    }
    while (!e.empty() && e.back() == '/') e.remove_suffix(1);
    host = std::string(e);
  }
  host_ = options_.force_path_style ? host : options_.bucket + "." + host;
  scheme_host_ = scheme + host_;
  sigv4_ = "aws:amz:" + options_.region + ":s3";
  now_ = [] { return std::chrono::system_clock::now(); };
}

std::string S3Store::FullKey(std::string_view key) const { return options_.prefix + std::string(key); }

std::string S3Store::ObjectPath(std::string_view full_key) const {
  std::string path = options_.force_path_style ? "/" + options_.bucket : "";
  return path + "/" + sigv4::UriEncode(full_key, /*keep_slash=*/true);
}

std::string S3Store::BucketPath() const {
  return options_.force_path_style ? "/" + options_.bucket : "/";
}

std::string S3Store::Describe(std::string_view method, std::string_view full_key) const {
  return "S3 " + std::string(method) + " s3://" + options_.bucket + "/" + std::string(full_key);
}

Status S3Store::Fail(const Request& req, const Response& resp) const {
  std::string code = xml::FirstText(resp.body, "Code").value_or("");
  std::string message = xml::FirstText(resp.body, "Message").value_or("");
  std::string text = req.what + ": HTTP " + std::to_string(resp.status);
  if (!code.empty()) text += " " + code;
  if (!message.empty()) text += ": " + message;
  if (code == "SignatureDoesNotMatch" || code == "InvalidAccessKeyId" ||
      code == "AccessDenied" || code == "ExpiredToken" || code == "InvalidToken" ||
      (code.empty() && resp.status == 403)) {
    text += " (check the AWS credentials from " + credentials_.source +
            " and the bucket's permissions)";
  } else if (code == "RequestTimeTooSkewed") {
    text += " (the system clock is off by more than 15 minutes)";
  } else if (code == "NoSuchBucket") {
    text += " (check --s3-bucket, --s3-endpoint and --s3-region)";
  } else if (code == "AuthorizationHeaderMalformed" || code == "PermanentRedirect") {
    text += " (check --s3-region and --s3-endpoint)";
  }
  if (resp.status == 404) return Status::NotFound(text);
  if (resp.status == 416) return Status::InvalidArgument(text);
  if (resp.status >= 500 || resp.status == 429) return Status::Unavailable(text);
  return Status::IOError(text);
}

Status S3Store::PutObject(std::string_view key, std::string_view bytes) {
  if (key.empty()) return Status::InvalidArgument("S3 key is empty");
  return PutBody(key, bytes);
}

Status S3Store::PutBody(std::string_view key, std::string_view body) {
  std::string full = FullKey(key);
  Request req{"PUT", ObjectPath(full), "", {}, body, false, Describe("PUT", full)};
  if (!options_.acl.empty()) req.headers.push_back("x-amz-acl: " + options_.acl);
  LOGE_ASSIGN_OR_RETURN(Response resp, Perform(req));
  if (resp.status != 200) return Fail(req, resp);
  return Status::OK();
}

Result<ObjectInfo> S3Store::HeadObject(std::string_view key) {
  std::string full = FullKey(key);
  Request req{"HEAD", ObjectPath(full), "", {}, {}, true, Describe("HEAD", full)};
  LOGE_ASSIGN_OR_RETURN(Response resp, Perform(req));
  if (resp.status == 404) return Status::NotFound(req.what + ": no such object");
  if (resp.status != 200) return Fail(req, resp);
  if (resp.content_length < 0) return Status::IOError(req.what + ": no Content-Length");
  return ObjectInfo{std::string(key), static_cast<uint64_t>(resp.content_length),
                    StripQuotes(resp.etag)};
}

Result<std::string> S3Store::GetObjectRange(std::string_view key, uint64_t offset,
                                            uint64_t length) {
  if (length == 0 || offset + length < offset) {
    return Status::InvalidArgument("S3 range: length must be positive and not overflow");
  }
  std::string full = FullKey(key);
  Request req{"GET", ObjectPath(full), "", {}, {}, true, Describe("GET", full)};
  req.headers.push_back("range: bytes=" + std::to_string(offset) + "-" +
                        std::to_string(offset + length - 1));
  LOGE_ASSIGN_OR_RETURN(Response resp, Perform(req));
  if (resp.status == 206) return std::move(resp.body);
  if (resp.status == 200) {
    // A server that ignores Range sends the whole object.
    if (offset >= resp.body.size()) return Status::InvalidArgument(req.what + ": range past end");
    return resp.body.substr(offset, length);
  }
  return Fail(req, resp);
}

Result<ListPage> S3Store::ListObjectsPage(std::string_view prefix, std::string_view token,
                                          int max_keys) {
  if (max_keys < 1 || max_keys > 1000) {
    return Status::InvalidArgument("S3 list: max-keys must be 1..1000");
  }
  std::string full = FullKey(prefix);
  sigv4::Params params = {{"list-type", "2"},
                          {"prefix", full},
                          {"max-keys", std::to_string(max_keys)},
                          {"encoding-type", "url"}};
  if (!token.empty()) params.emplace_back("continuation-token", std::string(token));
  Request req{"GET", BucketPath(), sigv4::CanonicalQuery(std::move(params)), {}, {}, true,
              Describe("LIST", full)};
  LOGE_ASSIGN_OR_RETURN(Response resp, Perform(req));
  if (resp.status != 200) return Fail(req, resp);
  if (xml::RootName(resp.body) != "ListBucketResult") {
    return Status::IOError(req.what + ": answer is not a ListBucketResult");
  }
  // The root's own fields come before or after the <Contents> (servers
  // differ); no <Contents> child shares their names.
  std::string_view body = resp.body;
  bool url_encoded = xml::FirstText(body, "EncodingType").value_or("") == "url";
  ListPage page;
  for (std::string_view c : xml::Elements(body, "Contents")) {
    std::string k = xml::FirstText(c, "Key").value_or("");
    if (url_encoded) k = sigv4::UriDecode(k, /*plus_is_space=*/true);
    if (k.compare(0, options_.prefix.size(), options_.prefix) == 0) {
      k.erase(0, options_.prefix.size());
    }
    std::string size = xml::FirstText(c, "Size").value_or("");
    char* end = nullptr;
    uint64_t n = std::strtoull(size.c_str(), &end, 10);
    if (size.empty() || *end != '\0') {
      return Status::IOError(req.what + ": object without a valid Size");
    }
    page.objects.push_back({std::move(k), n, StripQuotes(xml::FirstText(c, "ETag").value_or(""))});
  }
  if (xml::FirstText(body, "IsTruncated").value_or("") == "true") {
    page.next_token = xml::FirstText(body, "NextContinuationToken").value_or("");
    if (page.next_token.empty()) {
      return Status::IOError(req.what + ": truncated listing without a continuation token");
    }
  }
  return page;
}

Status S3Store::DeleteObject(std::string_view key) {
  std::string full = FullKey(key);
  Request req{"DELETE", ObjectPath(full), "", {}, {}, true, Describe("DELETE", full)};
  LOGE_ASSIGN_OR_RETURN(Response resp, Perform(req));
  if (resp.status != 204 && resp.status != 200 && resp.status != 404) return Fail(req, resp);
  return Status::OK();
}

Result<std::string> S3Store::PresignGet(std::string_view key, std::chrono::seconds expiry) {
  if (expiry.count() == 0) expiry = options_.presign_expiry;
  if (expiry < kMinPresignExpiry || expiry > kMaxPresignExpiry) {
    return Status::InvalidArgument("presign expiry must be between 1s and 7 days");
  }
  sigv4::PresignInput in;
  in.scheme_host = scheme_host_;
  in.host = host_;
  in.canonical_uri = ObjectPath(FullKey(key));
  in.access_key_id = credentials_.access_key_id;
  in.secret_access_key = credentials_.secret_access_key;
  in.session_token = credentials_.session_token;
  in.region = options_.region;
  in.now = now_();
  in.expires = expiry;
  return sigv4::PresignGetUrl(in);
}

std::string S3Store::PublicUrl(std::string_view key) const {
  std::string full = FullKey(key);
  if (options_.read_url_base.empty()) return scheme_host_ + ObjectPath(full);
  std::string base = options_.read_url_base;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/" + sigv4::UriEncode(full, /*keep_slash=*/true);
}

Status S3Store::TEST_CreateBucket() {
  Request req{"PUT", BucketPath(), "", {}, {}, true, "S3 PUT bucket " + options_.bucket};
  LOGE_ASSIGN_OR_RETURN(Response resp, Perform(req));
  if (resp.status != 200) return Fail(req, resp);
  return Status::OK();
}

Status S3Store::TEST_SetPublicReadPolicy() {
  std::string policy =
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},)"
      R"("Action":["s3:GetObject"],"Resource":["arn:aws:s3:::)" +
      options_.bucket + R"(/*"]}]})";
  Request req{"PUT", BucketPath(), "policy=", {}, policy, true,
              "S3 PUT policy " + options_.bucket};
  LOGE_ASSIGN_OR_RETURN(Response resp, Perform(req));
  if (resp.status != 200 && resp.status != 204) return Fail(req, resp);
  return Status::OK();
}

}  // namespace loge::tier
