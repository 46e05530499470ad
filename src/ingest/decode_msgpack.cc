// msgpack push bodies -> Payload, with msgpack-cxx's event parser.
//
// Why events (msgpack::parse with a visitor) and not msgpack::unpack: unpack
// builds an object tree and allocates 24 bytes per declared array element
// the moment it reads an array header, before a single element is checked,
// so a five-byte `dd ff ff ff ff` would ask for 96 GiB. Here a header only
// reserves what the remaining bytes could hold, strings are views into the
// body, and the nesting depth is capped before the parser's own stack grows.
//
// The visitor is a small state machine over the document shape: a stack of
// frames, one per open map or array, each tagged with its role (the root, the
// streams array, one stream, its labels, …). Values under keys we do not know
// open kSkip frames and are ignored. The first error stops the parse.
#include "ingest/decode_msgpack.h"

#include <msgpack.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>
#include <vector>

#include "core/json_writer.h"
#include "core/time.h"

namespace loge::ingest {
namespace {

// Longest piece of user text quoted back in an error message.
constexpr size_t kMaxQuotedBytes = 64;

// Fewest bytes a msgpack item can take; bounds what a declared count may
// reserve before its elements are seen.
constexpr size_t kMinValueBytes = 4;  // [ts, line] = fixarray + 2 fixints/fixstrs + …
constexpr size_t kMinStreamBytes = 2;
constexpr size_t kMinLabelBytes = 2;

// msgpack timestamp extension (msgpack spec, "Timestamp extension type").
constexpr int8_t kTimestampExt = -1;
constexpr int64_t kNanosPerSecond = 1'000'000'000;

std::string Quote(std::string_view s) {
  std::string out;
  JsonWriter::Escape(s.substr(0, kMaxQuotedBytes), &out);
  if (s.size() > kMaxQuotedBytes) out.insert(out.size() - 1, "...");
  return out;
}

enum class Role : uint8_t {
  kRoot,     // the top-level map
  kStreams,  // root["streams"]
  kStream,   // one element of streams
  kLabels,   // stream["stream"]: label name -> value
  kValues,   // stream["values"]
  kValue,    // one [ts, line(, metadata)] tuple
  kMeta,     // the tuple's metadata map
  kSkip,     // anything under a key we ignore
};

// The key whose value a kRoot or kStream frame is reading.
enum class Field : uint8_t { kNone, kStreams, kStream, kValues, kOther };

struct Frame {
  Role role;
  bool is_map = false;
  bool in_key = false;     // maps: between start_map_key and end_map_key
  Field field = Field::kNone;
  uint32_t index = 0;      // arrays: position of the current item
};

// What a scalar is, for dispatch and for "got …" in errors.
struct Scalar {
  enum class Kind { kNil, kBool, kUint, kInt, kFloat, kStr, kBin, kExt } kind;
  std::string_view bytes;  // kStr, kBin; kExt: type byte + data
  uint64_t u = 0;          // kUint
  int64_t i = 0;           // kInt (negative)
};

const char* KindName(Scalar::Kind k) {
  switch (k) {
    case Scalar::Kind::kNil: return "nil";
    case Scalar::Kind::kBool: return "boolean";
    case Scalar::Kind::kUint:
    case Scalar::Kind::kInt: return "integer";
    case Scalar::Kind::kFloat: return "float";
    case Scalar::Kind::kStr: return "string";
    case Scalar::Kind::kBin: return "bin";
    case Scalar::Kind::kExt: return "ext";
  }
  return "value";
}

// Unix nanoseconds from a msgpack timestamp ext payload (4, 8 or 12 bytes).
bool ExtTimestamp(std::string_view data, int64_t* ns) {
  auto be = [&](size_t off, size_t n) {
    uint64_t v = 0;
    for (size_t k = 0; k < n; k++) v = (v << 8) | static_cast<unsigned char>(data[off + k]);
    return v;
  };
  int64_t sec = 0;
  int64_t nsec = 0;
  if (data.size() == 4) {
    sec = static_cast<int64_t>(be(0, 4));
  } else if (data.size() == 8) {
    uint64_t v = be(0, 8);
    nsec = static_cast<int64_t>(v >> 34);
    sec = static_cast<int64_t>(v & ((uint64_t{1} << 34) - 1));
  } else if (data.size() == 12) {
    nsec = static_cast<int64_t>(be(0, 4));
    sec = static_cast<int64_t>(be(4, 8));
  } else {
    return false;
  }
  if (nsec >= kNanosPerSecond) return false;
  int64_t t;
  if (__builtin_mul_overflow(sec, kNanosPerSecond, &t) || __builtin_add_overflow(t, nsec, &t)) return false;
  *ns = t;
  return true;
}

class PushVisitor : public msgpack::null_visitor {
 public:
  PushVisitor(size_t body_bytes, Payload* out) : body_bytes_(body_bytes), out_(out) {}

