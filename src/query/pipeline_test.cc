// Log pipeline stages, one table per stage: what each does to a line and its
// labels, with Loki's semantics (cross-checked by the conformance suite in
// tests/integration/test_loki_conformance.py).
#include <gtest/gtest.h>

#include "query/engine.h"
#include "query/logql.h"

namespace loge::query {
namespace {

const Labels kStream = {{"app", "api"}, {"env", "prod"}};

struct Out {
  bool kept = false;
  std::string line;
  std::string labels;  // every label, `k=v` joined by spaces, sorted
};

// Runs `{app="api"} <stages>` on one entry of kStream.
Out RunStages(const std::string& stages, const std::string& line, const std::string& metadata = "", int64_t ts = 0) {
  auto sel = ParseSelector("{app=\"api\"} " + stages);
  EXPECT_TRUE(sel.ok()) << stages << ": " << sel.status().ToString();
  Out out;
  if (!sel.ok()) return out;
  for (const auto& f : sel->line_filters) {
    if (!f.Matches(line)) return out;
  }
  LabelsBuilder lb;
  lb.Reset(&kStream, nullptr);
  lb.AddMetadata(metadata);
  PipelineLine pl{line, {}};
  if (sel->pipeline && !sel->pipeline->Process(ts, &pl, &lb)) return out;
  out.kept = true;
  out.line = std::string(pl.text);
  for (const auto& [k, v] : lb.All()) {
    if (!out.labels.empty()) out.labels += " ";
    out.labels += k + "=" + v;
  }
  return out;
}

// Checks the labels an entry ends with (beyond kStream's, which come first).
void ExpectLabels(const std::string& stages, const std::string& line, const std::string& want) {
  SCOPED_TRACE(stages + " on " + line);
  Out o = RunStages(stages, line);
  ASSERT_TRUE(o.kept);
  EXPECT_EQ(o.labels, want);
}

TEST(Pipeline, JsonFlattensObjectsSkipsArraysAndNullsAndSuffixesCollisions) {
  auto check = [](const std::string& stages, const std::string& line, const std::string& want) {
    ExpectLabels(stages, line, want);
  };
  check("| json", R"({"a":"x","n":1.5,"b":true,"o":{"k":"v","d":{"e":"f"}},"arr":[1],"z":null})",
        "a=x app=api b=true env=prod n=1.5 o_d_e=f o_k=v");
  check("| json", R"({"app":"other","http.status":200,"req-id":"r1","1x":"y"})",
        "_1x=y app=api app_extracted=other env=prod http_status=200 req_id=r1");
  check("| json", R"({"msg":"a \"q\" \\ \u00e9"})", "app=api env=prod msg=a \"q\" \\ \xc3\xa9");
  check(R"(| json s="items[0].sku", q="items[1].qty", h="[\"http.status\"]", miss="nope")",
        R"({"items":[{"sku":"s1"},{"qty":4}],"http.status":201})", "app=api env=prod h=201 miss= q=4 s=s1");
  check("| json o=\"o\"", R"({"o":{"k":1}})", "app=api env=prod o={\"k\":1}");
}

TEST(Pipeline, JsonErrorsAreLabelledAsLokiLabelsThem) {
  ExpectLabels("| json", "plain text",
               "__error__=JSONParserErr __error_details__=Value looks like object, but can't find closing '}' symbol "
               "app=api env=prod");
  ExpectLabels("| json", R"({"level":"info","msg":"trunc)",
               "__error__=JSONParserErr __error_details__=Value is string, but can't find closing '\"' symbol "
               "app=api env=prod level=info");
  ExpectLabels("| json | __error__=\"\"", R"({"a":"b"})", "a=b app=api env=prod");
  EXPECT_FALSE(RunStages("| json | __error__=\"\"", "not json").kept);
  ExpectLabels("| json | drop __error__, __error_details__", "x", "app=api env=prod");
  ExpectLabels("| unpack", "level=x", "__error__=JSONParserErr __error_details__=expecting json object(6), but it is not "
                                      "app=api env=prod");
}

TEST(Pipeline, UnpackReplacesTheLineOnlyForPackedEntries) {
  Out o = RunStages("| unpack", R"({"_entry":"the line","pod":"p1"})");
  EXPECT_EQ(o.line, "the line");
  EXPECT_EQ(o.labels, "app=api env=prod pod=p1");
  o = RunStages("| unpack", R"({"pod":"p1"})");
  EXPECT_EQ(o.line, R"({"pod":"p1"})");
  EXPECT_EQ(o.labels, "app=api env=prod");
}

