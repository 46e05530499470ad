// BlockCursor's header-side reads (Timestamps, line_bytes) agree with the
// decoded rows in both segment formats: the metric scanner counts from them
// without reading a format-2 block's text.
#include "storage/segment_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "io/file_system.h"
#include "storage/segment_writer.h"
#include "storage/segment_writer_v1.h"

namespace loge::storage {
namespace {

std::string NewDir() {
  std::string tmpl = ::testing::TempDir() + "/readertestXXXXXX";
  EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
  return tmpl;
}

// 600 rows (three blocks), some lines with newlines, some empty.
std::vector<Entry> Rows() {
  std::vector<Entry> es;
  for (int i = 0; i < 600; i++) {
    std::string line = i % 7 == 0 ? "" : "line " + std::to_string(i);
    if (i % 11 == 0) line += "\nsecond part";
    es.push_back({1'000'000 + i * 37, line, ""});
  }
  return es;
}

TEST(SegmentReader, TimestampsAndLineBytesAgreeWithTheRowsInBothFormats) {
  const std::string dir = NewDir();
  const std::vector<Entry> es = Rows();
  for (int format : {1, 2}) {
    SCOPED_TRACE(format);
    const std::string path = dir + "/f" + std::to_string(format) + ".sqlite.zst";
    SegmentInfo info;
    if (format == 2) {
      SegmentWriter w;
      ASSERT_TRUE(w.AddStream({{"app", "a"}}, es).ok());
      ASSERT_TRUE(w.WriteFile(io::DefaultFileSystem(), path, 1, &info).ok());
    } else {
      SegmentWriterV1 w;
      ASSERT_TRUE(w.AddStream({{"app", "a"}}, es).ok());
      auto image = w.Finish(&info);
      ASSERT_TRUE(image.ok());
      ASSERT_TRUE(WriteV1File(io::DefaultFileSystem(), path, *image).ok());
    }
    auto r = SegmentReader::Open(path);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    size_t rows = 0, blocks = 0;
    ASSERT_TRUE((*r)->ScanBlocksNewestFirst(INT64_MIN, INT64_MAX, [&](const BlockCursor& b) {
                     blocks++;
                     std::vector<int64_t> ts;
                     EXPECT_TRUE(b.Timestamps(&ts).ok());
                     std::vector<RowView> rv;
                     EXPECT_TRUE(b.Rows(&rv).ok());
                     EXPECT_EQ(ts.size(), rv.size());
                     uint64_t bytes = 0;
                     for (size_t i = 0; i < rv.size() && i < ts.size(); i++) {
                       EXPECT_EQ(ts[i], rv[i].ts) << i;
                       bytes += rv[i].line.size();
                     }
                     EXPECT_EQ(b.line_bytes(), bytes);
                     rows += rv.size();
                     return true;
                   }).ok());
    EXPECT_EQ(rows, es.size());
    EXPECT_GE(blocks, 3u);
  }
}

TEST(SegmentReader, TimestampsRejectAColumnThatDisagreesWithTheCount) {
  std::string ts;  // two varints: zigzag(5) = 10, then a delta of 1
  ts.push_back(10);
  ts.push_back(1);
  std::vector<int64_t> out;
  ASSERT_TRUE(DecodeTimestamps(ts, 2, &out).ok());
  EXPECT_EQ(out, (std::vector<int64_t>{5, 6}));
  EXPECT_EQ(DecodeTimestamps(ts, 3, &out).code(), Code::kCorruption);
  EXPECT_EQ(DecodeTimestamps(ts, 1, &out).code(), Code::kCorruption);
}

}  // namespace
}  // namespace loge::storage