  const Status& status() const { return status_; }

  bool visit_nil() { return OnScalar({Scalar::Kind::kNil, {}}); }
  bool visit_boolean(bool) { return OnScalar({Scalar::Kind::kBool, {}}); }
  bool visit_positive_integer(uint64_t v) {
    Scalar s{Scalar::Kind::kUint, {}};
    s.u = v;
    return OnScalar(s);
  }
  bool visit_negative_integer(int64_t v) {
    Scalar s{Scalar::Kind::kInt, {}};
    s.i = v;
    return OnScalar(s);
  }
  bool visit_float32(float) { return OnScalar({Scalar::Kind::kFloat, {}}); }
  bool visit_float64(double) { return OnScalar({Scalar::Kind::kFloat, {}}); }
  bool visit_str(const char* v, uint32_t n) { return OnScalar({Scalar::Kind::kStr, {v, n}}); }
  bool visit_bin(const char* v, uint32_t n) { return OnScalar({Scalar::Kind::kBin, {v, n}}); }
  bool visit_ext(const char* v, uint32_t n) { return OnScalar({Scalar::Kind::kExt, {v, n}}); }

  bool start_array(uint32_t n) { return OnContainer(false, n); }
  bool end_array_item() {
    stack_.back().index++;
    return true;
  }
  bool end_array() {
    stack_.pop_back();
    return true;
  }
  bool start_map(uint32_t n) { return OnContainer(true, n); }
  bool start_map_key() {
    stack_.back().in_key = true;
    return true;
  }
  bool end_map_key() {
    stack_.back().in_key = false;
    return true;
  }
  bool end_map_value() {
    Frame& f = stack_.back();
    f.index++;
    f.field = Field::kNone;
    return true;
  }
  bool end_map() {
    if (stack_.back().role == Role::kMeta && meta_pairs_ > 0) {
      meta_.EndObject();
      CurrentEntry().metadata = meta_.Take();
    }
    stack_.pop_back();
    return true;
  }
  void parse_error(size_t, size_t error_offset) {
    if (status_.ok()) {
      status_ = Status::InvalidArgument("malformed msgpack: invalid type byte at offset " +
                                        std::to_string(error_offset > 0 ? error_offset - 1 : 0));
    }
  }
  void insufficient_bytes(size_t, size_t) {
    if (status_.ok()) status_ = Status::InvalidArgument("malformed msgpack: body ends inside a value");
  }

 private:
  bool Fail(std::string msg) {
    if (status_.ok()) status_ = Status::InvalidArgument(std::move(msg));
    return false;
  }

  size_t StreamIndex() const { return out_->streams.size() - 1; }
  Stream& CurrentStream() { return out_->streams.back(); }
  Entry& CurrentEntry() { return CurrentStream().entries.back(); }

  std::string StreamPath() const { return "streams[" + std::to_string(StreamIndex()) + "]"; }
  std::string ValuePath() const {
    return StreamPath() + ".values[" + std::to_string(out_->streams.back().entries.size() - 1) + "]";
  }
  // Where the item about to be read sits, for "got …" errors.
  std::string Where() const {
    const Frame& f = stack_.back();
    switch (f.role) {
      case Role::kRoot:
        return f.field == Field::kStreams ? std::string("streams") : std::string("body");
      case Role::kStreams: return "streams[" + std::to_string(f.index) + "]";
      case Role::kStream:
        if (f.field == Field::kStream) return StreamPath() + ".stream";
        if (f.field == Field::kValues) return StreamPath() + ".values";
        return StreamPath();
      case Role::kLabels: return StreamPath() + ".stream";
      case Role::kValues: return StreamPath() + ".values[" + std::to_string(f.index) + "]";
      case Role::kValue: return ValuePath() + "[" + std::to_string(f.index) + "]";
      case Role::kMeta: return ValuePath() + "[2]";
      case Role::kSkip: return "body";
    }
    return "body";
  }

