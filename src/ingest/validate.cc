// ValidatePayload: the checks every push format shares, run after decoding.
//
// Error paths use the JSON body's shape ("streams[2].values[7][1]") for every
// format: protobuf pushes have the same streams -> entries nesting, and one
// vocabulary keeps client-facing messages predictable.
#include <string>

#include "core/json_writer.h"
#include "ingest/decode_json.h"

namespace loge::ingest {
namespace {

// Longest label name quoted back in an error message.
constexpr size_t kMaxQuotedBytes = 64;

std::string Quote(std::string_view s) {
  std::string out;
  JsonWriter::Escape(s.substr(0, kMaxQuotedBytes), &out);
  if (s.size() > kMaxQuotedBytes) out.insert(out.size() - 1, "...");
  return out;
}

std::string StreamPath(size_t i) { return std::string("streams[").append(std::to_string(i)).append("]"); }

}  // namespace

Status ValidatePayload(Payload* p, const Limits& limits) {
  if (p->streams.empty()) return Status::InvalidArgument("streams: missing or empty");
  for (size_t i = 0; i < p->streams.size(); i++) {
    Stream& s = p->streams[i];
    if (s.labels.empty()) return Status::InvalidArgument(StreamPath(i) + ".stream: no labels");
    for (const auto& [name, value] : s.labels) {
      if (!IsValidLabelName(name)) {
        return Status::InvalidArgument(StreamPath(i) + ".stream: invalid label name " + Quote(name) +
                                       " (want [a-zA-Z_][a-zA-Z0-9_]*)");
      }
    }
    Status sorted = SortLabels(&s.labels);
    if (!sorted.ok()) return sorted.WithContext(StreamPath(i) + ".stream");
    if (s.entries.empty()) return Status::InvalidArgument(StreamPath(i) + ".values: missing or empty");
    for (size_t j = 0; j < s.entries.size(); j++) {
      const size_t n = s.entries[j].line.size();
      if (n > limits.max_line_bytes) {
        return Status::InvalidArgument(StreamPath(i) + ".values[" + std::to_string(j) + "][1]: line of " +
                                       std::to_string(n) + " bytes exceeds the maximum of " +
                                       std::to_string(limits.max_line_bytes));
      }
    }
  }
  return Status::OK();
}

}  // namespace loge::ingest
