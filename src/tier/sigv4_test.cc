#include "tier/sigv4.h"

#include <gtest/gtest.h>

namespace loge::tier::sigv4 {
namespace {

// The example of the AWS S3 SigV4 documentation ("Signature Calculations for
// the Authorization Header" and "Authenticating Requests: Using Query
// Parameters"), specs/s3.md sections 3-4.
constexpr const char* kAkid = "AKIAIOSFODNN7EXAMPLE";
constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const auto kTime = std::chrono::system_clock::from_time_t(1369353600);  // 20130524T000000Z

TEST(AwsSigV4, FormatsDates) {
  EXPECT_EQ(AmzDate(kTime), "20130524T000000Z");
  EXPECT_EQ(DateStamp(kTime), "20130524");
}

TEST(AwsSigV4, GetObjectMatchesTheAwsExample) {
  Request req;
  req.method = "GET";
  req.canonical_uri = "/test.txt";
  req.headers = {{"host", "examplebucket.s3.amazonaws.com"},
                 {"x-amz-date", "20130524T000000Z"},
                 {"range", "bytes=0-9"},
                 {"x-amz-content-sha256", std::string(kEmptySha256)}};
  req.payload_hash = std::string(kEmptySha256);
  std::string canonical = CanonicalRequest(req);
  EXPECT_EQ(canonical,
            "GET\n/test.txt\n\n"
            "host:examplebucket.s3.amazonaws.com\n"
            "range:bytes=0-9\n"
            "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n\n"
            "host;range;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex(canonical),
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(StringToSign("20130524T000000Z", Scope("20130524", "us-east-1"), canonical),
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(Signature(kSecret, "us-east-1", kTime, req),
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(AwsSigV4, PutObjectMatchesTheAwsExample) {
  std::string body = "Welcome to Amazon S3.";
  Request req;
  req.method = "PUT";
  req.canonical_uri = "/" + UriEncode("test$file.text", true);
  req.headers = {{"host", "examplebucket.s3.amazonaws.com"},
                 {"date", "Fri, 24 May 2013 00:00:00 GMT"},
                 {"x-amz-date", "20130524T000000Z"},
                 {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                 {"x-amz-content-sha256", Sha256Hex(body)}};
  req.payload_hash = Sha256Hex(body);
  EXPECT_EQ(req.canonical_uri, "/test%24file.text");
  EXPECT_EQ(req.payload_hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  EXPECT_EQ(Signature(kSecret, "us-east-1", kTime, req),
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(AwsSigV4, ListObjectsMatchesTheAwsExample) {
  Request req;
  req.method = "GET";
  req.canonical_uri = "/";
  req.canonical_query = CanonicalQuery({{"prefix", "J"}, {"max-keys", "2"}});
  req.headers = {{"host", "examplebucket.s3.amazonaws.com"},
                 {"x-amz-date", "20130524T000000Z"},
                 {"x-amz-content-sha256", std::string(kEmptySha256)}};
  req.payload_hash = std::string(kEmptySha256);
  EXPECT_EQ(req.canonical_query, "max-keys=2&prefix=J");
  EXPECT_EQ(Signature(kSecret, "us-east-1", kTime, req),
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(AwsSigV4, PresignedUrlMatchesTheAwsExample) {
  PresignInput in;
  in.scheme_host = "https://examplebucket.s3.amazonaws.com";
  in.host = "examplebucket.s3.amazonaws.com";
  in.canonical_uri = "/test.txt";
  in.access_key_id = kAkid;
  in.secret_access_key = kSecret;
  in.region = "us-east-1";
  in.now = kTime;
  in.expires = std::chrono::seconds(86400);
  EXPECT_EQ(PresignGetUrl(in),
            "https://examplebucket.s3.amazonaws.com/test.txt"
            "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
            "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
            "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

TEST(AwsSigV4, PresignedUrlSignsTheSessionToken) {
  PresignInput in;
  in.scheme_host = "http://127.0.0.1:9000";
  in.host = "127.0.0.1:9000";
  in.canonical_uri = "/b/k";
  in.access_key_id = kAkid;
  in.secret_access_key = kSecret;
  in.session_token = "tok/en+=";
  in.region = "eu-west-1";
  in.now = kTime;
  std::string url = PresignGetUrl(in);
  EXPECT_NE(url.find("&X-Amz-Security-Token=tok%2Fen%2B%3D&X-Amz-SignedHeaders=host"),
            std::string::npos)
      << url;
  EXPECT_NE(url.find("%2Feu-west-1%2Fs3%2F"), std::string::npos) << url;
}

TEST(AwsSigV4, UriEncodeKeepsOnlyUnreservedCharacters) {
  auto check = [](std::string_view in, bool keep_slash, std::string_view want) {
    SCOPED_TRACE(std::string(in));
    EXPECT_EQ(UriEncode(in, keep_slash), want);
  };
  check("a-z_A.Z~09", false, "a-z_A.Z~09");
  check("a b+c=d", false, "a%20b%2Bc%3Dd");
  check("dir/sub/file", true, "dir/sub/file");
  check("dir/sub", false, "dir%2Fsub");
  check("\xc3\xa9", true, "%C3%A9");
  check("", true, "");
}

TEST(AwsSigV4, UriDecodeInvertsEncodeAndKeepsBadEscapes) {
  EXPECT_EQ(UriDecode(UriEncode("a b/c+\xc3\xa9", false), false), "a b/c+\xc3\xa9");
  EXPECT_EQ(UriDecode("a+b%2Bc", false), "a+b+c");
  EXPECT_EQ(UriDecode("a+b%2Bc", true), "a b+c");
  EXPECT_EQ(UriDecode("100%", false), "100%");
  EXPECT_EQ(UriDecode("%zz%4", false), "%zz%4");
}

TEST(AwsSigV4, CanonicalQuerySortsAndEncodes) {
  EXPECT_EQ(CanonicalQuery({}), "");
  EXPECT_EQ(CanonicalQuery({{"uploads", ""}}), "uploads=");
  EXPECT_EQ(CanonicalQuery({{"uploadId", "x/y"}, {"partNumber", "3"}}),
            "partNumber=3&uploadId=x%2Fy");
  EXPECT_EQ(CanonicalQuery({{"b", "2"}, {"a", "1"}, {"a", "0"}}), "a=0&a=1&b=2");
}

TEST(AwsSigV4, CanonicalHeadersAreTrimmedAndCollapsed) {
  Request req;
  req.method = "GET";
  req.canonical_uri = "";
  req.headers = {{"x-amz-meta-a", "  one   two  "}, {"host", "h"}};
  req.payload_hash = "UNSIGNED-PAYLOAD";
  EXPECT_EQ(CanonicalRequest(req),
            "GET\n/\n\nhost:h\nx-amz-meta-a:one two\n\nhost;x-amz-meta-a\nUNSIGNED-PAYLOAD");
}

TEST(AwsSigV4, HmacMatchesRfc4231) {
  // RFC 4231 test case 2.
  EXPECT_EQ(Hex(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

}  // namespace
}  // namespace loge::tier::sigv4
