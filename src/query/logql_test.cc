#include "query/logql.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "io/file_system.h"
#include "query/engine.h"
#include "storage/segment_writer.h"

namespace loge::query {
namespace {

// "name op value" for each matcher, as the tables below spell them.
std::vector<std::string> MatcherStrings(const Selector& s) {
  std::vector<std::string> out;
  for (const auto& m : s.matchers) out.push_back(m.name() + MatchTypeName(m.type()) + m.value());
  return out;
}

const char* FilterOp(LineFilterType t) {
  switch (t) {
    case LineFilterType::kContains: return "|=";
    case LineFilterType::kNotContains: return "!=";
    case LineFilterType::kRegex: return "|~";
    case LineFilterType::kNotRegex: return "!~";
  }
  return "?";
}

// "op needle" or "op a|b|c" for a filter with alternatives.
std::vector<std::string> FilterStrings(const Selector& s) {
  std::vector<std::string> out;
  for (const auto& f : s.line_filters) {
    std::string v = FilterOp(f.type());
    for (size_t i = 0; i < f.needles().size(); i++) v += (i ? "|" : " ") + f.needles()[i];
    out.push_back(v);
  }
  return out;
}

TEST(Logql, ParsesEveryValidForm) {
  using V = std::vector<std::string>;
  auto check = [](const std::string& in, const V& matchers, const V& filters) {
    SCOPED_TRACE(in);
    auto s = ParseSelector(in);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ(MatcherStrings(*s), matchers);
    EXPECT_EQ(FilterStrings(*s), filters);
  };
  check("{}", {}, {});
  check(" { } ", {}, {});
  check(R"({app="web"})", {"app=web"}, {});
  check(R"({app="web",env!="prod"})", {"app=web", "env!=prod"}, {});
  check(R"({ app = "web" , env =~ "pr.*" , zone !~ "eu-.*" , })", {"app=web", "env=~pr.*", "zone!~eu-.*"}, {});
  check(R"({app="web",})", {"app=web"}, {});
  check(R"({_a1="x", A_="y", or="z"})", {"_a1=x", "A_=y", "or=z"}, {});
  check(R"({app=""})", {"app="}, {});
  check(R"({app="web"} |= "error")", {"app=web"}, {"|= error"});
  check(R"({app="web"}|="error")", {"app=web"}, {"|= error"});
  check(R"(|= "error")", {}, {"|= error"});
  check(R"(!= "debug")", {}, {"!= debug"});
  check(R"(|~ "(?i)error")", {}, {"|~ (?i)error"});
  check(R"(!~ "x+")", {}, {"!~ x+"});
  check(R"({} |= "a")", {}, {"|= a"});
  check(R"({app="web"} |= "a" != "b" |~ "c+" !~ "d")", {"app=web"}, {"|= a", "!= b", "|~ c+", "!~ d"});
  check(R"({app="web"} |= "a" or "b" or "c")", {"app=web"}, {"|= a|b|c"});
  check(R"({app="web"} != "a" or "b" |= "c")", {"app=web"}, {"!= a|b", "|= c"});
  check(R"(|~ "a" or "b" !~ "c" or "d")", {}, {"|~ a|b", "!~ c|d"});
  check(R"(|= "or" or "or")", {}, {"|= or|or"});
  check(R"(|= "")", {}, {"|= "});
  check(R"(|= "ab")", {}, {"|= ab"});  // shorter than a trigram: allowed, scanned
  check("{\n\tapp=\"web\",\n\tenv=\"prod\"\n}\n|= \"x\"\n", {"app=web", "env=prod"}, {"|= x"});
  check("{app=\"web\"}\r\n|= \"x\"\r\n", {"app=web"}, {"|= x"});
  check("{app=~`w\\w+`} |~ `\\d+`", {"app=~w\\w+"}, {"|~ \\d+"});
  check("|= `a\nb`", {}, {"|= a\nb"});
  check("|= `a\"b\\n`", {}, {"|= a\"b\\n"});
  check(R"(|= "a" or `b`)", {}, {"|= a|b"});
  check("|= \"caf\xc3\xa9\"", {}, {"|= caf\xc3\xa9"});
}

TEST(Logql, RejectsEveryErrorWithPositionAndWhatWasExpected) {
  auto check = [](const std::string& in, const std::string& want) {
    SCOPED_TRACE(in);
    auto s = ParseSelector(in);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(s.status().message(), want);
  };
  // Nothing to select.
  check("", "1:1: expected { or a line filter, found end of input");
  check("   ", "1:4: expected { or a line filter, found end of input");
  check(R"(app="web")", R"(1:1: expected { or a line filter, found "app")");
  check(R"("x")", R"(1:1: expected { or a line filter, found string "x")");
  check(R"(} |= "x")", R"(1:1: expected { or a line filter, found "}")");
  // Brace block.
  check("{", "1:2: missing } to close { at 1:1");
  check(R"({app="web")", "1:11: missing } to close { at 1:1");
  check(R"({app="web",)", "1:12: missing } to close { at 1:1");
  check(R"({,})", R"(1:2: expected label name or }, found ",")");
  check(R"({app="a",,})", R"(1:10: expected label name or }, found ",")");
  check(R"({"app"="web"})", R"(1:2: expected label name or }, found string "app")");
  check(R"({1app="web"})", R"(1:2: expected label name or }, found "1")");
  check(R"({app="web" env="prod"})", R"(1:12: expected , or } after matcher, found "env")");
  check(R"({app="web";env="prod"})", R"(1:11: expected , or } after matcher, found ";")");
  // Matcher operator.
  check("{app}", R"(1:5: expected =, !=, =~ or !~ after label name app, found "}")");
  check("{app", "1:5: expected =, !=, =~ or !~ after label name app, found end of input");
  check(R"({app=="web"})", R"(1:5: expected =, !=, =~ or !~ after label name app, found "==")");
  check(R"({app~"web"})", R"(1:5: expected =, !=, =~ or !~ after label name app, found "~")");
  check(R"({app-name="x"})", R"(1:5: expected =, !=, =~ or !~ after label name app, found "-")");
  check(R"({app|="x"})", R"(1:5: expected =, !=, =~ or !~ after label name app, found "|=")");
  check(R"({app "x"})", R"(1:6: expected =, !=, =~ or !~ after label name app, found string "x")");
  // Matcher value.
  check("{app=}", R"(1:6: expected string after =, found "}")");
  check("{app=", "1:6: expected string after =");
  check("{app=~}", R"(1:7: expected string after =~, found "}")");
  check("{app!=", "1:7: expected string after !=");
  check("{app!~ ,}", R"(1:8: expected string after !~, found ",")");
  check("{app=web}", R"(1:6: expected string after =, found "web")");
  check(R"({app = = "x"})", R"(1:8: expected string after =, found "=")");
  check(R"({app=~"("})", R"(1:7: matcher app: invalid regex "(": missing ): ()");
  check(R"({app!~"a**"})", R"(1:7: matcher app: invalid regex "a**": bad repetition operator: **)");
  // Line filters.
  check(R"({job="x"} |= )", "1:14: expected string after |=");
  check(R"({app="web"} |=)", "1:15: expected string after |=");
  check(R"({app="web"} |= x)", R"(1:16: expected string after |=, found "x")");
  check(R"({app="web"} != {)", R"(1:16: expected string after !=, found "{")");
  check(R"(|~)", "1:3: expected string after |~");
  check(R"(!~ !~ "x")", R"(1:4: expected string after !~, found "!~")");
  check(R"({app="web"} |= "a" or)", "1:22: expected string after or");
  check(R"({app="web"} |= "a" or |= "b")", R"(1:23: expected string after or, found "|=")");
  check(R"(|= "a" or or "b")", R"(1:11: expected string after or, found "or")");
  check(R"({app="web"} |~ "(")", R"(1:16: line filter: invalid regex "(": missing ): ()");
  check(R"({app="web"} |~ "a" or "b" or "[")", R"(1:30: line filter: invalid regex "[": missing ]: [)");
  check(R"(!~ "x" or "(?<")", R"(1:11: line filter: invalid regex "(?<": invalid perl operator: (?<)");
  // Trailing garbage.
  check(R"({app="api"} |= "a" x)", R"(1:20: unexpected "x" after selector)");
  check(R"({app="web"} x)", R"(1:13: unexpected "x" after selector)");
  check(R"({app="web"}})", R"(1:12: unexpected "}" after selector)");
  check(R"({app="web"} {env="prod"})", R"(1:13: unexpected "{" after selector)");
  check(R"({app="web"} "x")", R"(1:13: unexpected string "x" after selector)");
  check(R"({app="web"} or "x")", R"(1:13: unexpected "or" after selector)");
  check(R"({app="web"} ! "x")", R"(1:13: unexpected "!" after selector)");
  check(R"({app="web"} = "x")", R"(1:13: unexpected "=" after selector)");
  check(R"({app="web"} |= "a",)", R"(1:19: unexpected "," after selector)");
  check(R"({app="web"} | json |)", R"(1:21: expected a parser, a formatter or a label filter after |, found end of input)");
  check(R"({app="web"} |> 5)", R"(1:16: expected string after |>, found "5")");
  check(R"({app="web"} | line_format "{{ atoi .x }}")", R"(1:15: invalid line template: template: line:1: function "atoi" not defined)");
  check(R"({app="web"} | logfmt | unwrap x)",
        "1:24: unwrap is only allowed in a metric query (`sum_over_time({...} | unwrap x [5m])`)");
  check("{app=\"web\"} \xc3\xa9", R"(1:13: unexpected "\xc3" after selector)");
  check("{} " + std::string(40, 'x'), R"(1:4: unexpected ")" + std::string(32, 'x') + R"(..." after selector)");
  check("{} \"" + std::string(40, 'y') + "\"",
        R"(1:4: unexpected string ")" + std::string(31, 'y') + "... after selector");
  // Strings.
  check(R"({app="web)", "1:6: unterminated string");
  check("{app=\"we\nb\"}", "1:6: unterminated string");
  check("{app=`web", "1:6: unterminated raw string");
  check(R"({app="\)", "1:6: unterminated string");
  check(R"(|= "\q")", R"(1:5: invalid escape \q in string)");
  check(R"(|= "ok\z")", R"(1:7: invalid escape \z in string)");
  check("|= \"\\\n\"", R"(1:5: invalid escape in string: \ followed by byte \x0a)");
  check(R"(|= "\x4")", R"(1:5: invalid escape \x in string: want 2 hex digits)");
  check(R"(|= "\xg0")", R"(1:5: invalid escape \x in string: want 2 hex digits)");
  check(R"(|= "\x)", R"(1:5: invalid escape \x in string: want 2 hex digits)");
  check(R"(|= "\u12")", R"(1:5: invalid escape \u in string: want 4 hex digits)");
  check(R"(|= "\U0011000")", R"(1:5: invalid escape \U in string: want 8 hex digits)");
  check(R"(|= "\18")", R"(1:5: invalid escape \1 in string: want 3 octal digits)");
  check(R"(|= "\0")", R"(1:5: invalid escape \0 in string: want 3 octal digits)");
  check(R"(|= "\400")", R"(1:5: invalid escape \400 in string: value above 255)");
  check(R"(|= "\uD800")", R"(1:5: invalid escape \uD800 in string: not a Unicode code point)");
  check(R"(|= "\udfff")", R"(1:5: invalid escape \udfff in string: not a Unicode code point)");
  check(R"(|= "\U00110000")", R"(1:5: invalid escape \U00110000 in string: not a Unicode code point)");
  // Positions count lines from 1 and columns in bytes (a tab is one).
  check("{app=\"web\",\n  env=prod}", R"(2:7: expected string after =, found "prod")");
  check("\t{app}", R"(1:6: expected =, !=, =~ or !~ after label name app, found "}")");
  check("|= `a\nbc` x", R"(2:5: unexpected "x" after selector)");
  check("{app=\"caf\xc3\xa9\"} x", R"(1:15: unexpected "x" after selector)");
  check("{\n\n}\n|=\n", "5:1: expected string after |=");
}

TEST(Logql, StringsUnescapeLikeGo) {
  auto check = [](const std::string& literal, const std::string& want) {
    SCOPED_TRACE(literal);
    auto s = ParseSelector("|= " + literal);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ASSERT_EQ(s->line_filters.size(), 1u);
    EXPECT_EQ(s->line_filters[0].needle(), want);
  };
  check(R"("plain")", "plain");
  check(R"("\n\t\r\\\"\'")", "\n\t\r\\\"'");
  check(R"("\a\b\f\v")", "\a\b\f\v");
  check(R"("\x41\x7a\xff")", "Az\xff");
  check(R"("\101\000\377")", std::string("A\0\xff", 3));
  check(R"("\u0041\u00e9\u20AC")", "A\xc3\xa9\xe2\x82\xac");
  check(R"("\U0001F600\U00000041")", "\xf0\x9f\x98\x80" "A");
  check(R"("\uFFFF\U0010FFFF")", "\xef\xbf\xbf\xf4\x8f\xbf\xbf");
  check(R"("\u07FF\u0080")", "\xdf\xbf\xc2\x80");
  check(R"("'`")", "'`");
  check("\"caf\xc3\xa9\"", "caf\xc3\xa9");
  check("\"tab\there\"", "tab\there");
  check(R"(`raw \n \x41 "q"`)", R"(raw \n \x41 "q")");
  check("`multi\nline`", "multi\nline");
  check("``", "");
}

TEST(Logql, OrAlternativesFollowLokiSemantics) {
  auto check = [](const std::string& query, const std::string& line, bool want) {
    SCOPED_TRACE(query + " on " + line);
    auto s = ParseSelector(query);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ASSERT_EQ(s->line_filters.size(), 1u);
    EXPECT_EQ(s->line_filters[0].Matches(line), want);
  };
  // |= contains a OR b.
  check(R"(|= "error" or "fatal")", "an error", true);
  check(R"(|= "error" or "fatal")", "fatal crash", true);
  check(R"(|= "error" or "fatal")", "all ok", false);
  check(R"(|= "a" or "")", "zzz", true);  // "" is in every line
  // != contains neither.
  check(R"(!= "debug" or "trace")", "debug line", false);
  check(R"(!= "debug" or "trace")", "a trace", false);
  check(R"(!= "debug" or "trace")", "info line", true);
  check(R"(!= "a" or "")", "zzz", false);
  // |~ matches either.
  check(R"(|~ "err(or)?\\b" or "^WARN")", "an err here", true);
  check(R"(|~ "err(or)?\\b" or "^WARN")", "WARN: x", true);
  check(R"(|~ "err(or)?\\b" or "^WARN")", "errand; WARN", false);
  // !~ matches neither.
  check(R"(!~ "5\\d\\d" or "timeout")", "code=503", false);
  check(R"(!~ "5\\d\\d" or "timeout")", "a timeout", false);
  check(R"(!~ "5\\d\\d" or "timeout")", "code=200", true);
  // Each regex alternative keeps its own flags and quoting.
  check(R"(|~ "(?i)err" or "WARN")", "ERR", true);
  check(R"(|~ "(?i)err" or "WARN")", "warn", false);
  check(R"(|~ "\\Qa.b" or "c")", "xa.by", true);
  check(R"(|~ "\\Qa.b" or "c")", "axb", false);
  check(R"(|~ "\\Qa.b" or "c")", "c", true);
  // Line regexes are unanchored; . matches a newline.
  check(R"(|~ "b.c")", "ab\ncd", true);
}

TEST(Logql, LineFilterMakeTakesAlternatives) {
  auto f = LineFilter::Make(LineFilterType::kContains, std::vector<std::string>{"a", "b"});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->needle(), "a");
  EXPECT_EQ(f->needles(), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(f->Matches("xb"));
  auto one = LineFilter::Make(LineFilterType::kNotContains, "a");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->needles(), std::vector<std::string>{"a"});
  auto none = LineFilter::Make(LineFilterType::kContains, std::vector<std::string>{});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Code::kInvalidArgument);
  auto bad = LineFilter::Make(LineFilterType::kRegex, std::vector<std::string>{"ok", "(x"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("\"(x\""), std::string::npos) << bad.status().message();
}

TEST(Logql, ChainedFiltersMustAllHoldAndMatchersSelectTheIntendedStreams) {
  auto s = ParseSelector(
      R"({app="web", env=~"prod|stage", zone!="eu"} |= "error" != "debug" |~ "code=5\\d\\d" or "panic")");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto matches = [&](const Labels& labels, std::string_view line) {
    for (const auto& m : s->matchers) {
      if (!m.Matches(labels)) return false;
    }
    for (const auto& f : s->line_filters) {
      if (!f.Matches(line)) return false;
    }
    return true;
  };
  struct Row {
    Labels labels;
    std::string line;
    bool want;
  };
  const Labels web_prod = {{"app", "web"}, {"env", "prod"}};
  const std::vector<Row> rows = {
      {web_prod, "error code=503", true},
      {web_prod, "error panic in handler", true},
      {{{"app", "web"}, {"env", "stage"}, {"zone", "us"}}, "error code=500", true},
      {web_prod, "error code=404", false},                              // regex fails
      {web_prod, "debug error code=503", false},                        // != fails
      {web_prod, "warning code=503", false},                            // |= fails
      {{{"app", "web"}, {"env", "production"}}, "error code=503", false},  // =~ is anchored
      {{{"app", "web"}, {"env", "prod"}, {"zone", "eu"}}, "error code=503", false},
      {{{"app", "api"}, {"env", "prod"}}, "error code=503", false},
      {{{"app", "web"}}, "error code=503", false},  // missing env is ""
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(LabelsToJson(r.labels) + " " + r.line);
    EXPECT_EQ(matches(r.labels, r.line), r.want);
  }
}

TEST(Logql, ErrorPositionReadsTheMessagePrefix) {
  auto check = [](const Status& st, std::pair<int, int> want) {
    SCOPED_TRACE(st.ToString());
    EXPECT_EQ(ErrorPosition(st), want);
  };
  check(ParseSelector(R"({app="api"} |= "a" x)").status(), {1, 20});
  check(ParseSelector("{\n  app}").status(), {2, 6});
  check(Status::InvalidArgument("3:7: x"), {3, 7});
  check(Status::InvalidArgument("123456789:1: x"), {123456789, 1});
  check(Status::OK(), {0, 0});
  check(Status::InvalidArgument("bad"), {0, 0});
  check(Status::InvalidArgument("1:2:x"), {0, 0});
  check(Status::InvalidArgument("1:2"), {0, 0});
  check(Status::InvalidArgument("0:1: x"), {0, 0});
  check(Status::InvalidArgument("1:0: x"), {0, 0});
  check(Status::InvalidArgument("1234567890:1: x"), {0, 0});
  check(Status::InvalidArgument(":1: x"), {0, 0});
  check(Status::InvalidArgument("-1:1: x"), {0, 0});
}

// The offset of a 1-based line:col in `in`, or npos if it is not inside it
// (one past the end counts as inside: errors at end of input point there).
size_t OffsetOf(const std::string& in, std::pair<int, int> lc) {
  size_t off = 0;
  for (int line = 1; line < lc.first; line++) {
    off = in.find('\n', off);
    if (off == std::string::npos) return std::string::npos;
    off++;
  }
  size_t line_end = std::min(in.find('\n', off), in.size());
  off += static_cast<size_t>(lc.second - 1);
  return off <= line_end ? off : std::string::npos;
}

TEST(Logql, RejectsGarbage) {
  const std::vector<std::string> seeds = {
      R"({app="web", env=~"prod|stage"} |= "error" != "debug" |~ "(?i)time.?out" !~ "x+")",
      R"({a!="b",c!~"d",} |= "x" or "y" or `z`)",
      "{\n\tapp=`w\\w+`\n}\n|= \"\\x41\\u00e9\\U0001F600\\101\"",
      R"(|= "a" or "b" != "c" or "d" |~ "e" or "f" !~ "g" or "h")",
      "{}",
  };
  static const char kAlphabet[] = "{}=!~|,\"`\\ \t\n\rorxaAz_09()[]*+?.^$-uUx7\xc3\xa9\x00\xff";
  const std::string alphabet(kAlphabet, sizeof kAlphabet - 1);  // keeps the NUL
  std::mt19937 rng(20240611);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  auto random_byte = [&]() { return rng() % 4 == 0 ? static_cast<char>(rng()) : alphabet[pick(alphabet.size())]; };
  int ok = 0, bad = 0;
  for (int iter = 0; iter < 20000; iter++) {
    std::string in;
    if (iter % 5 == 0) {
      size_t n = pick(40);
      for (size_t i = 0; i < n; i++) in.push_back(random_byte());
    } else {
      in = seeds[pick(seeds.size())];
      int edits = 1 + static_cast<int>(pick(4));
      for (int e = 0; e < edits; e++) {
        size_t at = in.empty() ? 0 : pick(in.size() + 1);
        switch (pick(5)) {
          case 0: in.insert(in.begin() + static_cast<long>(at), random_byte()); break;
          case 1:
            if (at < in.size()) in.erase(at, 1 + pick(3));
            break;
          case 2:
            if (at < in.size()) in[at] = random_byte();
            break;
          case 3: in.resize(at); break;
          case 4: {
            size_t from = pick(in.size() + 1);
            in.insert(at, in.substr(from, pick(12)));
            break;
          }
        }
      }
    }
    auto s = ParseSelector(in);
    if (s.ok()) {
      ok++;
      for (const auto& f : s->line_filters) (void)f.Matches(in);
      continue;
    }
    bad++;
    ASSERT_EQ(s.status().code(), Code::kInvalidArgument) << s.status().ToString();
    auto pos = ErrorPosition(s.status());
    ASSERT_NE(pos, std::make_pair(0, 0)) << s.status().message();
    ASSERT_NE(OffsetOf(in, pos), std::string::npos) << s.status().message() << " for input of " << in.size();
  }
  // Both outcomes must be well exercised, or the mutations are too timid/too wild.
  EXPECT_GT(ok, 1000);
  EXPECT_GT(bad, 1000);
}

// A filter with `or` alternatives must not let the engine skip a block that
// holds only the second alternative (the single-needle block prefilter).
TEST(Logql, OrFilterFindsEveryAlternativeThroughTheEngine) {
  std::string tmpl = ::testing::TempDir() + "/logqlXXXXXX";
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  storage::SegmentWriter w;
  std::vector<Entry> a_rows, b_rows;
  for (int64_t i = 0; i < 50; i++) {
    Entry e;
    e.ts = 1000 + i;
    e.line = "alpha request " + std::to_string(i);
    a_rows.push_back(e);
    e.line = "beta request " + std::to_string(i);
    b_rows.push_back(e);
  }
  ASSERT_TRUE(w.AddStream({{"app", "a"}}, a_rows).ok());
  ASSERT_TRUE(w.AddStream({{"app", "b"}}, b_rows).ok());
  storage::SegmentInfo info;
  std::string path = tmpl + "/f0.sqlite.zst";
  ASSERT_TRUE(w.WriteFile(io::DefaultFileSystem(), path, 1, &info).ok());
  storage::CatalogEntry ce;
  ce.id = 1;
  ce.path = path;
  ce.min_ts = info.min_ts;
  ce.max_ts = info.max_ts;
  ce.rows = info.rows;
  ce.label_keys = info.label_keys;

  struct OneFile : DataSource {
    std::vector<FileRef> files;
    void Snapshot(const Query&, TopK*, std::vector<FileRef>* out) override { *out = files; }
    std::vector<std::string> LabelKeys() override { return {}; }
  } src;
  src.files.push_back(std::make_shared<storage::FileHandle>(ce, path, nullptr));
  Engine engine(EngineOptions{}, &src);

  auto count = [&](const std::string& selector) -> size_t {
    SCOPED_TRACE(selector);
    auto s = ParseSelector(selector);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (!s.ok()) return 0;
    Query q;
    q.matchers = s->matchers;
    q.line_filters = s->line_filters;
    q.limit = kMaxLimit;
    auto r = engine.Run(q);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->hits.size() : 0;
  };
  EXPECT_EQ(count(R"(|= "alpha" or "beta")"), 100u);
  EXPECT_EQ(count(R"(|= "nowhere" or "beta")"), 50u);
  EXPECT_EQ(count(R"({app="b"} |= "alpha" or "beta")"), 50u);
  EXPECT_EQ(count(R"(|= "request" |= "nowhere" or "beta request 4")"), 11u);  // 4, 40..49
  EXPECT_EQ(count(R"(!= "alpha" or "beta")"), 0u);
  EXPECT_EQ(count(R"(|~ "^alpha request 1$" or "beta request [0-2]$")"), 4u);
}

}  // namespace
}  // namespace loge::query

namespace loge::query {
namespace {

// `| drop __error__` before any stage that can set an error clears nothing:
// it is left out, so the query keeps the fast paths of a bare selector
// (Grafana appends it to every logs-volume query).
TEST(Logql, LeadingDropOfErrorLabelsIsLeftOut) {
  auto s = ParseSelector(R"({app="web"} | drop __error__)");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->pipeline, nullptr);
  s = ParseSelector(R"({app="web"} |= "a" | drop __error__, __error_details__ |= "b")");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->pipeline, nullptr);
  EXPECT_EQ(s->line_filters.size(), 2u);
  // After a parser it clears the parser's errors: kept.
  s = ParseSelector(R"({app="web"} | json | drop __error__)");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_NE(s->pipeline, nullptr);
  EXPECT_EQ(s->pipeline->stages.size(), 2u);
  // Dropping another label is never left out.
  s = ParseSelector(R"({app="web"} | drop __error__, level)");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_NE(s->pipeline, nullptr);
  // In a metric query too.
  auto e = ParseExpr(R"(sum by (level, detected_level) (count_over_time({app="web"} | drop __error__ [1m])))");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
}

}  // namespace
}  // namespace loge::query
