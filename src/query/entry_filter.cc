// Query::MatchesEntry: label filter stages over an entry's structured
// metadata and its stream's labels.
//
// The metadata is the flat JSON object the push decoders write
// ({"trace_id":"abc"}), kept as text in the head and in segment blocks. It is
// scanned in place per filter, without building a DOM: the objects are a few
// dozen bytes and queries carry one or two filters, so a scan beats a parser
// that would copy and pad the text first.
#include <algorithm>
#include <cstdint>

#include "query/engine.h"
#include "query/pipeline.h"

#include "query/metadata_json.h"

namespace loge::query {
namespace {


const std::string* StreamLabel(const Labels& stream, std::string_view name) {
  auto it = std::lower_bound(stream.begin(), stream.end(), name,
                             [](const auto& kv, std::string_view n) { return kv.first < n; });
  return it != stream.end() && it->first == name ? &it->second : nullptr;
}

}  // namespace

bool Query::MatchesEntry(const Labels& stream, std::string_view metadata_json) const {
  if (entry_filters.empty()) return true;
  std::string scratch, value;
  for (const auto& f : entry_filters) {
    std::string_view name = f.name();
    std::string_view v;
    if (const std::string* s = StreamLabel(stream, name)) {
      v = *s;
    } else if (!metadata_json.empty() && FindMetadata(metadata_json, name, &scratch, &value)) {
      v = value;
    } else if (!metadata_json.empty() && name.size() > kExtractedSuffix.size() && name.ends_with(kExtractedSuffix)) {
      std::string_view base = name.substr(0, name.size() - kExtractedSuffix.size());
      if (StreamLabel(stream, base) != nullptr && FindMetadata(metadata_json, base, &scratch, &value)) v = value;
    }
    if (!f.MatchesValue(v)) return false;
  }
  return true;
}

}  // namespace loge::query
