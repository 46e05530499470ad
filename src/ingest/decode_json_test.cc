#include "ingest/decode_json.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace loge::ingest {
namespace {

Payload MustDecode(std::string_view body, const Limits& limits = {}) {
  Payload p;
  Status st = DecodeJsonPush(body, limits, &p);
  EXPECT_TRUE(st.ok()) << st.ToString() << "\nbody: " << body;
  return p;
}

TEST(DecodeJson, DecodesOneStream) {
  Payload p = MustDecode(
      R"({"streams":[{"stream":{"app":"web","env":"prod"},)"
      R"("values":[["1700000000000000005","hello"],["-3","world"]]}]})");
  ASSERT_EQ(p.streams.size(), 1u);
  const Stream& s = p.streams[0];
  EXPECT_EQ(s.labels, (Labels{{"app", "web"}, {"env", "prod"}}));
  ASSERT_EQ(s.entries.size(), 2u);
  EXPECT_EQ(s.entries[0].ts, 1700000000000000005);
  EXPECT_EQ(s.entries[0].line, "hello");
  EXPECT_EQ(s.entries[0].metadata, "");
  EXPECT_EQ(s.entries[1].ts, -3);
  EXPECT_EQ(s.entries[1].line, "world");
}

TEST(DecodeJson, DecodesManyStreamsInBodyOrderWithSortedLabels) {
  Payload p = MustDecode(
      R"({"streams":[)"
      R"({"stream":{"z":"1","a":"2"},"values":[["1","a"]]},)"
      R"({"values":[["2","b"],["3","c"]],"stream":{"app":"db"}},)"
      R"({"stream":{"app":"web"},"values":[["4","d"]]}]})");
  ASSERT_EQ(p.streams.size(), 3u);
  EXPECT_EQ(p.streams[0].labels, (Labels{{"a", "2"}, {"z", "1"}}));
  EXPECT_EQ(p.streams[1].labels, (Labels{{"app", "db"}}));
  ASSERT_EQ(p.streams[1].entries.size(), 2u);
  EXPECT_EQ(p.streams[1].entries[1].line, "c");
  EXPECT_EQ(p.streams[2].entries[0].ts, 4);
  EXPECT_EQ(p.Lines(), 4u);
}

TEST(DecodeJson, UnescapesLinesAndKeepsUnicode) {
  auto check = [](const std::string& json_line, const std::string& want) {
    SCOPED_TRACE(json_line);
    Payload p = MustDecode(R"({"streams":[{"stream":{"app":"x"},"values":[["1",)" + json_line + "]]}]}");
    ASSERT_EQ(p.Lines(), 1u);
    EXPECT_EQ(p.streams[0].entries[0].line, want);
  };
  check(R"("")", "");
  check(R"("a\"b\\c\/d")", "a\"b\\c/d");
  check(R"("tab\there\nnew\r\b\f")", "tab\there\nnew\r\b\f");
  check(R"("\u00e9\u4e2d")", "\xc3\xa9\xe4\xb8\xad");
  check(R"("\ud83d\ude00")", "\xf0\x9f\x98\x80");  // surrogate pair -> U+1F600
  check("\"caf\xc3\xa9 \xf0\x9f\x98\x80\"", "caf\xc3\xa9 \xf0\x9f\x98\x80");
  check(R"("nul\u0000byte")", std::string("nul\0byte", 8));
}

TEST(DecodeJson, AcceptsLabelValuesWithEscapesAndEmptyValues) {
  Payload p = MustDecode(R"({"streams":[{"stream":{"path":"C:\\x \"q\"","empty":""},"values":[["1","l"]]}]})");
  EXPECT_EQ(p.streams[0].labels, (Labels{{"empty", ""}, {"path", "C:\\x \"q\""}}));
}

