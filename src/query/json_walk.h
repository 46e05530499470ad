// A lenient JSON walker with the failure modes (and messages) of the Go
// library Loki's json stage uses, so `| json` sets the same __error__ and
// __error_details__ on the same lines: it walks members in place without
// validating what it does not visit.
//
// Thread-safety: pure functions.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace loge::query::json_walk {

enum class Type { kString, kNumber, kObject, kArray, kBool, kNull };

// The messages Loki reports in __error_details__.
inline constexpr std::string_view kMalformedJson = "Malformed JSON error";
inline constexpr std::string_view kMalformedString = "Value is string, but can't find closing '\"' symbol";
inline constexpr std::string_view kMalformedArray = "Value is array, but can't find closing ']' symbol";
inline constexpr std::string_view kMalformedObject = "Value looks like object, but can't find closing '}' symbol";
inline constexpr std::string_view kUnknownValueType = "Unknown value type";
inline constexpr std::string_view kMalformedEscape = "Encountered an invalid escape sequence in a string";

// A member's value: its raw text (a string without its quotes).
struct Value {
  Type type;
  std::string_view raw;
};

// Calls fn(key, value) for each member of the object at the start of
// `data` (after whitespace); fn returns false to stop (no error). Returns
// "" on success or the error message.
std::string_view ObjectEach(std::string_view data, const std::function<bool(std::string_view, const Value&)>& fn);

// The value at the start of `data` (after whitespace); *end = offset one
// past it. "" on success or the error message.
std::string_view GetValue(std::string_view data, Value* out, size_t* end);

// Calls fn(value) for each element of the array at the start of `data`;
// "" on success or the error message.
std::string_view ArrayEach(std::string_view data, const std::function<bool(const Value&)>& fn);

// Unescapes a JSON string body (without quotes); false on a bad escape.
bool Unescape(std::string_view raw, std::string* out);

}  // namespace loge::query::json_walk
