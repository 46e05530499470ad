#include "tier/s3_xml.h"

#include <gtest/gtest.h>

namespace loge::tier::xml {
namespace {

TEST(S3Xml, ReadsAnErrorBody) {
  std::string body =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated "
      "does not match &amp; so on</Message><RequestId>1</RequestId></Error>";
  EXPECT_EQ(RootName(body), "Error");
  EXPECT_EQ(FirstText(body, "Code"), "SignatureDoesNotMatch");
  EXPECT_EQ(FirstText(body, "Message"),
            "The request signature we calculated does not match & so on");
  EXPECT_EQ(FirstText(body, "Missing"), std::nullopt);
}

TEST(S3Xml, ReadsAListingWithNamespacesAndEscapedETags) {
  std::string body =
      "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name>"
      "<IsTruncated>true</IsTruncated><NextContinuationToken>a/b+=</NextContinuationToken>"
      "<Contents><Key>k1</Key><ETag>&quot;abc&quot;</ETag><Size>10</Size></Contents>"
      "<Contents><Key>k&lt;2</Key><ETag>&#34;def&#x22;</ETag><Size>0</Size></Contents>"
      "<Contents><Key/><Size>1</Size></Contents>"
      "</ListBucketResult>";
  EXPECT_EQ(RootName(body), "ListBucketResult");
  EXPECT_EQ(FirstText(body, "NextContinuationToken"), "a/b+=");
  auto contents = Elements(body, "Contents");
  ASSERT_EQ(contents.size(), 3u);
  EXPECT_EQ(FirstText(contents[0], "ETag"), "\"abc\"");
  EXPECT_EQ(FirstText(contents[1], "Key"), "k<2");
  EXPECT_EQ(FirstText(contents[1], "ETag"), "\"def\"");
  EXPECT_EQ(FirstText(contents[2], "Key"), "");
  // A tag whose name merely starts with another's is not it.
  EXPECT_EQ(FirstText("<KeyCount>3</KeyCount><Key>x</Key>", "Key"), "x");
}

TEST(S3Xml, DecodesAndEscapesEntities) {
  EXPECT_EQ(DecodeEntities("&lt;&gt;&amp;&quot;&apos;&#233;&#x1F600;"),
            "<>&\"'\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(DecodeEntities("&bogus; & &#xZZ; &#99999999;"), "&bogus; & &#xZZ; &#99999999;");
  EXPECT_EQ(DecodeEntities(Escape("<a href=\"x\">&'</a>")), "<a href=\"x\">&'</a>");
}

TEST(S3Xml, RejectsGarbageWithoutCrashing) {
  auto check = [](std::string_view doc) {
    SCOPED_TRACE(std::string(doc));
    (void)RootName(doc);
    EXPECT_EQ(FirstText(doc, "Code"), std::nullopt);
    EXPECT_TRUE(Elements(doc, "Contents").empty());
  };
  check("");
  check("<");
  check("<?xml");
  check("<Code");
  check("<Code>unterminated");
  check("<Contents><Key>x</Key>");
  check(std::string_view("\0<\0>", 4));
  EXPECT_EQ(RootName("not xml"), "");
  EXPECT_EQ(RootName("<!-- c --><Root/>"), "Root");
}

}  // namespace
}  // namespace loge::tier::xml