TEST(Pipeline, LogfmtFollowsLokisDecoder) {
  auto check = [](const std::string& stages, const std::string& line, const std::string& want) {
    ExpectLabels(stages, line, want);
  };
  check("| logfmt", R"(level=info msg="a \"b\"" empty= n=1)", "app=api env=prod level=info msg=a \"b\" n=1");
  check("| logfmt --keep-empty", "a=1 empty=", "a=1 app=api empty= env=prod");
  check("| logfmt", "a=1 =novalue b=2", "a=1 app=api b=2 env=prod");
  check("| logfmt --strict", "a=1 =novalue b=2",
        "__error__=LogfmtParserErr __error_details__=logfmt syntax error at pos 5 : unexpected '=' a=1 app=api env=prod");
  check("| logfmt --strict", R"(a=1 msg="unterminated)",
        "__error__=LogfmtParserErr __error_details__=logfmt syntax error at pos 22 : unterminated quoted value a=1 "
        "app=api env=prod");
  check("| logfmt", "app=x", "app=api app_extracted=x env=prod");
  check(R"(| logfmt st="status", d)", "status=200 d=5 other=1", "app=api d=5 env=prod st=200");
  check(R"(| logfmt st="status")", "other=1", "app=api env=prod st=");
}

TEST(Pipeline, RegexpAndPatternExtractNamedCaptures) {
  ExpectLabels(R"q(| regexp "code=(?P<code>\\d+) (?P<rest>.*)")q", "x code=503 slow", "app=api code=503 env=prod rest=slow");
  ExpectLabels(R"q(| regexp "(?P<a>nomatch)")q", "x", "app=api env=prod");
  ExpectLabels("| pattern `<ip> - <_> [<ts>] \"<method> <path> <_>\" <status>`",
               R"(10.0.0.1 - - [01/Jan] "GET /x HTTP/1.1" 200)",
               "app=api env=prod ip=10.0.0.1 method=GET path=/x status=200 ts=01/Jan");
  ExpectLabels("| pattern `ERROR <what> code=<code>`", "INFO x", "app=api env=prod");
}

TEST(Pipeline, LabelFiltersCompareStringsNumbersDurationsBytesAndAddresses) {
  auto check = [](const std::string& filter, const std::string& line, bool want) {
    SCOPED_TRACE(filter + " on " + line);
    EXPECT_EQ(RunStages("| logfmt | " + filter, line).kept, want);
  };
  check("status >= 500", "status=503", true);
  check("status >= 500", "status=404", false);
  check("status == 404", "status=404", true);
  check("status = 404", "status=404.0", true);
  check("status != 404", "", false);  // a missing label fails a numeric filter
  check("latency > 1.9", "latency=1.95", true);
  check("latency > -1", "latency=0", true);
  check("duration > 1s", "duration=1.5s", true);
  check("duration <= 20ms", "duration=250us", true);
  check("duration >= 250us, duration < 300us", "duration=260us", true);
  check("size >= 45KiB", "size=46.1KiB", true);
  check("size > 10KB", "size=9000B", false);
  check("user=~\"u1.*\", status < 300", "user=u12 status=200", true);
  check("user=~\"u1.*\" status < 300", "user=u12 status=400", false);
  check("(status=500 or status=503) and path=\"/x\"", "status=503 path=/x", true);
  check("(status=500 or status=503) and path=\"/x\"", "status=404 path=/x", false);
  check("status=500 or path=\"/x\"", "status=1 path=/x", true);
  check("ip = ip(\"10.0.2.0/24\")", "ip=10.0.2.7", true);
  check("ip = ip(\"10.0.2.0/24\")", "ip=10.0.3.7", false);
  check("ip != ip(\"10.0.0.0-10.0.1.255\")", "ip=10.0.1.9", false);
  check("ip = ip(\"::1\")", "ip=::1", true);
  check("missing=\"\"", "a=1", true);
  // A value that does not parse keeps the entry and says why.
  Out o = RunStages("| logfmt | status > 5", "status=abc");
  EXPECT_TRUE(o.kept);
  EXPECT_NE(o.labels.find("__error__=LabelFilterErr"), std::string::npos) << o.labels;
}

TEST(Pipeline, IpAndPatternLineFilters) {
  EXPECT_TRUE(RunStages(R"(|= ip("192.168.1.0/24"))", "from 192.168.1.7 port 22").kept);
  EXPECT_FALSE(RunStages(R"(|= ip("192.168.1.0/24"))", "from 192.168.2.7 port 22").kept);
  EXPECT_TRUE(RunStages(R"(!= ip("192.168.1.0/24"))", "from 192.168.2.7").kept);
  EXPECT_TRUE(RunStages(R"(|> "<_> error <_>")", "an error here").kept);
  EXPECT_FALSE(RunStages(R"(|> "<_> error <_>")", "all fine").kept);
  EXPECT_TRUE(RunStages(R"(!> "<_> error <_>")", "all fine").kept);
}

