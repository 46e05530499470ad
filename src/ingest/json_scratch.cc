#include "ingest/json_scratch.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/mutex.h"
#include "core/utf8.h"
#include "ingest/decode_json.h"

namespace loge::ingest {

struct JsonScratch::Scratch {
  std::unique_ptr<char[]> buf;        // body copy + SIMDJSON_PADDING zero bytes
  size_t cap = 0;                     // bytes allocated in buf
  simdjson::dom::parser parser;       // owns the tape the decoded elements point into
};

namespace {

// Bodies up to this size leave their buffers (the padded copy and
// simdjson's tape, ~15x the input) in place for the next lease; a bigger
// one frees them so one outsized push does not pin memory. Promtail, Alloy,
// Vector and the OTel exporters batch about 1 MiB.
constexpr size_t kRetainBytes = 2 << 20;
// Scratches kept for reuse: about the number of decodes that run at once.
constexpr size_t kPooledScratches = 4;

class Pool {
 public:
  std::unique_ptr<JsonScratch::Scratch> Take() {
    MutexLock l(&mu_);
    if (free_.empty()) return std::make_unique<JsonScratch::Scratch>();
    auto s = std::move(free_.back());
    free_.pop_back();
    return s;
  }
  void Give(std::unique_ptr<JsonScratch::Scratch> s) {
    MutexLock l(&mu_);
    if (free_.size() < kPooledScratches) free_.push_back(std::move(s));
  }

 private:
  Mutex mu_;  // guards free_
  std::vector<std::unique_ptr<JsonScratch::Scratch>> free_ GUARDED_BY(mu_);
};

Pool& ThePool() {
  static Pool* pool = new Pool();  // lives until exit
  return *pool;
}

}  // namespace

JsonScratch::JsonScratch() : s_(ThePool().Take()) {}

JsonScratch::~JsonScratch() {
  if (s_->cap > kRetainBytes + simdjson::SIMDJSON_PADDING) {
    s_->buf.reset();
    s_->cap = 0;
  }
  if (s_->parser.capacity() > kRetainBytes) s_->parser = simdjson::dom::parser();
  ThePool().Give(std::move(s_));
}

std::string_view JsonScratch::Pad(std::string_view body) {
  std::string repaired;
  if (!simdjson::validate_utf8(body.data(), body.size())) {
    // Inside a string an invalid byte is text to keep; outside one, its
    // replacement is as much a syntax error as the byte was.
    repaired = ToValidUtf8(body);
    body = repaired;
    Counters().invalid_utf8_pushes.fetch_add(1, std::memory_order_relaxed);
  }
  const size_t need = body.size() + simdjson::SIMDJSON_PADDING;
  if (s_->cap < need) {
    const size_t cap = std::max(need, s_->cap * 2);
    s_->buf = std::make_unique_for_overwrite<char[]>(cap);
    s_->cap = cap;
  }
  if (!body.empty()) std::memcpy(s_->buf.get(), body.data(), body.size());
  std::memset(s_->buf.get() + body.size(), 0, simdjson::SIMDJSON_PADDING);
  return std::string_view(s_->buf.get(), body.size());
}

simdjson::dom::parser& JsonScratch::parser() { return s_->parser; }

}  // namespace loge::ingest
