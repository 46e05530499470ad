// What Logs Drilldown's label and field tabs ask a Loki for, computed from
// rows a query already returned (Engine::Run) or from label values
// (Engine::LabelValuesOf):
//
//   detected fields   every structured-metadata key and every field the
//                     json parser (or, when the line is not JSON, logfmt)
//                     finds in the sampled lines, with its type, the number
//                     of distinct values, the parsers that found it and,
//                     for json, the path of object keys to it;
//   field values      the distinct values of one such field;
//   detected labels   the stream labels worth breaking down by: those whose
//                     values are not all ids (numbers or UUIDs).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "query/engine.h"

namespace loge::query {

// Loki's detected field types.
enum class FieldType { kString, kInt, kFloat, kBoolean, kDuration, kBytes };
const char* FieldTypeName(FieldType t);

// The type of a field from its values: the first of int, float, boolean,
// duration, bytes (Loki's order of trying) that every value parses as, with
// Go's and go-humanize's parsers; string when none fits all. Loki types a
// field by the value of one entry; narrowing over all values gives the same
// answer when values agree and a usable one when they do not (an `amount`
// of 3 and 2.5 is a float, not an int that fails on the next line).
class FieldTypeSet {
 public:
  void Add(std::string_view value);
  FieldType Type() const;

 private:
  uint8_t fits_ = 0x1f;  // bit per type in Loki's order, cleared by a value that does not parse
};

struct DetectedField {
  std::string label;
  FieldType type = FieldType::kString;
  uint64_t cardinality = 0;  // distinct values
  // "json" and/or "logfmt", in that order; empty for structured metadata
  // (Loki's `parsers: null`).
  std::vector<std::string> parsers;
  std::vector<std::string> json_path;  // object keys from the root; empty when not from json
};

// Fields of `hits` (rows of a query run with want_labels), sorted by label;
// at most `limit` fields (the first found win). Each row contributes its
// structured metadata, the labels its query's parsers added, and what json
// (or, when the line is not a JSON object, logfmt) parsing of its line finds;
// a parsed name that collides with a stream label is <name>_extracted.
std::vector<DetectedField> DetectFields(const std::vector<Hit>& hits, size_t limit);

// The distinct values of field `name` in `hits`, sorted; stops adding rows
// once `limit` values are known. A byte size is written as go-humanize's
// Bytes writes it without the space ("26.4KiB" -> "27kB"), as Loki does, so
// the value can be pasted into a query.
std::vector<std::string> DetectFieldValues(const std::vector<Hit>& hits, std::string_view name, size_t limit);

struct DetectedLabel {
  std::string label;
  uint64_t cardinality = 0;  // distinct values
};

// The labels of `values` (label -> its distinct values in the range) Loki
// keeps, sorted by label: a label is left out when it has no value or every
// value is an id (parses as a float, or is a UUID) — except when it has at
// most two values, all "0" or "1" (a flag) — and `cluster`, `namespace`,
// `instance` and `pod` are always kept.
std::vector<DetectedLabel> DetectLabels(const std::map<std::string, std::vector<std::string>>& values);

// Google's uuid.Parse: 8-4-4-4-12 hex digits, optionally in braces or after
// "urn:uuid:", or 32 hex digits.
bool IsUuid(std::string_view s);

}  // namespace loge::query