  // Names the key of a map being read, from its string.
  static Field FieldOf(Role role, std::string_view key) {
    if (role == Role::kRoot) return key == "streams" ? Field::kStreams : Field::kOther;
    if (key == "stream") return Field::kStream;
    if (key == "values") return Field::kValues;
    return Field::kOther;
  }

  bool OnScalar(const Scalar& s) {
    if (stack_.empty()) {
      return Fail(std::string("body: want a map with a \"streams\" array, got ") + KindName(s.kind));
    }
    Frame& f = stack_.back();
    if (f.role == Role::kSkip) return true;
    if (f.is_map && f.in_key) {
      if (s.kind != Scalar::Kind::kStr) {
        return Fail(Where() + ": map keys must be strings, got " + KindName(s.kind));
      }
      if (f.role == Role::kRoot || f.role == Role::kStream) {
        f.field = FieldOf(f.role, s.bytes);
      } else {
        key_ = s.bytes;  // kLabels, kMeta
      }
      return true;
    }
    switch (f.role) {
      case Role::kRoot:
        if (f.field == Field::kStreams) {
          return Fail(std::string("streams: want an array of streams, got ") + KindName(s.kind));
        }
        return true;
      case Role::kStream:
        if (f.field == Field::kStream) {
          return Fail(Where() + ": want a map of label names to string values, got " + KindName(s.kind));
        }
        if (f.field == Field::kValues) return Fail(Where() + ": want an array of values, got " + KindName(s.kind));
        return true;
      case Role::kLabels:
        if (s.kind != Scalar::Kind::kStr) {
          return Fail(Where() + "[" + Quote(key_) + "]: label value must be a string, got " + KindName(s.kind));
        }
        CurrentStream().labels.emplace_back(std::string(key_), std::string(s.bytes));
        return true;
      case Role::kMeta:
        if (s.kind != Scalar::Kind::kStr) {
          return Fail(Where() + "[" + Quote(key_) + "]: structured metadata value must be a string, got " +
                      KindName(s.kind));
        }
        if (meta_pairs_++ == 0) meta_.BeginObject();
        meta_.Key(key_);
        meta_.String(s.bytes);
        return true;
      case Role::kStreams:
        return Fail(Where() + ": want a map with \"stream\" and \"values\", got " + KindName(s.kind));
      case Role::kValues:
        return Fail(Where() + ": want a [timestamp, line] array, optionally followed by a metadata map, got " +
                    KindName(s.kind));
      case Role::kValue: return OnTupleItem(f.index, s);
      case Role::kSkip: return true;
    }
    return true;
  }

  bool OnTupleItem(uint32_t index, const Scalar& s) {
    Entry& e = CurrentEntry();
    if (index == 0) {
      switch (s.kind) {
        case Scalar::Kind::kStr:
          if (!ParseInt64(s.bytes, &e.ts)) {
            return Fail(Where() + ": timestamp " + Quote(s.bytes) + " is not a decimal int64 of nanoseconds");
          }
          return true;
        case Scalar::Kind::kUint:
          if (s.u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
            return Fail(Where() + ": timestamp " + std::to_string(s.u) + " does not fit an int64 of nanoseconds");
          }
          e.ts = static_cast<int64_t>(s.u);
          return true;
        case Scalar::Kind::kInt: e.ts = s.i; return true;
        case Scalar::Kind::kExt:
          if (s.bytes.empty() || static_cast<int8_t>(s.bytes[0]) != kTimestampExt ||
              !ExtTimestamp(s.bytes.substr(1), &e.ts)) {
            return Fail(Where() + ": ext value is not a msgpack timestamp (type -1) within int64 nanoseconds");
          }
          return true;
        default:
          return Fail(Where() +
                      ": timestamp must be unix nanoseconds (string or integer) or a msgpack timestamp, got " +
                      KindName(s.kind));
      }
    }
    if (index == 1) {
      if (s.kind != Scalar::Kind::kStr && s.kind != Scalar::Kind::kBin) {
        return Fail(Where() + ": line must be a string, got " + KindName(s.kind));
      }
      e.line.assign(s.bytes);
      return true;
    }
    if (s.kind == Scalar::Kind::kNil) return true;  // no metadata
    return Fail(Where() + ": structured metadata must be a map of strings, got " + KindName(s.kind));
  }

