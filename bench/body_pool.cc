#include "bench/body_pool.h"

#include <algorithm>
#include <chrono>

#include "core/json_writer.h"
#include "core/status.h"

namespace loge::bench {

namespace {

void WriteDigits(char* p, uint64_t v) {
  for (size_t i = kTimestampLen; i-- > 0; v /= 10) p[i] = static_cast<char>('0' + v % 10);
}

void WriteHex(char* p, uint64_t v) {
  static const char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < kRequestIdLen; i++, v >>= 4) p[i] = kHex[v & 15];
}

// Picks k distinct streams uniformly (every stream is active, as on a real
// fleet) and splits batch lines between them by weight, at least one each,
// so busy prod streams and info levels dominate the line count.
std::vector<std::pair<size_t, size_t>> PlanBody(const std::vector<StreamSpec>& streams, size_t k, size_t batch,
                                                Rng* rng) {
  std::vector<size_t> order(streams.size());
  for (size_t i = 0; i < order.size(); i++) order[i] = i;
  for (size_t i = 0; i < k; i++) std::swap(order[i], order[i + rng->Uniform(order.size() - i)]);
  std::vector<size_t> picked(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k));
  std::sort(picked.begin(), picked.end());
  double total = 0;
  for (size_t j : picked) total += streams[j].weight;
  std::vector<std::pair<size_t, size_t>> plan;
  size_t assigned = 0;
  for (size_t j : picked) {
    size_t n = std::max<size_t>(1, static_cast<size_t>(static_cast<double>(batch - k) * streams[j].weight / total));
    plan.emplace_back(j, n);
    assigned += n;
  }
  // The shares sum to at most batch - k, the minimum of one adds at most k:
  // give the rounding remainder to the heaviest stream so every body has
  // exactly batch lines.
  auto heaviest = std::max_element(plan.begin(), plan.end(),
                                   [](const auto& a, const auto& b) { return a.second < b.second; });
  heaviest->second += batch - assigned;
  return plan;
}

}  // namespace

std::vector<PushBody> BuildBodies(const BodyPoolOptions& opts, std::string* sample, size_t sample_max_lines) {
  LineGenerator gen(opts.seed);
  Rng rng(opts.seed ^ 0x5eed5eed5eedull);
  const auto& streams = gen.streams();
  const size_t k = std::min({opts.streams_per_push, opts.batch, streams.size()});
  const int64_t now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  size_t sampled = 0;

  std::vector<PushBody> out(opts.bodies);
  for (PushBody& b : out) {
    std::string& j = b.json;
    j.reserve(opts.batch * 280);
    j += "{\"streams\":[";
    bool first_stream = true;
    for (auto [si, n] : PlanBody(streams, k, opts.batch, &rng)) {
      if (!first_stream) j += ',';
      first_stream = false;
      j += "{\"stream\":{";
      bool first_label = true;
      for (const auto& [name, value] : streams[si].labels) {
        if (!first_label) j += ',';
        first_label = false;
        JsonWriter::Escape(name, &j);
        j += ':';
        JsonWriter::Escape(value, &j);
      }
      j += "},\"values\":[";
      for (size_t i = 0; i < n; i++) {
        Line line = gen.Next(si);
        if (i > 0) j += ',';
        j += "[\"";
        b.ts_pos.push_back(static_cast<uint32_t>(j.size()));
        j.append(kTimestampLen, '0');
        WriteDigits(j.data() + b.ts_pos.back(), static_cast<uint64_t>(now_ns) + b.lines);
        j += "\",";
        // Escaping only inserts bytes, so the id is at or after its raw offset;
        // hex digits are never escaped, so they appear verbatim.
        const size_t start = j.size();
        JsonWriter::Escape(line.text, &j);
        const std::string_view id(line.text.data() + line.request_id_pos, kRequestIdLen);
        const size_t at = j.find(id, start + line.request_id_pos);
        LOGE_ASSERT(at != std::string::npos, "BUG: request id lost in escaping");
        b.id_pos.push_back(static_cast<uint32_t>(at));
        j += ']';
        b.lines++;
        b.line_bytes += line.text.size();
        if (sample != nullptr && sampled < sample_max_lines) {
          *sample += line.text;
          *sample += '\n';
          sampled++;
        }
      }
      j += "]}";
    }
    j += "]}";
    j.shrink_to_fit();
  }
  return out;
}

void Restamp(const PushBody& tmpl, int64_t base_ns, Rng* rng, std::string* out) {
  char* p = out->data();
  uint64_t ts = static_cast<uint64_t>(base_ns);
  for (uint32_t pos : tmpl.ts_pos) WriteDigits(p + pos, ts++);
  for (uint32_t pos : tmpl.id_pos) WriteHex(p + pos, rng->Next());
}

}  // namespace loge::bench
