#include "tier/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <ctime>

#include "core/status.h"

namespace loge::tier::sigv4 {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kHexUpper[] = "0123456789ABCDEF";

bool Unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '_' || c == '.' || c == '~';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string FormatUtc(std::chrono::system_clock::time_point t, const char* fmt) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  size_t n = std::strftime(buf, sizeof buf, fmt, &tm);
  return std::string(buf, n);
}

// Trims the ends and collapses inner runs of spaces (canonical header values).
std::string CanonicalValue(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

std::string Hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHexDigits[c >> 4];
    out += kHexDigits[c & 15];
  }
  return out;
}

std::string Sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  int ok = EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  LOGE_ASSERT(ok == 1 && len == 32, "BUG: EVP_Digest(sha256) failed");
  return std::string(reinterpret_cast<char*>(md), len);
}

std::string Sha256Hex(std::string_view data) { return Hex(Sha256(data)); }

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  unsigned char* r = HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size(), md,
                          &len);
  LOGE_ASSERT(r != nullptr && len == 32, "BUG: HMAC(sha256) failed");
  return std::string(reinterpret_cast<char*>(md), len);
}

std::string UriEncode(std::string_view s, bool keep_slash) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (Unreserved(c) || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHexUpper[c >> 4];
      out += kHexUpper[c & 15];
    }
  }
  return out;
}

std::string UriDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += plus_is_space && s[i] == '+' ? ' ' : s[i];
  }
  return out;
}

std::string CanonicalQuery(Params params) {
  for (auto& [name, value] : params) {
    name = UriEncode(name, false);
    value = UriEncode(value, false);
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

std::string AmzDate(std::chrono::system_clock::time_point t) {
  return FormatUtc(t, "%Y%m%dT%H%M%SZ");
}

std::string DateStamp(std::chrono::system_clock::time_point t) { return FormatUtc(t, "%Y%m%d"); }

std::string CanonicalRequest(const Request& req) {
  auto headers = req.headers;
  std::sort(headers.begin(), headers.end());
  std::string canonical_headers, signed_headers;
  for (const auto& [name, value] : headers) {
    canonical_headers += name + ":" + CanonicalValue(value) + "\n";
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += name;
  }
  std::string out = req.method + "\n";
  out += (req.canonical_uri.empty() ? "/" : req.canonical_uri) + "\n";
  out += req.canonical_query + "\n";
  out += canonical_headers + "\n";
  out += signed_headers + "\n";
  out += req.payload_hash;
  return out;
}

std::string Scope(std::string_view date_stamp, std::string_view region) {
  return std::string(date_stamp) + "/" + std::string(region) + "/s3/aws4_request";
}

std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request) {
  return "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + std::string(scope) + "\n" +
         Sha256Hex(canonical_request);
}

std::string SigningKey(std::string_view secret, std::string_view date_stamp,
                       std::string_view region) {
  std::string k = HmacSha256("AWS4" + std::string(secret), date_stamp);
  k = HmacSha256(k, region);
  k = HmacSha256(k, "s3");
  return HmacSha256(k, "aws4_request");
}

std::string Signature(std::string_view secret, std::string_view region,
                      std::chrono::system_clock::time_point t, const Request& req) {
  std::string date = DateStamp(t);
  std::string sts = StringToSign(AmzDate(t), Scope(date, region), CanonicalRequest(req));
  return Hex(HmacSha256(SigningKey(secret, date, region), sts));
}

std::string PresignGetUrl(const PresignInput& in) {
  std::string date = DateStamp(in.now);
  Params params = {
      {"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
      {"X-Amz-Credential", in.access_key_id + "/" + Scope(date, in.region)},
      {"X-Amz-Date", AmzDate(in.now)},
      {"X-Amz-Expires", std::to_string(in.expires.count())},
      {"X-Amz-SignedHeaders", "host"},
  };
  if (!in.session_token.empty()) params.emplace_back("X-Amz-Security-Token", in.session_token);
  Request req;
  req.method = "GET";
  req.canonical_uri = in.canonical_uri;
  req.canonical_query = CanonicalQuery(std::move(params));
  req.headers = {{"host", in.host}};
  req.payload_hash = "UNSIGNED-PAYLOAD";
  std::string sig = Signature(in.secret_access_key, in.region, in.now, req);
  return in.scheme_host + in.canonical_uri + "?" + req.canonical_query +
         "&X-Amz-Signature=" + sig;
}

}  // namespace loge::tier::sigv4