TEST(DecodeJson, KeepsMetadataAsCompactJsonInInputOrder) {
  auto check = [](const std::string& json_meta, const std::string& want) {
    SCOPED_TRACE(json_meta);
    Payload p =
        MustDecode(R"({"streams":[{"stream":{"app":"x"},"values":[["1","line",)" + json_meta + "]]}]}");
    ASSERT_EQ(p.Lines(), 1u);
    EXPECT_EQ(p.streams[0].entries[0].line, "line");
    EXPECT_EQ(p.streams[0].entries[0].metadata, want);
  };
  check(R"({"trace_id":"abc"})", R"({"trace_id":"abc"})");
  check(R"( { "z" : "1" ,  "a" : "2" } )", R"({"z":"1","a":"2"})");
  check(R"({"msg":"say \"hi\"\n","k-1":"\u00e9"})", "{\"msg\":\"say \\\"hi\\\"\\n\",\"k-1\":\"\xc3\xa9\"}");
  check("{}", "");
}

TEST(DecodeJson, IgnoresUnknownKeys) {
  Payload p = MustDecode(
      R"({"extra":{"deep":[1,2,{"x":null}]},"streams":[{"stream":{"app":"x"},"other":true,)"
      R"("values":[["1","a"]],"more":[1]}],"format":"loki"})");
  ASSERT_EQ(p.Lines(), 1u);
  EXPECT_EQ(p.streams[0].entries[0].line, "a");
}

TEST(DecodeJson, AcceptsLineAtTheLimit) {
  Limits limits;
  limits.max_line_bytes = 10;
  Payload p = MustDecode(R"({"streams":[{"stream":{"app":"x"},"values":[["1","0123456789"]]}]})", limits);
  EXPECT_EQ(p.streams[0].entries[0].line.size(), 10u);
}

TEST(DecodeJson, ClearsTheOutputBeforeDecoding) {
  Payload p;
  p.streams.emplace_back();
  ASSERT_TRUE(DecodeJsonPush(R"({"streams":[{"stream":{"a":"b"},"values":[["1","x"]]}]})", {}, &p).ok());
  EXPECT_EQ(p.streams.size(), 1u);
  EXPECT_EQ(p.streams[0].labels, (Labels{{"a", "b"}}));
}