  bool OnContainer(bool is_map, uint32_t n) {
    const char* got = is_map ? "map" : "array";
    if (stack_.size() >= kMaxMsgpackDepth) {
      return Fail("malformed msgpack: nested deeper than " + std::to_string(kMaxMsgpackDepth) + " levels");
    }
    if (stack_.empty()) {
      if (!is_map) return Fail("body: want a map with a \"streams\" array, got array");
      stack_.push_back({Role::kRoot, true});
      return true;
    }
    Frame& f = stack_.back();
    Role role = Role::kSkip;
    if (f.role == Role::kSkip) {
      role = Role::kSkip;
    } else if (f.is_map && f.in_key) {
      return Fail(Where() + ": map keys must be strings, got " + got);
    } else {
      switch (f.role) {
        case Role::kRoot:
          if (f.field == Field::kStreams) {
            if (is_map) return Fail(std::string("streams: want an array of streams, got map"));
            role = Role::kStreams;
            out_->streams.reserve(std::min<size_t>(n, body_bytes_ / kMinStreamBytes));
          }
          break;
        case Role::kStreams:
          if (!is_map) return Fail(Where() + ": want a map with \"stream\" and \"values\", got array");
          role = Role::kStream;
          out_->streams.emplace_back();
          break;
        case Role::kStream:
          if (f.field == Field::kStream) {
            if (!is_map) return Fail(Where() + ": want a map of label names to string values, got array");
            role = Role::kLabels;
            CurrentStream().labels.reserve(std::min<size_t>(n, body_bytes_ / kMinLabelBytes));
          } else if (f.field == Field::kValues) {
            if (is_map) return Fail(Where() + ": want an array of values, got map");
            role = Role::kValues;
            CurrentStream().entries.reserve(std::min<size_t>(n, body_bytes_ / kMinValueBytes));
          }
          break;
        case Role::kLabels:
          return Fail(Where() + "[" + Quote(key_) + "]: label value must be a string, got " + got);
        case Role::kMeta:
          return Fail(Where() + "[" + Quote(key_) + "]: structured metadata value must be a string, got " + got);
        case Role::kValues:
          if (is_map || n < 2 || n > 3) {
            return Fail(Where() + ": want a [timestamp, line] array, optionally followed by a metadata map");
          }
          role = Role::kValue;
          CurrentStream().entries.emplace_back();
          break;
        case Role::kValue:
          if (f.index == 2 && is_map) {
            role = Role::kMeta;
            meta_pairs_ = 0;
            meta_ = JsonWriter();
          } else if (f.index == 2) {
            return Fail(Where() + ": structured metadata must be a map of strings, got array");
          } else if (f.index == 1) {
            return Fail(Where() + ": line must be a string, got " + got);
          } else {
            return Fail(Where() + ": timestamp must be unix nanoseconds (string or integer), got " + got);
          }
          break;
        case Role::kSkip: break;
      }
    }
    stack_.push_back({role, is_map});
    return true;
  }

  const size_t body_bytes_;
  Payload* const out_;
  Status status_;
  std::vector<Frame> stack_;  // open containers, innermost last; at most kMaxMsgpackDepth
  std::string_view key_;      // kLabels/kMeta: the key whose value comes next
  JsonWriter meta_;           // the metadata map being read
  size_t meta_pairs_ = 0;     // pairs written to meta_
};

}  // namespace

Status DecodeMsgpackPush(std::string_view body, const Limits& limits, Payload* out) {
  out->streams.clear();
  if (body.empty()) return Status::InvalidArgument("malformed msgpack: empty body");
  PushVisitor v(body.size(), out);
  size_t off = 0;
  bool ok = false;
  try {
    ok = msgpack::parse(body.data(), body.size(), off, v);
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("decoding msgpack push body: out of memory");
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("malformed msgpack: ") + e.what());
  }
  if (!v.status().ok()) return v.status();
  if (!ok) return Status::InvalidArgument("malformed msgpack");
  if (off != body.size()) {
    return Status::InvalidArgument("malformed msgpack: " + std::to_string(body.size() - off) +
                                   " bytes after the end of the document");
  }
  return ValidatePayload(out, limits);
}

}  // namespace loge::ingest
