// The little XML that S3 answers with, read without an XML library: error
// bodies (<Error><Code>…</Code><Message>…</Message>), ListBucketResult,
// multipart results. Elements are found by local name at any depth; S3 bodies
// have no attributes we need, no CDATA and no namespace prefixes.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace loge::tier::xml {

// Replaces &lt; &gt; &amp; &quot; &apos; and numeric &#N; / &#xH; references.
std::string DecodeEntities(std::string_view s);
// Escapes & < > " ' for text content.
std::string Escape(std::string_view s);

// The name of the root element, skipping the <?xml?> declaration and
// comments; empty when the body is not XML.
std::string RootName(std::string_view doc);

// The decoded text of the first <name>…</name> (or "" for <name/>) in doc;
// nullopt when there is none.
std::optional<std::string> FirstText(std::string_view doc, std::string_view name);

// The raw inner XML of every <name>…</name> in doc, in order. Elements of
// the same name nested inside one another are not supported (S3 has none).
std::vector<std::string_view> Elements(std::string_view doc, std::string_view name);

}  // namespace loge::tier::xml