TEST(Pipeline, LineFormatRunsLokisTemplateFunctions) {
  auto check = [](const std::string& tmpl, const std::string& line, const std::string& want) {
    SCOPED_TRACE(tmpl);
    Out o = RunStages("| logfmt | line_format `" + tmpl + "`", line, "", 1767225600123000000);
    ASSERT_TRUE(o.kept);
    EXPECT_EQ(o.line, want);
  };
  const std::string l = R"(level=info method=GET status=503 path=/api/users msg="payment ok" bytes=12345 d=1.5s id=r-12x)";
  check("{{.level}} {{.msg | ToUpper}}", l, "info PAYMENT OK");
  check("{{ .missing }}|", l, "|");
  check(R"({{printf "%-6s|%5d" .method (int .status)}})", l, "GET   |  503");
  check(R"({{printf "%q" .msg}})", l, R"("payment ok")");  // Go's quoting, shared with LogQL's own
  check(R"({{ if eq .status "200" }}ok{{ else if ge (int .status) 500 }}fail{{ else }}other{{ end }})", l, "fail");
  check(R"({{ trunc 3 .msg }}|{{ replace "payment" "PAY" .msg }}|{{ lower "AB" }}|{{ upper .level }})", l,
        "pay|PAY ok|ab|INFO");
  check(R"({{ div (int .bytes) 1000 }} {{ mul (int .status) 2 }} {{ add 1 2 }} {{ sub 10 3 }} {{ mod 7 3 }})", l,
        "12 1006 3 7 1");
  check(R"({{ addf 1.5 2 }} {{ divf 1 4 }} {{ mulf 2 0.25 }} {{ float64 "2.5" }})", l, "3.5 0.25 0.5 2.5");
  check(R"({{ trimPrefix "/api/" .path }} {{ contains "users" .path }} {{ hasPrefix "/api" .path }} {{ hasSuffix "x" .path }})",
        l, "users true true false");
  check(R"q({{ regexReplaceAll "[0-9]+" .id "N" }} {{ regexReplaceAllLiteral "r-(\\d+)" .id "$1" }})q", l, "r-Nx $1x");
  check(R"({{ __line__ | len }})", "a=1", "3");
  check(R"({{ __timestamp__ | unixEpoch }} {{ __timestamp__ | unixEpochMillis }})", l, "1767225600 1767225600123");
  check(R"({{ __timestamp__ | date "2006-01-02T15:04:05.000Z07:00" }})", l, "2026-01-01T00:00:00.123Z");
  check(R"({{ .d | duration | printf "%.3f" }} {{ .nope | default "none" }} {{ default "x" .level }})", l,
        "1.500 none info");
  check(R"({{ alignLeft 5 .level }}|{{ alignRight 6 .level }}|{{ repeat 2 "ab" }}|{{ title "hello world" }})", l,
        "info |  info|abab|Hello World");
  check(R"({{ substr 1 3 .level }} {{ trim "  x " }} {{ urlencode "a b&c" }} {{ b64enc "hi" }} {{ b64dec "aGk" }})", l,
        "nf x a+b%26c aGk= hi");
  check(R"({{ if and (eq .method "GET") (ne .level "debug") }}yes{{ end }} {{ not true }} {{ or "" "z" }})", l,
        "yes false z");
  check(R"({{- .level -}} - {{ .method }})", l, "info- GET");
  check(R"({{ bytes "2KiB" }} {{ count "a" "banana" }} {{ ToLower "X" }} {{ TrimSpace " y " }})", l, "2048 3 x y");
}

TEST(Pipeline, TemplateErrorsNameTheFunctionOrLabelTheEntry) {
  auto sel = ParseSelector("{a=\"b\"} | line_format `{{ atoi .x }}`");
  ASSERT_FALSE(sel.ok());
  EXPECT_NE(sel.status().message().find("function \"atoi\" not defined"), std::string::npos);
  // An error while running keeps the line and sets TemplateFormatErr.
  Out o = RunStages(R"(| logfmt | line_format "{{ div 1 (int .zero) }}")", "zero=0");
  ASSERT_TRUE(o.kept);
  EXPECT_EQ(o.line, "zero=0");
  EXPECT_NE(o.labels.find("__error__=TemplateFormatErr"), std::string::npos) << o.labels;
}