TEST(DecodeJson, RejectsBadBodiesNamingTheField) {
  auto check = [](const std::string& body, const std::string& want) {
    SCOPED_TRACE(body);
    Payload p;
    Status st = DecodeJsonPush(body, {}, &p);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << st.ToString();
    EXPECT_NE(st.message().find(want), std::string::npos) << "message: " << st.message() << "\nwant: " << want;
  };
  const std::string v1 = R"("values":[["1","a"]])";
  const std::string s0 = R"({"stream":{"app":"x"},)" + v1 + "}";
  auto with = [&](const std::string& second_stream) {
    return R"({"streams":[)" + s0 + "," + second_stream + "]}";
  };
  auto with_values = [](const std::string& values) {
    return R"({"streams":[{"stream":{"app":"x"},"values":[)" + values + "]}]}";
  };

  // Not JSON, or not the right top-level shape.
  check("", "malformed JSON: ");
  check("{", "malformed JSON: ");
  check(R"({"streams":[)" + s0 + ",]}", "malformed JSON: ");
  // Invalid UTF-8 outside a string stays a syntax error (inside one it is
  // replaced: Validate.InvalidUtf8BecomesReplacementCharacters).
  check("{\"streams\":\xff[]}", "malformed JSON: ");
  check(std::string(5000, '[') + std::string(5000, ']'), "malformed JSON: ");
  check("[]", "body: want a JSON object");
  check("\"streams\"", "body: want a JSON object");
  check("{}", "streams: missing or empty");
  check(R"({"streams":[]})", "streams: missing or empty");
  check(R"({"streams":{}})", "streams: want an array");
  check(R"({"streams":null})", "streams: want an array");

  // Streams and labels.
  check(with("[]"), "streams[1]: want an object");
  check(with(R"({"values":[["1","a"]]})"), "streams[1].stream: no labels");
  check(with(R"({"stream":{},"values":[["1","a"]]})"), "streams[1].stream: no labels");
  check(with(R"({"stream":"{app=\"x\"}","values":[["1","a"]]})"), "streams[1].stream: want an object");
  check(with(R"({"stream":{"app":1},"values":[["1","a"]]})"),
        "streams[1].stream.app: label value must be a string");
  check(with(R"({"stream":{"app":null},"values":[["1","a"]]})"),
        "streams[1].stream.app: label value must be a string");
  check(with(R"({"stream":{"a b":["x"]},"values":[["1","a"]]})"),
        R"(streams[1].stream["a b"]: label value must be a string)");
  check(with(R"({"stream":{"9x":"v"},"values":[["1","a"]]})"), R"(streams[1].stream: invalid label name "9x")");
  check(with(R"({"stream":{"":"v"},"values":[["1","a"]]})"), R"(streams[1].stream: invalid label name "")");
  check(with(R"({"stream":{"a.b":"v"},"values":[["1","a"]]})"), R"(streams[1].stream: invalid label name "a.b")");
  check(with(R"({"stream":{"app":"a","app":"b"},"values":[["1","a"]]})"),
        R"(streams[1].stream: duplicate label name "app")");

  // Values.
  check(with(R"({"stream":{"app":"x"}})"), "streams[1].values: missing or empty");
  check(with(R"({"stream":{"app":"x"},"values":[]})"), "streams[1].values: missing or empty");
  check(with(R"({"stream":{"app":"x"},"values":{}})"), "streams[1].values: want an array");
  check(with_values(R"(["1","a"],["2","b"],["3","c"],["4"])"), "streams[0].values[3]: want a [timestamp, line] pair");
  check(with_values(R"(["1","a"],[])"), "streams[0].values[1]: want a [timestamp, line] pair");
  check(with_values(R"("1")"), "streams[0].values[0]: want a [timestamp, line] pair");
  check(with_values(R"({"ts":"1","line":"a"})"), "streams[0].values[0]: want a [timestamp, line] pair");
  check(with_values(R"(["1","a",{},{}])"), "streams[0].values[0]: want a [timestamp, line] pair");
  check(with_values(R"(["1","a"],["2","b"],["3","c"],["12x","d"])"),
        R"(streams[0].values[3][0]: timestamp "12x" is not a decimal int64 of nanoseconds)");
  check(with_values(R"(["","a"])"), R"(streams[0].values[0][0]: timestamp "" is not a decimal)");
  check(with_values(R"([" 1","a"])"), R"(streams[0].values[0][0]: timestamp " 1" is not a decimal)");
  check(with_values(R"(["1.5","a"])"), R"(streams[0].values[0][0]: timestamp "1.5" is not a decimal)");
  check(with_values(R"(["99999999999999999999","a"])"),
        R"(streams[0].values[0][0]: timestamp "99999999999999999999" is not a decimal)");
  check(with_values("[\"" + std::string(1000, '7') + "x\",\"a\"]"), "...\" is not a decimal");
  check(with_values(R"([1700000000000000000,"a"])"),
        "streams[0].values[0][0]: timestamp must be a string of unix nanoseconds, got number");
  check(with_values(R"([null,"a"])"), "streams[0].values[0][0]: timestamp must be a string");
  check(with_values(R"(["1",5])"), "streams[0].values[0][1]: line must be a string, got number");
  check(with_values(R"(["1",null])"), "streams[0].values[0][1]: line must be a string, got null");
  check(with_values(R"(["1",{"msg":"a"}])"), "streams[0].values[0][1]: line must be a string, got object");
  check(with_values(R"(["1","a"],["2","b",["x"]])"),
        "streams[0].values[1][2]: structured metadata must be an object of strings, got array");
  check(with_values(R"(["1","a","trace=abc"])"),
        "streams[0].values[0][2]: structured metadata must be an object of strings, got string");
  check(with_values(R"(["1","a",{"trace_id":1}])"),
        "streams[0].values[0][2].trace_id: structured metadata value must be a string, got number");
  check(with_values(R"(["1","a",{"nested":{"a":"b"}}])"),
        "streams[0].values[0][2].nested: structured metadata value must be a string, got object");
}

TEST(DecodeJson, RejectsLineOverTheLimitNamingIt) {
  const std::string big(300000, 'x');
  Payload p;
  Status st = DecodeJsonPush(
      R"({"streams":[{"stream":{"app":"x"},"values":[["1","a"],["2","b"],["3",")" + big + R"("]]}]})", {}, &p);
  ASSERT_EQ(st.code(), Code::kInvalidArgument) << st.ToString();
  EXPECT_EQ(st.message(), "streams[0].values[2][1]: line of 300000 bytes exceeds the maximum of 262144");
}

TEST(DecodeJson, ReusesThreadLocalBuffersAcrossBodySizes) {
  // Small, large (over the retained size, so the buffers are freed), small
  // again, and an error in between: every call sees only its own body.
  const std::string small = R"({"streams":[{"stream":{"app":"x"},"values":[["1","small"]]}]})";
  std::string large = R"({"streams":[{"stream":{"app":"y"},"values":[)";
  for (int i = 0; i < 50000; i++) {
    if (i > 0) large += ",";
    large += R"([")" + std::to_string(i) + R"(","line number )" + std::to_string(i) + R"( padded out a bit"])";
  }
  large += "]}]}";
  ASSERT_GT(large.size(), 2u << 20);

  for (int round = 0; round < 2; round++) {
    SCOPED_TRACE(round);
    EXPECT_EQ(MustDecode(small).streams[0].entries[0].line, "small");
    Payload p = MustDecode(large);
    ASSERT_EQ(p.Lines(), 50000u);
    EXPECT_EQ(p.streams[0].entries[49999].line, "line number 49999 padded out a bit");
    Payload bad;
    EXPECT_FALSE(DecodeJsonPush(small.substr(0, small.size() - 1), {}, &bad).ok());
    EXPECT_EQ(MustDecode(small).streams[0].labels, (Labels{{"app", "x"}}));
  }
}

TEST(DecodeJson, DecodesConcurrentlyOnManyThreads) {
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([t, &failures] {
      for (int i = 0; i < 200; i++) {
        const std::string line = std::to_string(t) + "-" + std::to_string(i);
        const std::string body = R"({"streams":[{"stream":{"app":"x"},"values":[[")" + std::to_string(i) +
                                 R"(",")" + line + R"("]]}]})";
        Payload p;
        Status st = DecodeJsonPush(body, {}, &p);
        if (!st.ok() || p.streams[0].entries[0].line != line || p.streams[0].entries[0].ts != i) {
          failures[t]++;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
}

