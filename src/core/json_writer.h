// JsonWriter: a small append-only JSON builder for responses and label sets.
//
// Thread-safety: one writer per thread. It does not validate nesting; callers
// pair Begin/End. Strings are escaped per RFC 8259; invalid UTF-8 bytes are
// replaced by U+FFFD so the output is always valid JSON.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace loge {

class JsonWriter {
 public:
  void BeginObject() { Sep(); out_.push_back('{'); first_ = true; }
  void EndObject() { out_.push_back('}'); first_ = false; }
  void BeginArray() { Sep(); out_.push_back('['); first_ = true; }
  void EndArray() { out_.push_back(']'); first_ = false; }
  void Key(std::string_view k) { Sep(); AppendEscaped(k); out_.push_back(':'); first_ = true; }
  void String(std::string_view s) { Sep(); AppendEscaped(s); }
  void Int(int64_t v) { Sep(); out_ += std::to_string(v); }
  void Uint(uint64_t v) { Sep(); out_ += std::to_string(v); }
  void Bool(bool b) { Sep(); out_ += b ? "true" : "false"; }
  void Null() { Sep(); out_ += "null"; }
  // Inserts already-serialized JSON (a label object stored as text, ...).
  void Raw(std::string_view json) { Sep(); out_ += json; }

  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

  // Appends s as a quoted JSON string to *out.
  static void Escape(std::string_view s, std::string* out);

 private:
  void Sep() {
    if (!first_) out_.push_back(',');
    first_ = false;
  }
  void AppendEscaped(std::string_view s) { Escape(s, &out_); }

  std::string out_;
  bool first_ = true;
};

}  // namespace loge
