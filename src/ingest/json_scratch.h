// JsonScratch: a lease of simdjson's working memory (a padded copy of the
// body and the DOM parser's tape) from a small process-wide pool, shared by
// every JSON-based decoder (Loki JSON, OTLP/JSON, Elasticsearch bulk, JSON
// lines). Internal to ingest/.
//
// A thread-local parser per handler thread kept ~15x the largest body of
// each thread alive (simdjson's tape); the pool keeps at most a few, about
// the number of decodes that run at once on a small machine, and one that
// grew past kRetainBytes is freed when its lease ends.
//
// Thread-safety: a lease is used by one thread; the pool is locked inside.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <memory>
#include <string_view>

namespace loge::ingest {

class JsonScratch {
 public:
  JsonScratch();   // takes a scratch from the pool (or makes one)
  ~JsonScratch();  // frees outsized buffers, gives the scratch back
  JsonScratch(const JsonScratch&) = delete;
  JsonScratch& operator=(const JsonScratch&) = delete;

  // Copies body into the lease's buffer followed by SIMDJSON_PADDING zero
  // bytes and returns the copy; valid until the next Pad or the lease ends.
  // Invalid UTF-8 is replaced by U+FFFD on the way (counted in
  // Counters().invalid_utf8_pushes): simdjson refuses such a document, and
  // every push format stores such text the same way (docs/push-formats.md,
  // "Invalid UTF-8"). The copy may then be longer than body: callers parse
  // and index the returned view, never body.
  std::string_view Pad(std::string_view body);
  // The parser; elements it returns point into it until its next parse.
  simdjson::dom::parser& parser();

  struct Scratch;  // opaque; public for the pool

 private:
  std::unique_ptr<Scratch> s_;
};

}  // namespace loge::ingest
