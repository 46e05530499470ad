#include "ingest/decode_syslog.h"

#include <gtest/gtest.h>

#include <ctime>

namespace loge::ingest {
namespace {

constexpr int64_t kNow = 1704164645000000000;  // 2024-01-02T03:04:05Z

struct One {
  Status st;
  Labels labels;
  Entry e;
};

One Decode(std::string_view msg, Limits limits = {}) {
  SyslogDecoder d(limits);
  One o;
  o.st = d.Add(msg, kNow);
  if (!o.st.ok()) return o;
  auto p = d.Take();
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->streams.size(), 1u);
  o.labels = p->streams[0].labels;
  o.e = p->streams[0].entries[0];
  return o;
}

int64_t LocalNs(int year, int mon, int day, int h, int mi, int s) {
  struct tm tm = {};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  tm.tm_isdst = -1;
  return static_cast<int64_t>(mktime(&tm)) * 1000000000;
}

TEST(DecodeSyslog, Rfc5424WithStructuredData) {
  One o = Decode(
      "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 1234 ID47 "
      "[exampleSDID@32473 iut=\"3\" eventSource=\"Appli\\\"cation\" eventID=\"1011\"][meta x=\"a\\]b\"] "
      "\xEF\xBB\xBF" "An application event log entry...");
  ASSERT_TRUE(o.st.ok()) << o.st.ToString();
  EXPECT_EQ(o.labels, (Labels{{"app_name", "evntslog"}, {"facility", "local4"}, {"hostname", "mymachine.example.com"},
                              {"level", "notice"}}));
  EXPECT_EQ(o.e.ts, 1065910455003000000);
  EXPECT_EQ(o.e.line, "An application event log entry...");
  EXPECT_EQ(o.e.metadata,
            R"({"procid":"1234","msgid":"ID47","exampleSDID_32473_iut":"3",)"
            R"("exampleSDID_32473_eventSource":"Appli\"cation","exampleSDID_32473_eventID":"1011","meta_x":"a]b"})");
}

TEST(DecodeSyslog, Rfc5424NilValues) {
  One o = Decode("<34>1 - - - - - - hello");
  ASSERT_TRUE(o.st.ok()) << o.st.ToString();
  EXPECT_EQ(o.labels, (Labels{{"facility", "auth"}, {"level", "crit"}}));
  EXPECT_EQ(o.e.ts, kNow);
  EXPECT_EQ(o.e.line, "hello");
  EXPECT_EQ(o.e.metadata, "");
}

TEST(DecodeSyslog, Rfc3164Variants) {
  auto check = [](std::string_view msg, const Labels& want_labels, int64_t want_ts, std::string_view want_line,
                  std::string_view want_md) {
    SCOPED_TRACE(msg);
    One o = Decode(msg);
    ASSERT_TRUE(o.st.ok()) << o.st.ToString();
    EXPECT_EQ(o.labels, want_labels);
    EXPECT_EQ(o.e.ts, want_ts);
    EXPECT_EQ(o.e.line, want_line);
    EXPECT_EQ(o.e.metadata, want_md);
  };
  check("<34>Jan  1 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
        {{"app_name", "su"}, {"facility", "auth"}, {"hostname", "mymachine"}, {"level", "crit"}},
        LocalNs(2024, 1, 1, 22, 14, 15), "'su root' failed for lonvick on /dev/pts/8", "");
  check("<30>Jan  2 03:00:00 host sshd[4242]: Accepted key",
        {{"app_name", "sshd"}, {"facility", "daemon"}, {"hostname", "host"}, {"level", "info"}},
        LocalNs(2024, 1, 2, 3, 0, 0), "Accepted key", R"({"procid":"4242"})");
  // December, read in January: last year.
  check("<13>Dec 31 23:59:59 h app: x", {{"app_name", "app"}, {"facility", "user"}, {"hostname", "h"}, {"level", "notice"}},
        LocalNs(2023, 12, 31, 23, 59, 59), "x", "");
  // rsyslog's forward format: an RFC 3339 stamp.
  check("<14>2024-01-02T03:04:00.5+00:00 web-1 nginx: GET /",
        {{"app_name", "nginx"}, {"facility", "user"}, {"hostname", "web-1"}, {"level", "info"}},
        1704164640500000000, "GET /", "");
  // No hostname: the word after the time is the tag.
  check("<13>Jan  2 03:00:00 cron[7]: job", {{"app_name", "cron"}, {"facility", "user"}, {"level", "notice"}},
        LocalNs(2024, 1, 2, 3, 0, 0), "job", R"({"procid":"7"})");
  // No PRI: user.notice, the whole text is the line.
  check("just text", {{"facility", "user"}, {"level", "notice"}}, kNow, "just text", "");
  // A PRI and nothing parseable after it.
  check("<191>free form words", {{"facility", "local7"}, {"level", "debug"}}, kNow, "free form words", "");
  check("<0>x\r\n", {{"facility", "kern"}, {"level", "emerg"}}, kNow, "x", "");
}

