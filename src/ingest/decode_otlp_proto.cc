// OTLP/HTTP protobuf: ExportLogsServiceRequest read straight off the wire.
//
// Hand-parsed rather than protoc-generated (unlike loki_push.proto): the
// generated lite classes allocate a std::string per key and value and a
// message per AnyValue before we could look at them, while here every
// string stays a view into the body until the mapper copies the few it
// keeps, nesting depth is bounded by us (kMaxOtlpDepth) and not by the
// library's recursion limit, and fields may arrive in any order (a
// resource after its scope_logs, as the encoding allows). The field
// numbers are those of opentelemetry-proto (collector/logs/v1,
// logs/v1, common/v1, resource/v1):
//
//   ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
//   ResourceLogs   { Resource resource = 1; repeated ScopeLogs scope_logs = 2; string schema_url = 3; }
//   Resource       { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
//   ScopeLogs      { InstrumentationScope scope = 1; repeated LogRecord log_records = 2; string schema_url = 3; }
//   InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; … }
//   LogRecord      { fixed64 time_unix_nano = 1; SeverityNumber severity_number = 2; string severity_text = 3;
//                    AnyValue body = 5; repeated KeyValue attributes = 6; uint32 dropped_attributes_count = 7;
//                    fixed32 flags = 8; bytes trace_id = 9; bytes span_id = 10;
//                    fixed64 observed_time_unix_nano = 11; string event_name = 12; }
//   KeyValue       { string key = 1; AnyValue value = 2; }
//   AnyValue       { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3;
//                    double double_value = 4; ArrayValue array_value = 5; KeyValueList kvlist_value = 6;
//                    bytes bytes_value = 7; } }
//   ArrayValue     { repeated AnyValue values = 1; }   KeyValueList { repeated KeyValue values = 1; }
//
// Unknown fields are skipped, as protobuf does; a known field with another
// wire type is skipped too (protobuf treats it as unknown).
#include <cstring>

#include "ingest/decode_otlp.h"
#include "ingest/otlp_model.h"

namespace loge::ingest {
namespace {

enum WireType : int { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };

class Wire {
 public:
  explicit Wire(std::string_view b) : p_(b.data()), end_(b.data() + b.size()) {}

  // Reads the next field's tag. False at the end of the message, or on a
  // malformed tag (then bad() is true).
  bool Next() {
    if (p_ == end_) return false;
    uint64_t tag;
    if (!Varint(&tag) || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff) return Fail();
    field_ = static_cast<uint32_t>(tag >> 3);
    type_ = static_cast<int>(tag & 7);
    return true;
  }
  uint32_t field() const { return field_; }
  int type() const { return type_; }
  bool bad() const { return bad_; }

  bool Varint(uint64_t* v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return Fail();
      const uint8_t b = static_cast<uint8_t>(*p_++);
      r |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        *v = r;
        return true;
      }
    }
    return Fail();
  }
  bool Fixed64(uint64_t* v) {
    if (end_ - p_ < 8) return Fail();
    std::memcpy(v, p_, 8);  // little-endian on every platform loge builds for
    p_ += 8;
    return true;
  }
  bool Fixed32(uint32_t* v) {
    if (end_ - p_ < 4) return Fail();
    std::memcpy(v, p_, 4);
    p_ += 4;
    return true;
  }
  bool Bytes(std::string_view* v) {
    uint64_t n;
    if (!Varint(&n) || n > static_cast<uint64_t>(end_ - p_)) return Fail();
    *v = std::string_view(p_, n);
    p_ += n;
    return true;
  }
  // Skips the current field's value.
  bool Skip() {
    uint64_t u64;
    uint32_t u32;
    std::string_view sv;
    switch (type_) {
      case kVarint: return Varint(&u64);
      case kFixed64: return Fixed64(&u64);
      case kLen: return Bytes(&sv);
      case kFixed32: return Fixed32(&u32);
      default: return Fail();  // groups (3, 4) are not in OTLP; 6 and 7 do not exist
    }
  }
  // Reads the current field as `want`, or skips it when its wire type differs.
  // *matched says which happened.
  bool Len(std::string_view* v, bool* matched) {
    *matched = type_ == kLen;
    return *matched ? Bytes(v) : Skip();
  }

 private:
  bool Fail() {
    bad_ = true;
    p_ = end_;
    return false;
  }
  const char* p_;
  const char* end_;
  uint32_t field_ = 0;
  int type_ = 0;
  bool bad_ = false;
};

