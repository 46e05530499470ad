// LineGenerator: realistic synthetic log lines for the push benchmark.
//
// Thread-safety: one generator per thread; it owns its random state. The same
// seed yields the same streams and the same lines, apart from the wall-clock
// time text inside each line (its length never changes).
//
// Two kinds of stream make up the universe (kStreamCount of them):
//  - access: web servers writing the combined log format with a request id;
//    labels {app, env, host, job="access", region}.
//  - app: services writing one JSON object per line; labels {app, env, host,
//    job="app", level, region}. The level label matches the line's level.
// Each stream carries a weight (its share of traffic), so a push that picks a
// handful of streams still sees info far more often than error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace loge::bench {

// A small, fast, portable PRNG (xoshiro256**), seeded via splitmix64, so the
// generated data does not depend on the standard library's distributions.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t Next();
  // Uniform in [0, n); n > 0.
  uint64_t Uniform(uint64_t n) { return Next() % n; }
  // Uniform in [0, 1).
  double Real() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  bool Chance(double p) { return Real() < p; }
  // Index i with probability weights[i] / sum(weights).
  size_t Weighted(const std::vector<double>& weights);
  // Skewed toward 0: index in [0, n) with density falling like u^power.
  uint64_t Skewed(uint64_t n, double power);

 private:
  uint64_t s_[4];
};

enum class StreamKind { kAccess, kApp };

struct StreamSpec {
  StreamKind kind;
  // Sorted by name, as a client would usually send them.
  std::vector<std::pair<std::string, std::string>> labels;
  std::string app;    // value of the app label
  std::string host;   // value of the host label
  std::string level;  // app streams: the level of every line; empty for access
  double weight;      // relative share of lines
};

// One generated line. The request id (kRequestIdLen lowercase hex digits) sits
// at request_id_pos so a sender can overwrite it per push.
struct Line {
  std::string text;
  size_t request_id_pos = 0;
};

inline constexpr size_t kRequestIdLen = 16;

// 32 access streams (4 apps x 2 envs x 4 hosts) + 96 app streams (6 services
// x 2 envs x 2 hosts x 4 levels): enough that a push of 10 streams rarely
// repeats the previous push's set.
inline constexpr size_t kStreamCount = 128;

class LineGenerator {
 public:
  explicit LineGenerator(uint64_t seed);

  // The fixed stream universe (kStreamCount streams), same for every seed.
  const std::vector<StreamSpec>& streams() const { return streams_; }

  // A fresh line for streams()[stream]; advances the clock text a little.
  Line Next(size_t stream);

 private:
  Line AccessLine(const StreamSpec& s);
  Line AppLine(const StreamSpec& s);
  void AppendRequestId(std::string* out, size_t* pos);

  Rng rng_;
  std::vector<StreamSpec> streams_;
  int64_t clock_ms_;  // wall time shown in lines, in Unix milliseconds
};

}  // namespace loge::bench
