// Printing a metric query's answer for `loge search`: a table of time,
// series and value (text), or one JSON object per sample (--output json).
#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "cli/search.h"
#include "core/json_writer.h"
#include "core/time.h"

namespace loge::cli {

namespace {

std::string SeriesText(simdjson::dom::object metric) {
  std::string out = "{";
  bool first = true;
  for (auto field : metric) {
    std::string_view v;
    if (field.value.get_string().get(v)) continue;
    if (!first) out += ", ";
    first = false;
    out += std::string(field.key) + "=";
    JsonWriter::Escape(v, &out);
  }
  return out + "}";
}

// A sample's time: Loki writes seconds (possibly with a fraction).
int64_t SampleNs(simdjson::dom::element t) {
  double s = 0;
  int64_t i = 0;
  if (t.get_int64().get(i) == simdjson::SUCCESS) return i * 1'000'000'000;
  if (t.get_double().get(s) == simdjson::SUCCESS) return static_cast<int64_t>(s * 1e9);
  return 0;
}

}  // namespace

int PrintMetricAnswer(const SearchFlags& f, simdjson::dom::object data) {
  std::string_view type;
  simdjson::dom::array result;
  if (data["resultType"].get_string().get(type) || data["result"].get_array().get(result)) {
    std::fprintf(stderr, "loge search: the server's answer is not a metric result\n");
    return 1;
  }
  struct Row {
    int64_t ns;
    std::string series;
    std::string value;
    std::string metric_json;
  };
  std::vector<Row> rows;
  size_t width = 6;
  for (simdjson::dom::element s : result) {
    simdjson::dom::object metric;
    if (s["metric"].get_object().get(metric)) continue;
    std::string series = SeriesText(metric);
    std::string mjson = simdjson::minify(metric);
    width = std::max(width, series.size());
    auto add = [&](simdjson::dom::array point) {
      std::string_view v;
      auto it = point.begin();
      int64_t ns = SampleNs(*it);
      ++it;
      if ((*it).get_string().get(v) == simdjson::SUCCESS) rows.push_back(Row{ns, series, std::string(v), mjson});
    };
    simdjson::dom::array values, value;
    if (s["values"].get_array().get(values) == simdjson::SUCCESS) {
      for (simdjson::dom::element p : values) {
        simdjson::dom::array pa;
        if (p.get_array().get(pa) == simdjson::SUCCESS) add(pa);
      }
    } else if (s["value"].get_array().get(value) == simdjson::SUCCESS) {
      add(value);
    }
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.ns != b.ns ? a.ns < b.ns : a.series < b.series;
  });
  std::string out;
  if (f.output == "json") {
    for (const auto& r : rows) {
      JsonWriter w;
      w.BeginObject();
      w.Key("timestamp");
      w.Int(r.ns);
      w.Key("metric");
      w.Raw(r.metric_json);
      w.Key("value");
      w.String(r.value);
      w.EndObject();
      out += w.str() + "\n";
    }
  } else {
    char head[512];
    std::snprintf(head, sizeof head, "%-29s %-*s %s\n", "TIME", static_cast<int>(width), "SERIES", "VALUE");
    out += head;
    for (const auto& r : rows) {
      std::string t = FormatLocalRfc3339Millis(r.ns);
      std::string series = r.series;
      series.resize(std::max(series.size(), width), ' ');
      out += t + std::string(t.size() < 29 ? 29 - t.size() : 0, ' ') + " " + series + " " + r.value + "\n";
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace loge::cli