bool ParseKeyValue(std::string_view in, int depth, std::string_view* key, OtlpValue* value);

bool ParseAnyValue(std::string_view in, int depth, OtlpValue* v) {
  if (depth > kMaxOtlpDepth) return false;
  Wire w(in);
  while (w.Next()) {
    std::string_view sv;
    uint64_t u;
    bool m = false;
    switch (w.field()) {
      case 1:
        if (!w.Len(&sv, &m)) return false;
        if (m) {
          *v = OtlpValue();
          v->kind = OtlpValue::Kind::kString;
          v->s = sv;
        }
        break;
      case 2:
      case 3:
        if (w.type() != kVarint) {
          if (!w.Skip()) return false;
          break;
        }
        if (!w.Varint(&u)) return false;
        *v = OtlpValue();
        if (w.field() == 2) {
          v->kind = OtlpValue::Kind::kBool;
          v->b = u != 0;
        } else {
          v->kind = OtlpValue::Kind::kInt;
          v->i = static_cast<int64_t>(u);
        }
        break;
      case 4:
        if (w.type() != kFixed64) {
          if (!w.Skip()) return false;
          break;
        }
        if (!w.Fixed64(&u)) return false;
        *v = OtlpValue();
        v->kind = OtlpValue::Kind::kDouble;
        std::memcpy(&v->d, &u, 8);
        break;
      case 5:
      case 6: {
        if (!w.Len(&sv, &m)) return false;
        if (!m) break;
        const bool list = w.field() == 6;
        *v = OtlpValue();
        v->kind = list ? OtlpValue::Kind::kKvList : OtlpValue::Kind::kArray;
        Wire inner(sv);
        while (inner.Next()) {
          std::string_view item;
          bool im = false;
          if (inner.field() != 1) {
            if (!inner.Skip()) return false;
            continue;
          }
          if (!inner.Len(&item, &im)) return false;
          if (!im) continue;
          if (list) {
            std::string_view key;
            OtlpValue value;
            if (!ParseKeyValue(item, depth + 1, &key, &value)) return false;
            v->keys.push_back(key);
            v->items.push_back(std::move(value));
          } else if (!ParseAnyValue(item, depth + 1, &v->items.emplace_back())) {
            return false;
          }
        }
        if (inner.bad()) return false;
        break;
      }
      case 7:
        if (!w.Len(&sv, &m)) return false;
        if (m) {
          *v = OtlpValue();
          v->kind = OtlpValue::Kind::kBytes;
          v->s = sv;
        }
        break;
      default:
        if (!w.Skip()) return false;
    }
  }
  return !w.bad();
}

bool ParseKeyValue(std::string_view in, int depth, std::string_view* key, OtlpValue* value) {
  Wire w(in);
  while (w.Next()) {
    std::string_view sv;
    bool m = false;
    if (w.field() == 1) {
      if (!w.Len(&sv, &m)) return false;
      if (m) *key = sv;
    } else if (w.field() == 2) {
      if (!w.Len(&sv, &m)) return false;
      if (m && !ParseAnyValue(sv, depth, value)) return false;
    } else if (!w.Skip()) {
      return false;
    }
  }
  return !w.bad();
}

bool AddAttribute(std::string_view kv, OtlpAttributes* attrs) {
  auto& a = attrs->emplace_back();
  return ParseKeyValue(kv, 1, &a.first, &a.second);
}

bool ParseResource(std::string_view in, OtlpAttributes* attrs) {
  Wire w(in);
  while (w.Next()) {
    std::string_view sv;
    bool m = false;
    if (w.field() == 1) {
      if (!w.Len(&sv, &m)) return false;
      if (m && !AddAttribute(sv, attrs)) return false;
    } else if (!w.Skip()) {
      return false;
    }
  }
  return !w.bad();
}

bool ParseScope(std::string_view in, std::string_view* name, std::string_view* version, OtlpAttributes* attrs) {
  Wire w(in);
  while (w.Next()) {
    std::string_view sv;
    bool m = false;
    switch (w.field()) {
      case 1:
        if (!w.Len(&sv, &m)) return false;
        if (m) *name = sv;
        break;
      case 2:
        if (!w.Len(&sv, &m)) return false;
        if (m) *version = sv;
        break;
      case 3:
        if (!w.Len(&sv, &m)) return false;
        if (m && !AddAttribute(sv, attrs)) return false;
        break;
      default:
        if (!w.Skip()) return false;
    }
  }
  return !w.bad();
}

