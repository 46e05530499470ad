// Structured metadata as loge stores it: a flat JSON object of strings
// ({"trace_id":"abc"}), kept as text in the head and in segment blocks.
// Read in place, without building a DOM: the objects are a few dozen bytes.
//
// Thread-safety: pure functions.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace loge::query {

// The value of `key` in a flat JSON object of strings. False when the key is
// absent or the text is not such an object (up to the key).
bool FindMetadata(std::string_view json, std::string_view key, std::string* scratch, std::string* value);

// Calls fn(key, value) for every member, in order, until the end or the
// first malformed byte (members before it are still reported).
void ForEachMetadata(std::string_view json, const std::function<void(std::string_view, std::string_view)>& fn);

// Reads the JSON string whose opening quote is at j[*i]; moves *i past the
// closing quote. Without escapes *out views j; with them it views *scratch.
bool ReadJsonString(std::string_view j, size_t* i, std::string* scratch, std::string_view* out);

}  // namespace loge::query
