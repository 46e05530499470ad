// ValidatePayload: the checks every push format shares, run after decoding.
//
// Error paths use the JSON body's shape ("streams[2].values[7][1]") for every
// format: protobuf pushes have the same streams -> entries nesting, and one
// vocabulary keeps client-facing messages predictable.
#include <simdjson.h>

#include <string>

#include "core/json_writer.h"
#include "core/utf8.h"
#include "ingest/decode_json.h"

namespace loge::ingest {
namespace {

// Longest label name quoted back in an error message.
constexpr size_t kMaxQuotedBytes = 64;
// Longest stream (its labels as JSON) quoted back in a label-limit error:
// enough to recognise the stream, bounded however long its labels are.
constexpr size_t kMaxQuotedStreamBytes = 256;

std::string Quote(std::string_view s) {
  std::string out;
  JsonWriter::Escape(s.substr(0, kMaxQuotedBytes), &out);
  if (s.size() > kMaxQuotedBytes) out.insert(out.size() - 1, "...");
  return out;
}

std::string StreamPath(size_t i) { return std::string("streams[").append(std::to_string(i)).append("]"); }

// The stream's labels as sent, for an error message.
std::string StreamText(const Labels& labels) {
  std::string json = LabelsToJson(labels);
  if (json.size() > kMaxQuotedStreamBytes) {
    size_t cut = kMaxQuotedStreamBytes;
    while (cut > 0 && (static_cast<unsigned char>(json[cut]) & 0xC0) == 0x80) cut--;  // whole characters
    json.resize(cut);
    json += "...";
  }
  return json;
}

// Replaces invalid UTF-8 in *s by U+FFFD; true if it did.
bool Repair(std::string* s) {
  if (simdjson::validate_utf8(s->data(), s->size())) return false;
  *s = ToValidUtf8(*s);
  return true;
}

// Loki's label limits (Limits), on the labels the client sent.
Status CheckLabelLimits(const Stream& s, size_t i, const Limits& limits) {
  IngestCounters& c = Counters();
  if (s.labels.size() > limits.max_labels_per_stream) {
    c.too_many_labels.fetch_add(1, std::memory_order_relaxed);
    return Status::InvalidArgument(StreamPath(i) + ".stream: " + std::to_string(s.labels.size()) +
                                   " labels, over the limit of " + std::to_string(limits.max_labels_per_stream) +
                                   " (--max-label-names-per-series), in stream " + StreamText(s.labels));
  }
  for (const auto& [name, value] : s.labels) {
    if (name.size() > limits.max_label_name_bytes) {
      c.label_name_too_long.fetch_add(1, std::memory_order_relaxed);
      return Status::InvalidArgument(StreamPath(i) + ".stream: label name " + Quote(name) + " is " +
                                     std::to_string(name.size()) + " bytes, over the limit of " +
                                     std::to_string(limits.max_label_name_bytes) +
                                     " (--max-label-name-length), in stream " + StreamText(s.labels));
    }
    if (value.size() > limits.max_label_value_bytes) {
      c.label_value_too_long.fetch_add(1, std::memory_order_relaxed);
      return Status::InvalidArgument(StreamPath(i) + ".stream: value of label " + Quote(name) + " is " +
                                     std::to_string(value.size()) + " bytes, over the limit of " +
                                     std::to_string(limits.max_label_value_bytes) +
                                     " (--max-label-value-length), in stream " + StreamText(s.labels));
    }
  }
  return Status::OK();
}

}  // namespace

IngestCounters& Counters() {
  static IngestCounters counters;
  return counters;
}

Status ValidatePayload(Payload* p, const Limits& limits, Utf8 utf8) {
  if (p->streams.empty()) return Status::InvalidArgument("streams: missing or empty");
  bool repaired = false;
  for (size_t i = 0; i < p->streams.size(); i++) {
    Stream& s = p->streams[i];
    if (s.labels.empty()) return Status::InvalidArgument(StreamPath(i) + ".stream: no labels");
    for (const auto& [name, value] : s.labels) {
      if (!IsValidLabelName(name)) {
        return Status::InvalidArgument(StreamPath(i) + ".stream: invalid label name " + Quote(name) +
                                       " (want [a-zA-Z_][a-zA-Z0-9_]*)");
      }
    }
    // Limits on the bytes the client sent, then the repair.
    LOGE_RETURN_IF_ERROR(CheckLabelLimits(s, i, limits));
    if (utf8 == Utf8::kRepair) {
      for (auto& [name, value] : s.labels) repaired |= Repair(&value);
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
      // After the size check: the limit is on the bytes the client sent.
      if (utf8 == Utf8::kRepair) repaired |= Repair(&s.entries[j].line);
    }
  }
  if (repaired) Counters().invalid_utf8_pushes.fetch_add(1, std::memory_order_relaxed);
  return Status::OK();
}

}  // namespace loge::ingest