bool ParseRecord(std::string_view in, OtlpRecord* r) {
  r->Clear();
  Wire w(in);
  while (w.Next()) {
    std::string_view sv;
    uint64_t u = 0;
    uint32_t u32 = 0;
    bool m = false;
    switch (w.field()) {
      case 1:
      case 11:
        if (w.type() != kFixed64) {
          if (!w.Skip()) return false;
          break;
        }
        if (!w.Fixed64(&u)) return false;
        (w.field() == 1 ? r->time : r->observed) = u;
        break;
      case 2:
        if (w.type() != kVarint) {
          if (!w.Skip()) return false;
          break;
        }
        if (!w.Varint(&u)) return false;
        r->severity_number = static_cast<int32_t>(u);  // an enum is an int32 on the wire
        break;
      case 3:
        if (!w.Len(&sv, &m)) return false;
        if (m) r->severity_text = sv;
        break;
      case 5:
        if (!w.Len(&sv, &m)) return false;
        if (m && !ParseAnyValue(sv, 1, &r->body)) return false;
        break;
      case 6:
        if (!w.Len(&sv, &m)) return false;
        if (m && !AddAttribute(sv, &r->attributes)) return false;
        break;
      case 8:
        if (w.type() != kFixed32) {
          if (!w.Skip()) return false;
          break;
        }
        if (!w.Fixed32(&u32)) return false;
        r->flags = u32;
        break;
      case 9:
      case 10:
        if (!w.Len(&sv, &m)) return false;
        if (m && !sv.empty()) (w.field() == 9 ? r->trace_id : r->span_id) = HexEncode(sv);
        break;
      case 12:
        if (!w.Len(&sv, &m)) return false;
        if (m) r->event_name = sv;
        break;
      default:
        if (!w.Skip()) return false;
    }
  }
  return !w.bad();
}

// Calls fn(value) for every length-delimited field `field` of the message.
template <typename Fn>
bool ForEach(std::string_view in, uint32_t field, Fn fn) {
  Wire w(in);
  while (w.Next()) {
    if (w.field() != field) {
      if (!w.Skip()) return false;
      continue;
    }
    std::string_view sv;
    bool m = false;
    if (!w.Len(&sv, &m)) return false;
    if (m && !fn(sv)) return false;
  }
  return !w.bad();
}

Status Malformed(const std::string& where) {
  return Status::InvalidArgument("protobuf: body is not a valid ExportLogsServiceRequest (" + where + ")");
}

}  // namespace

Status DecodeOtlpLogsProto(std::string_view body, const OtlpOptions& opts, const Limits& limits, int64_t now_ns,
                           Payload* out, OtlpRejects* rejects) {
  out->streams.clear();
  OtlpMapper mapper(opts, limits, now_ns, out);
  OtlpRecord record;
  OtlpAttributes attrs;
  size_t ri = 0;
  std::string where;
  const bool ok = ForEach(body, 1, [&](std::string_view resource_logs) {
    // The resource may follow its scope_logs on the wire: find it first.
    attrs.clear();
    where = "resource_logs[" + std::to_string(ri) + "].resource";
    if (!ForEach(resource_logs, 1, [&](std::string_view res) { return ParseResource(res, &attrs); })) return false;
    mapper.BeginResource(attrs);
    size_t si = 0;
    const bool scopes_ok = ForEach(resource_logs, 2, [&](std::string_view scope_logs) {
      std::string_view name, version;
      attrs.clear();
      where = "resource_logs[" + std::to_string(ri) + "].scope_logs[" + std::to_string(si) + "]";
      if (!ForEach(scope_logs, 1, [&](std::string_view scope) { return ParseScope(scope, &name, &version, &attrs); })) {
        return false;
      }
      mapper.BeginScope(name, version, attrs);
      size_t li = 0;
      const bool records_ok = ForEach(scope_logs, 2, [&](std::string_view rec) {
        if (!ParseRecord(rec, &record)) {
          where += ".log_records[" + std::to_string(li) + "]";
          return false;
        }
        mapper.Add(record);
        li++;
        return true;
      });
      si++;
      return records_ok;
    });
    ri++;
    return scopes_ok;
  });
  if (!ok) return Malformed(where.empty() ? "at the top level" : "in " + where);
  return mapper.Finish(rejects);
}

}  // namespace loge::ingest