TEST(DecodeJson, RejectsGarbage) {
  const std::vector<std::string> seeds = {
      R"({"streams":[{"stream":{"app":"web","env":"prod"},"values":[["1700000000000000005","hello \u00e9"],)"
      R"(["1700000000000000006","",{"trace_id":"abc","span":"x\"y"}]]},{"stream":{"a":"b"},"values":[["-1","z"]]}]})",
      R"({"x":[1,2.5,true,null],"streams":[{"values":[["1","a\nb"]],"stream":{"k":"v"}}]})",
  };
  int seen = 0;
  auto check = [&seen](const std::string& body) {
    Payload p;
    Status st = DecodeJsonPush(body, {}, &p);
    seen++;
    if (!st.ok() && st.code() != Code::kInvalidArgument) {
      ADD_FAILURE() << st.ToString() << "\nbody: " << body;
    }
  };

  std::mt19937 rng(20240611);
  auto rand_below = [&rng](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  static constexpr char kInteresting[] = "{}[]\",:\\0123456789-eEtrufalsn \x00\x7f\x80\xc3\xa9\xff";
  const std::string interesting(kInteresting, sizeof(kInteresting) - 1);
  auto rand_byte = [&]() -> char {
    if (rand_below(2) == 0) return interesting[rand_below(interesting.size())];
    return static_cast<char>(rand_below(256));
  };

  for (const std::string& seed : seeds) {
    for (size_t n = 0; n <= seed.size(); n++) check(seed.substr(0, n));
    for (int i = 0; i < 800; i++) {
      std::string body = seed;
      const int edits = 1 + static_cast<int>(rand_below(4));
      for (int e = 0; e < edits && !body.empty(); e++) {
        const size_t at = rand_below(body.size());
        switch (rand_below(4)) {
          case 0: body[at] = static_cast<char>(body[at] ^ (1 << rand_below(8))); break;
          case 1: body.erase(at, 1 + rand_below(4)); break;
          case 2: body.insert(at, 1, rand_byte()); break;
          case 3: body.insert(at, body.substr(rand_below(body.size()), rand_below(16))); break;
        }
      }
      check(body);
    }
  }
  for (int i = 0; i < 200; i++) {
    std::string body(rand_below(128), '\0');
    for (char& c : body) c = rand_byte();
    check(body);
  }
  check(std::string(100000, '['));
  check(std::string(100000, '{'));
  check(R"({"streams":)" + std::string(3000, '[') + std::string(3000, ']') + "}");
  EXPECT_GT(seen, 2000);
}