// Found by logql_fuzz: out-of-range numbers were thrown by std::stold and
// huge widths or scale factors overflowed; they must be answers, not crashes.
TEST(Pipeline, OutOfRangeNumbersAndWidthsAreBoundedNotFatal) {
  for (const char* q : {"{a=\"b\"} | x > 1e999999", "{a=\"b\"} | x > 99999999999999999999999999",
                        "{a=\"b\"} | x > 99999999999999999999h", "{a=\"b\"} | x > 9999999999999999999999PB"}) {
    SCOPED_TRACE(q);
    auto sel = ParseSelector(q);  // either parses (clamped) or is an error
    if (!sel.ok()) {
      EXPECT_FALSE(sel.status().message().empty());
    }
  }
  Out o = RunStages(R"(| line_format "{{ printf \"%999999999d\" 1 | len }}")", "x");
  ASSERT_TRUE(o.kept);
  EXPECT_LE(o.line.size(), 8u) << o.line;
  o = RunStages(R"(| logfmt | line_format "{{ unixToTime .t }}{{ indent 999999999 \"a\" | len }}")",
                "t=99999999999999999999");
  ASSERT_TRUE(o.kept);
}

TEST(Pipeline, LabelFormatRenamesAndTemplates) {
  ExpectLabels("| logfmt | label_format code=status, status=`{{ .method }}`", "status=200 method=GET",
               "app=api code=200 env=prod method=GET status=GET");
  ExpectLabels("| label_format env=`{{ .env }}-x`", "", "app=api env=prod-x");
  ExpectLabels("| logfmt | label_format lvl=`{{ ToUpper .level }}` | keep lvl", "level=info", "lvl=INFO");
}

TEST(Pipeline, DropAndKeepByNameOrValue) {
  ExpectLabels("| logfmt | drop a, c", "a=1 b=2 c=3", "app=api b=2 env=prod");
  ExpectLabels("| logfmt | drop a=\"1\", b=\"x\"", "a=1 b=2", "app=api b=2 env=prod");
  ExpectLabels("| logfmt | drop a=~\"1|2\"", "a=2 b=2", "app=api b=2 env=prod");
  ExpectLabels("| drop env", "", "app=api");
  ExpectLabels("| logfmt | keep a, app", "a=1 b=2", "a=1 app=api");
  ExpectLabels("| logfmt | keep b=\"2\", a=\"9\"", "a=1 b=2", "b=2");
}

TEST(Pipeline, DecolorizeStripsAnsiSequences) {
  Out o = RunStages("| decolorize", "\x1b[32mINFO\x1b[0m worker \x1b[1mdone\x1b[0m");
  EXPECT_EQ(o.line, "INFO worker done");
  o = RunStages("| decolorize | logfmt", "\x1b[32mINFO\x1b[0m job=\x1b[1mx\x1b[0m");
  EXPECT_EQ(o.labels, "app=api env=prod job=x");
}

TEST(Pipeline, StructuredMetadataTakesPartInFiltersAndCollidesLikeLoki) {
  Out o = RunStages("| trace_id=\"t1\"", "x", R"({"trace_id":"t1","app":"meta"})");
  ASSERT_TRUE(o.kept);
  EXPECT_EQ(o.labels, "app=api app_extracted=meta env=prod trace_id=t1");
  EXPECT_FALSE(RunStages("| trace_id=\"t2\"", "x", R"({"trace_id":"t1"})").kept);
  // A parsed label beats metadata of the same name.
  o = RunStages("| logfmt", "trace_id=parsed", R"({"trace_id":"t1"})");
  EXPECT_EQ(o.labels, "app=api env=prod trace_id=t1 trace_id_extracted=parsed");
}

TEST(Pipeline, LineFiltersAfterALineFormatSeeTheNewLine) {
  auto sel = ParseSelector(R"({a="b"} |= "x" | line_format "{{.y}}" |= "z")");
  ASSERT_TRUE(sel.ok());
  EXPECT_EQ(sel->line_filters.size(), 1u);  // only the first runs on stored text
  ASSERT_NE(sel->pipeline, nullptr);
  EXPECT_EQ(sel->pipeline->stages.size(), 2u);
  EXPECT_TRUE(RunStages("| logfmt | line_format \"{{.y}}\" |= \"z\"", "y=z").kept);
  EXPECT_FALSE(RunStages("| logfmt | line_format \"{{.y}}\" |= \"z\"", "y=w z").kept);
}

TEST(Pipeline, ParserHintsStopAtTheRequiredLabels) {
  ParserHints h;
  h.required = {"level"};
  LabelsBuilder lb;
  lb.Reset(&kStream, &h);
  auto sel = ParseSelector("{a=\"b\"} | json");
  ASSERT_TRUE(sel.ok());
  PipelineLine line{R"({"level":"info","msg":"truncated)", {}};
  ASSERT_TRUE(sel->pipeline->Process(0, &line, &lb));
  // The level was found before the malformed part: no error, nothing else.
  EXPECT_FALSE(lb.HasErr());
  EXPECT_EQ(lb.Get("level").value_or(""), "info");
  EXPECT_FALSE(lb.Get("msg").has_value());
}

}  // namespace
}  // namespace loge::query
