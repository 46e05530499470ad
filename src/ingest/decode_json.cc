// Loki JSON push bodies -> Payload, with simdjson's DOM API.
//
// DOM rather than On-Demand: DOM checks the whole document (UTF-8, structure,
// depth, the keys we ignore) before we look at any of it, so a body is either
// well-formed JSON or rejected whole with one "malformed JSON" error, and the
// walk below only has to check types. Stage 1+2 run at GB/s; the cost that
// remains is copying each line into its Entry.
//
// This file checks shape and types; ValidatePayload (validate.cc) checks what
// every format shares: non-empty streams, label names, line sizes. A missing
// "stream" or "values" key decodes as empty and is reported there.
#include "ingest/decode_json.h"

#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>

#include "core/json_writer.h"
#include "core/time.h"
#include "ingest/json_scratch.h"

namespace loge::ingest {
namespace {

namespace dom = simdjson::dom;

// Longest piece of user text quoted back in an error message.
constexpr size_t kMaxQuotedBytes = 64;

// Fewest bytes one valid value can take (["0",""]); bounds how much we reserve
// from a hostile array count before its elements are checked.
constexpr size_t kMinValueBytes = 8;

const char* TypeName(dom::element_type t) {
  switch (t) {
    case dom::element_type::ARRAY: return "array";
    case dom::element_type::OBJECT: return "object";
    case dom::element_type::STRING: return "string";
    case dom::element_type::BOOL: return "boolean";
    case dom::element_type::NULL_VALUE: return "null";
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE: return "number";
  }
  return "value";
}

// s as a JSON string, cut to kMaxQuotedBytes so a hostile value cannot bloat
// the error; the escaping keeps control bytes out of logs.
std::string Quote(std::string_view s) {
  std::string out;
  JsonWriter::Escape(s.substr(0, kMaxQuotedBytes), &out);
  if (s.size() > kMaxQuotedBytes) out.insert(out.size() - 1, "...");
  return out;
}

// ".app" for a plain key, ["a b"] for anything else.
// (Built with append: GCC 12 -O3 warns falsely on "literal" + std::string&&.)
std::string FieldPath(std::string_view key) {
  std::string out;
  if (IsValidLabelName(key)) return out.append(".").append(key);
  return out.append("[").append(Quote(key)).append("]");
}

std::string StreamPath(size_t i) { return std::string("streams[").append(std::to_string(i)).append("]"); }

std::string ValuePath(size_t i, size_t j) {
  return StreamPath(i) + ".values[" + std::to_string(j) + "]";
}

// The optional third element of a value: a flat object of strings, kept as
// compact JSON text. An empty object is the same as none.
Status DecodeMetadata(dom::element el, size_t i, size_t j, Entry* e) {
  dom::object obj;
  if (el.get_object().get(obj) != simdjson::SUCCESS) {
    return Status::InvalidArgument(ValuePath(i, j) +
                                   "[2]: structured metadata must be an object of strings, got " +
                                   TypeName(el.type()));
  }
  if (obj.size() == 0) return Status::OK();
  JsonWriter w;
  w.BeginObject();
  for (dom::key_value_pair kv : obj) {
    std::string_view value;
    if (kv.value.get_string().get(value) != simdjson::SUCCESS) {
      return Status::InvalidArgument(ValuePath(i, j) + "[2]" + FieldPath(kv.key) +
                                     ": structured metadata value must be a string, got " +
                                     TypeName(kv.value.type()));
    }
    w.Key(kv.key);
    w.String(value);
  }
  w.EndObject();
  e->metadata = w.Take();
  return Status::OK();
}

// One value: ["<unix_ns>", "<line>"] or ["<unix_ns>", "<line>", {metadata}].
Status DecodeValue(dom::element el, size_t i, size_t j, Entry* e) {
  dom::array tuple;
  if (el.get_array().get(tuple) != simdjson::SUCCESS || tuple.size() < 2 || tuple.size() > 3) {
    return Status::InvalidArgument(
        ValuePath(i, j) + ": want a [timestamp, line] pair, optionally followed by a metadata object");
  }
  auto it = tuple.begin();
  std::string_view ts;
  if ((*it).get_string().get(ts) != simdjson::SUCCESS) {
    // Loki rejects numbers too: a double cannot hold every int64 nanosecond.
    return Status::InvalidArgument(ValuePath(i, j) +
                                   "[0]: timestamp must be a string of unix nanoseconds, got " +
                                   TypeName((*it).type()));
  }
  if (!ParseInt64(ts, &e->ts)) {
    return Status::InvalidArgument(ValuePath(i, j) + "[0]: timestamp " + Quote(ts) +
                                   " is not a decimal int64 of nanoseconds");
  }
  ++it;
  std::string_view line;
  if ((*it).get_string().get(line) != simdjson::SUCCESS) {
    return Status::InvalidArgument(ValuePath(i, j) + "[1]: line must be a string, got " +
                                   TypeName((*it).type()));
  }
  e->line.assign(line);
  ++it;
  if (it != tuple.end()) return DecodeMetadata(*it, i, j, e);
  return Status::OK();
}

Status DecodeStream(dom::element el, size_t i, size_t body_bytes, Stream* s) {
  dom::object obj;
  if (el.get_object().get(obj) != simdjson::SUCCESS) {
    return Status::InvalidArgument(StreamPath(i) + ": want an object with \"stream\" and \"values\", got " +
                                   TypeName(el.type()));
  }

  dom::element labels_el;
  if (obj.at_key("stream").get(labels_el) == simdjson::SUCCESS) {
    dom::object labels;
    if (labels_el.get_object().get(labels) != simdjson::SUCCESS) {
      return Status::InvalidArgument(StreamPath(i) +
                                     ".stream: want an object of label names to string values, got " +
                                     TypeName(labels_el.type()));
    }
    s->labels.reserve(labels.size());
    for (dom::key_value_pair kv : labels) {
      std::string_view value;
      if (kv.value.get_string().get(value) != simdjson::SUCCESS) {
        return Status::InvalidArgument(StreamPath(i) + ".stream" + FieldPath(kv.key) +
                                       ": label value must be a string, got " + TypeName(kv.value.type()));
      }
      s->labels.emplace_back(std::string(kv.key), std::string(value));
    }
  }

  dom::element values_el;
  if (obj.at_key("values").get(values_el) == simdjson::SUCCESS) {
    dom::array values;
    if (values_el.get_array().get(values) != simdjson::SUCCESS) {
      return Status::InvalidArgument(StreamPath(i) + ".values: want an array of values, got " +
                                     TypeName(values_el.type()));
    }
    s->entries.reserve(std::min(values.size(), body_bytes / kMinValueBytes));
    size_t j = 0;
    for (dom::element v : values) {
      LOGE_RETURN_IF_ERROR(DecodeValue(v, i, j, &s->entries.emplace_back()));
      j++;
    }
  }
  return Status::OK();
}

Status DecodeDocument(dom::element root, size_t body_bytes, Payload* out) {
  dom::object top;
  if (root.get_object().get(top) != simdjson::SUCCESS) {
    return Status::InvalidArgument(std::string("body: want a JSON object with a \"streams\" array, got ") +
                                   TypeName(root.type()));
  }
  dom::element streams_el;
  if (top.at_key("streams").get(streams_el) != simdjson::SUCCESS) return Status::OK();
  dom::array streams;
  if (streams_el.get_array().get(streams) != simdjson::SUCCESS) {
    return Status::InvalidArgument(std::string("streams: want an array of streams, got ") +
                                   TypeName(streams_el.type()));
  }
  out->streams.reserve(streams.size());
  size_t i = 0;
  for (dom::element s : streams) {
    LOGE_RETURN_IF_ERROR(DecodeStream(s, i, body_bytes, &out->streams.emplace_back()));
    i++;
  }
  return Status::OK();
}

}  // namespace

Status DecodeJsonPush(std::string_view body, const Limits& limits, Payload* out) {
  out->streams.clear();
  Status st;
  {
    JsonScratch scratch;  // the elements below point into it: walk before it goes
    const std::string_view text = scratch.Pad(body);  // body, its invalid UTF-8 replaced
    dom::element root;
    const simdjson::error_code err =
        scratch.parser().parse(text.data(), text.size(), /*realloc_if_needed=*/false).get(root);
    if (err == simdjson::MEMALLOC) {
      st = Status::ResourceExhausted("decoding JSON push body: out of memory");
    } else if (err != simdjson::SUCCESS) {
      st = Status::InvalidArgument(std::string("malformed JSON: ") + simdjson::error_message(err));
    } else {
      st = DecodeDocument(root, text.size(), out);
    }
  }
  LOGE_RETURN_IF_ERROR(st);
  return ValidatePayload(out, limits, Utf8::kKnownValid);  // Pad repaired the body
}

}  // namespace loge::ingest