TEST(Validate, SortsLabelsAndAcceptsAWellFormedPayload) {
  Payload p;
  Stream& s = p.streams.emplace_back();
  s.labels = {{"b", "2"}, {"_a", "1"}, {"A9", "3"}};
  s.entries.push_back(Entry{.ts = 1, .line = "x", .metadata = ""});
  ASSERT_TRUE(ValidatePayload(&p, {}).ok());
  EXPECT_EQ(p.streams[0].labels, (Labels{{"A9", "3"}, {"_a", "1"}, {"b", "2"}}));
}

TEST(Validate, RejectsNamingTheStreamIndex) {
  auto good_stream = [] {
    Stream s;
    s.labels = {{"app", "x"}};
    s.entries.push_back(Entry{.ts = 1, .line = "ok", .metadata = ""});
    return s;
  };
  auto check = [&](const std::function<void(Stream*)>& spoil, const std::string& want) {
    SCOPED_TRACE(want);
    Payload p;
    p.streams.push_back(good_stream());
    p.streams.push_back(good_stream());
    p.streams.push_back(good_stream());
    spoil(&p.streams[2]);
    Limits limits;
    limits.max_line_bytes = 4;
    Status st = ValidatePayload(&p, limits);
    ASSERT_EQ(st.code(), Code::kInvalidArgument) << st.ToString();
    EXPECT_NE(st.message().find(want), std::string::npos) << st.message();
  };
  check([](Stream* s) { s->labels.clear(); }, "streams[2].stream: no labels");
  check([](Stream* s) { s->labels.emplace_back("9x", "v"); }, R"(streams[2].stream: invalid label name "9x")");
  check([](Stream* s) { s->labels.emplace_back("a-b", "v"); }, R"(streams[2].stream: invalid label name "a-b")");
  check([](Stream* s) { s->labels.emplace_back(std::string(500, 'x') + "\n", "v"); },
        R"(streams[2].stream: invalid label name ")");
  check([](Stream* s) { s->labels.emplace_back("app", "y"); }, R"(streams[2].stream: duplicate label name "app")");
  check([](Stream* s) { s->entries.clear(); }, "streams[2].values: missing or empty");
  check([](Stream* s) { s->entries.push_back(Entry{.ts = 2, .line = "12345", .metadata = ""}); },
        "streams[2].values[1][1]: line of 5 bytes exceeds the maximum of 4");

  Payload empty;
  Status st = ValidatePayload(&empty, {});
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "streams: missing or empty");
}

}  // namespace
}  // namespace loge::ingest