TEST(DecodeSyslog, WholeSecondStampsTakeTheReceiveFractionSoRepeatsAreNotDuplicates) {
  SyslogDecoder d(Limits{});
  for (int64_t frac : {111, 222}) {
    ASSERT_TRUE(d.Add("<13>Jan  2 03:04:05 h app: again", kNow + frac).ok());
    ASSERT_TRUE(d.Add("<13>1 2024-01-02T03:04:05Z h app - - - again", kNow + frac).ok());
    ASSERT_TRUE(d.Add("<13>1 2024-01-02T03:04:05.5Z h app - - - again", kNow + frac).ok());
  }
  auto p = d.Take();
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->streams.size(), 1u);
  std::vector<int64_t> ts;
  for (const auto& e : p->streams[0].entries) ts.push_back(e.ts);
  const int64_t local = LocalNs(2024, 1, 2, 3, 4, 5);
  EXPECT_EQ(ts, (std::vector<int64_t>{local + 111, kNow + 111, kNow + 500000000, local + 222, kNow + 222,
                                      kNow + 500000000}));
}

TEST(DecodeSyslog, MessagesWithTheSameLabelsShareAStream) {
  SyslogDecoder d(Limits{});
  ASSERT_TRUE(d.Add("<13>1 - h a - - - one", kNow).ok());
  ASSERT_TRUE(d.Add("<13>1 - h a - - - two", kNow + 1).ok());
  ASSERT_TRUE(d.Add("<11>1 - h a - - - three", kNow + 2).ok());
  EXPECT_EQ(d.lines(), 3u);
  auto p = d.Take();
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->streams.size(), 2u);
  EXPECT_EQ(p->streams[0].entries.size(), 2u);
  EXPECT_EQ(d.lines(), 0u);
  auto empty = d.Take();
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->streams.empty());
}

TEST(DecodeSyslog, RejectsGarbage) {
  Limits limits;
  limits.max_line_bytes = 10;
  auto check = [&](std::string_view msg) {
    SCOPED_TRACE(testing::PrintToString(std::string(msg)));
    SyslogDecoder d(limits);
    EXPECT_EQ(d.Add(msg, kNow).code(), Code::kInvalidArgument);
    EXPECT_EQ(d.lines(), 0u);
  };
  check("");
  check("\n\r\n");
  check(std::string(3, '\0'));
  check("<13>1 - - - - - - this line is too long");
  // Malformed headers still store the message (as its own line).
  SyslogDecoder d(Limits{});
  for (std::string_view odd : {"<999>x", "<13>1 2024-99-99 h", "<13>1 - - - - - [unterminated", "<13", "<>x",
                               "<13>1 - - - - - [a b=\"c]", "<13>Jan 99 99:99:99 h t: m"}) {
    SCOPED_TRACE(odd);
    EXPECT_TRUE(d.Add(odd, kNow).ok());
  }
}

TEST(SyslogFramer, SplitsOctetCountedAndLineFramedStreamsAcrossReads) {
  SyslogFramer f(1024);
  std::vector<std::string> got;
  auto drain = [&] {
    std::string_view frame;
    for (;;) {
      auto r = f.Next(&frame);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      if (!*r) break;
      got.emplace_back(frame);
    }
  };
  const std::string stream = "10 <13>1 - a\n5 hello<14>line one\r\n\n<14>line two\n3 abc";
  for (char c : stream) {  // byte by byte: every split point
    f.Append(std::string_view(&c, 1));
    drain();
  }
  EXPECT_EQ(got, (std::vector<std::string>{"<13>1 - a\n", "hello", "<14>line one", "<14>line two", "abc"}));
  std::string_view rest;
  EXPECT_FALSE(f.Rest(&rest));
  f.Append("<13>no newline at the end");
  drain();
  ASSERT_TRUE(f.Rest(&rest));
  EXPECT_EQ(rest, "<13>no newline at the end");
}

TEST(SyslogFramer, LineFramedStreamsMayStartLinesWithDigits) {
  SyslogFramer f(1024);
  f.Append("<13>first\n12345 starts with digits\n");
  std::string_view frame;
  ASSERT_TRUE(*f.Next(&frame));
  EXPECT_EQ(frame, "<13>first");
  ASSERT_TRUE(*f.Next(&frame));
  EXPECT_EQ(frame, "12345 starts with digits");
  EXPECT_FALSE(*f.Next(&frame));
}

TEST(SyslogFramer, RejectsGarbage) {
  SyslogFramer f(16);
  std::string_view frame;
  f.Append("99999 <13>x");
  EXPECT_EQ(f.Next(&frame).status().code(), Code::kInvalidArgument);
  SyslogFramer g(16);
  g.Append(std::string(17, 'x'));
  EXPECT_EQ(g.Next(&frame).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace loge::ingest
