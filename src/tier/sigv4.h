// AWS Signature Version 4 for S3, the parts libcurl does not do for us
// (specs/s3.md sections 3-4): URI encoding, canonical requests, the signing
// key, and presigned GET URLs (query-string signing). Requests themselves are
// signed by libcurl's CURLOPT_AWS_SIGV4; presigning is ours because no curl
// option builds a URL for somebody else to fetch.
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace loge::tier::sigv4 {

// SHA-256 of an empty body, the payload hash of a bodiless request.
inline constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// Lowercase hex of bytes.
std::string Hex(std::string_view bytes);
// Raw 32-byte SHA-256 and its lowercase hex.
std::string Sha256(std::string_view data);
std::string Sha256Hex(std::string_view data);
// Raw 32-byte HMAC-SHA256(key, data).
std::string HmacSha256(std::string_view key, std::string_view data);

// Percent-encodes everything but A-Z a-z 0-9 - _ . ~ (and '/' when
// keep_slash), with uppercase hex: S3's one encoding, used for object keys
// in paths (keep_slash) and for query names and values (not).
std::string UriEncode(std::string_view s, bool keep_slash);
// Decodes %XX sequences, and '+' as a space when plus_is_space (keys listed
// with encoding-type=url are form-encoded: AWS and MinIO write ' ' as '+').
std::string UriDecode(std::string_view s, bool plus_is_space);

// Query parameters, unencoded.
using Params = std::vector<std::pair<std::string, std::string>>;
// The canonical query string: names and values encoded, sorted by name then
// value, "name=value" joined by '&' (a valueless param is "name="). libcurl
// 7.88 signs the query verbatim, so request URLs use exactly this string.
std::string CanonicalQuery(Params params);

// "20130524T000000Z" and "20130524" for a UTC time.
std::string AmzDate(std::chrono::system_clock::time_point t);
std::string DateStamp(std::chrono::system_clock::time_point t);

// One request to sign. Header names must be lowercase; values are trimmed
// and inner runs of spaces collapsed when canonicalised.
struct Request {
  std::string method;          // "GET", "PUT", ...
  std::string canonical_uri;   // already encoded path, e.g. "/bucket/a%20b"
  std::string canonical_query; // from CanonicalQuery
  std::vector<std::pair<std::string, std::string>> headers;  // every signed header
  std::string payload_hash;    // hex SHA-256 of the body or "UNSIGNED-PAYLOAD"
};

// Canonical request (six parts joined by '\n', headers sorted).
std::string CanonicalRequest(const Request& req);
// "<date>/<region>/s3/aws4_request"
std::string Scope(std::string_view date_stamp, std::string_view region);
// "AWS4-HMAC-SHA256\n<amzdate>\n<scope>\n<hex sha256(canonical request)>"
std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request);
// kSigning = HMAC chain over "AWS4"+secret, date, region, "s3", "aws4_request".
std::string SigningKey(std::string_view secret, std::string_view date_stamp,
                       std::string_view region);
// Lowercase hex signature of the canonical request.
std::string Signature(std::string_view secret, std::string_view region,
                      std::chrono::system_clock::time_point t, const Request& req);

struct PresignInput {
  std::string scheme_host;       // "https://bucket.s3.us-east-1.amazonaws.com"
  std::string host;              // Host header value, port included when not default
  std::string canonical_uri;     // encoded path
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;     // empty unless temporary credentials
  std::string region;
  std::chrono::system_clock::time_point now;
  std::chrono::seconds expires{900};  // 1..604800
};

// A presigned GET URL: X-Amz-Algorithm, -Credential, -Date, -Expires,
// -SignedHeaders=host (and -Security-Token) in the signed canonical query,
// payload UNSIGNED-PAYLOAD, then &X-Amz-Signature=<hex>. The caller checks
// the expiry range.
std::string PresignGetUrl(const PresignInput& in);

}  // namespace loge::tier::sigv4