namespace loge::ingest {
namespace {

Stream OneStream(Labels labels, std::string line = "ok") {
  Stream s;
  s.labels = std::move(labels);
  s.entries.push_back(Entry{.ts = 1, .line = std::move(line), .metadata = ""});
  return s;
}

TEST(Validate, LabelLimitsAreLokisAndNameTheLimitAndTheStream) {
  Limits limits;  // Loki's defaults
  EXPECT_EQ(limits.max_label_name_bytes, 1024u);
  EXPECT_EQ(limits.max_label_value_bytes, 2048u);
  EXPECT_EQ(limits.max_labels_per_stream, 15u);
  auto check = [&](Labels labels, const std::string& want) {
    SCOPED_TRACE(want.empty() ? "accepted" : want);
    Payload p;
    p.streams.push_back(OneStream({{"app", "x"}}));
    p.streams.push_back(OneStream(std::move(labels)));
    Status st = ValidatePayload(&p, limits);
    if (want.empty()) {
      EXPECT_TRUE(st.ok()) << st.ToString();
      return;
    }
    ASSERT_EQ(st.code(), Code::kInvalidArgument) << st.ToString();
    EXPECT_NE(st.message().find(want), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("in stream {"), std::string::npos) << st.message();
    EXPECT_LT(st.message().size(), 600u) << "the stream is quoted, bounded";
  };
  check({{"app", std::string(2048, 'v')}}, "");
  check({{"app", std::string(2049, 'v')}},
        R"(streams[1].stream: value of label "app" is 2049 bytes, over the limit of 2048 (--max-label-value-length))");
  check({{"app", std::string(30 << 20, 'v')}}, "over the limit of 2048 (--max-label-value-length)");
  check({{std::string(1024, 'n'), "v"}}, "");
  check({{std::string(1025, 'n'), "v"}}, "bytes, over the limit of 1024 (--max-label-name-length)");
  Labels fifteen, sixteen;
  for (int i = 0; i < 16; i++) (i < 15 ? fifteen : sixteen).emplace_back("l" + std::to_string(i), "v");
  sixteen.insert(sixteen.begin(), fifteen.begin(), fifteen.end());
  check(fifteen, "");
  check(sixteen, "streams[1].stream: 16 labels, over the limit of 15 (--max-label-names-per-series)");
  // The limits are flags.
  limits.max_label_value_bytes = 3;
  check({{"app", "abcd"}}, "over the limit of 3 (--max-label-value-length)");
}

TEST(Validate, InvalidUtf8BecomesReplacementCharacters) {
  Payload p;
  p.streams.push_back(OneStream({{"app", "we\xff" "b"}}, "bad \xc3( and a stray \x80, nul \0 kept"));
  p.streams[0].entries[0].line.append(std::string("\0end", 4));
  p.streams.push_back(OneStream({{"app", "caf\xc3\xa9"}}, "valid \xe2\x82\xac"));
  const uint64_t before = Counters().invalid_utf8_pushes.load();
  Status st = ValidatePayload(&p, Limits{});
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(p.streams[0].labels, (Labels{{"app", "we\xef\xbf\xbd" "b"}}));
  EXPECT_EQ(p.streams[0].entries[0].line,
            std::string("bad \xef\xbf\xbd( and a stray \xef\xbf\xbd, nul ") + std::string("\0end", 4));
  EXPECT_EQ(p.streams[1].labels, (Labels{{"app", "caf\xc3\xa9"}}));
  EXPECT_EQ(p.streams[1].entries[0].line, "valid \xe2\x82\xac");
  EXPECT_EQ(Counters().invalid_utf8_pushes.load(), before + 1);
}

TEST(DecodeJson, InvalidUtf8InsideStringsIsReplacedNotRefused) {
  Payload p;
  const uint64_t before = Counters().invalid_utf8_pushes.load();
  Status st = DecodeJsonPush("{\"streams\":[{\"stream\":{\"app\":\"w\xff\"},\"values\":[[\"1\",\"a\xfe\xffz\"]]}]}",
                             Limits{}, &p);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(p.streams[0].labels, (Labels{{"app", "w\xef\xbf\xbd"}}));
  EXPECT_EQ(p.streams[0].entries[0].line, "a\xef\xbf\xbd\xef\xbf\xbdz");
  EXPECT_GT(Counters().invalid_utf8_pushes.load(), before);
}

}  // namespace
}  // namespace loge::ingest
