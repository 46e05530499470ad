// Elasticsearch bulk (decode_es_bulk.h): a walk over the body's lines with
// simdjson, one parse per line into the lease's padded copy of the whole
// body (each line is followed by readable bytes, the last by the padding).
#include "ingest/decode_es_bulk.h"

#include "ingest/json_scratch.h"

namespace loge::ingest {
namespace {

namespace dom = simdjson::dom;

// Longest piece of user text quoted back in an error message.
constexpr size_t kMaxQuotedBytes = 64;

std::string Quote(std::string_view s) {
  std::string out = "\"" + std::string(s.substr(0, kMaxQuotedBytes));
  if (s.size() > kMaxQuotedBytes) out += "...";
  return out + "\"";
}

bool Blank(std::string_view line) { return line.find_first_not_of(" \t\r") == std::string_view::npos; }

}  // namespace

Status DecodeEsBulk(std::string_view sent, const EsBulkOptions& opts, const Limits& limits, int64_t now_ns,
                    Payload* out, std::vector<EsBulkItem>* items) {
  out->streams.clear();
  items->clear();
  JsonScratch scratch;
  // The body, its invalid UTF-8 replaced (never a '\n': lines stay lines).
  const std::string_view body = scratch.Pad(sent);
  const char* padded = body.data();
  DocumentMapper mapper(opts.doc, limits, now_ns, out);
  size_t pos = 0, line_no = 0;
  // The next non-blank line: [start, end) in body.
  auto next_line = [&](size_t* start, size_t* end) {
    while (pos < body.size()) {
      const size_t nl = body.find('\n', pos);
      *start = pos;
      *end = nl == std::string_view::npos ? body.size() : nl;
      pos = *end + 1;
      line_no++;
      if (!Blank(body.substr(*start, *end - *start))) return true;
    }
    return false;
  };
  size_t a0, a1;
  while (next_line(&a0, &a1)) {
    const size_t action_line = line_no;
    dom::element action_el;
    dom::object action;
    if (scratch.parser().parse(padded + a0, a1 - a0, false).get(action_el) != simdjson::SUCCESS ||
        action_el.get_object().get(action) != simdjson::SUCCESS || action.size() != 1) {
      return Status::InvalidArgument("Malformed action/metadata line [" + std::to_string(line_no) +
                                     "], expected a JSON object with one of index, create, update, delete");
    }
    const dom::key_value_pair kv = *action.begin();
    EsBulkItem& item = items->emplace_back();
    item.action = std::string(kv.key);
    dom::object meta;
    if (kv.value.get_object().get(meta) != simdjson::SUCCESS) {
      return Status::InvalidArgument("Malformed action/metadata line [" + std::to_string(line_no) + "], action " +
                                     Quote(item.action) + " must hold an object");
    }
    std::string_view sv;
    item.index = meta.at_key("_index").get_string().get(sv) == simdjson::SUCCESS ? std::string(sv) : opts.default_index;
    if (meta.at_key("_id").get_string().get(sv) == simdjson::SUCCESS) item.id = std::string(sv);
    const bool stores = item.action == "index" || item.action == "create";
    if (!stores && item.action != "update" && item.action != "delete") {
      return Status::InvalidArgument("Malformed action/metadata line [" + std::to_string(line_no) +
                                     "], expected one of [create, delete, index, update] but found " +
                                     Quote(item.action));
    }
    if (item.action == "delete") {  // no source line follows
      item.status = 400;
      item.error_type = "illegal_argument_exception";
      item.error_reason = "loge keeps logs as written: delete is not supported";
      continue;
    }
    size_t d0, d1;
    if (!next_line(&d0, &d1)) {
      return Status::InvalidArgument("action on line " + std::to_string(action_line) +
                                     " has no source document after it");
    }
    if (!stores) {
      item.status = 400;
      item.error_type = "illegal_argument_exception";
      item.error_reason = "loge keeps logs as written: update is not supported";
      continue;
    }
    const std::string_view raw = body.substr(d0, d1 - d0);
    dom::element doc;
    Status st;
    const simdjson::error_code err = scratch.parser().parse(padded + d0, d1 - d0, false).get(doc);
    if (err == simdjson::MEMALLOC) return Status::ResourceExhausted("decoding a bulk document: out of memory");
    if (err != simdjson::SUCCESS) {
      st = Status::InvalidArgument(std::string("malformed JSON: ") + simdjson::error_message(err));
    } else {
      st = mapper.Add(doc, raw);
    }
    if (!st.ok()) {
      item.status = 400;
      item.error_type = "document_parsing_exception";
      item.error_reason = "line " + std::to_string(line_no) + ": " + st.message();
    }
  }
  if (out->streams.empty()) return Status::OK();
  return ValidatePayload(out, limits, Utf8::kKnownValid);  // Pad repaired the body
}

}  // namespace loge::ingest
