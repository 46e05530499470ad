// AWS credentials and region from the standard chain, never from flags:
//
//   1. environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN)
//   2. shared credentials file: AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials,
//      section "[<profile>]"
//   3. shared config file: AWS_CONFIG_FILE or ~/.aws/config, section
//      "[profile <profile>]" (or "[default]" for the default profile)
//
// The profile is AWS_PROFILE, else AWS_DEFAULT_PROFILE, else "default". The
// region is AWS_REGION, else AWS_DEFAULT_REGION, else the profile's `region`
// in the config file. Not supported: credential_process, SSO, web identity,
// container and instance metadata (docs/s3.md).
//
// Secrets never appear in a Status message or a log line; messages name the
// variable, file and profile instead.
//
// Thread-safety: pure functions of the environment lookup they are given.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace loge::tier {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty for long-term keys
  // Where they came from, for logs: "environment" or "<file> [profile]".
  std::string source;
};

// Looks up one environment variable; nullopt when unset. Tests pass a map.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
// The process environment (getenv).
EnvLookup ProcessEnv();

// An AWS INI file: section name -> key -> value. Section names are kept as
// written between the brackets, trimmed ("profile dev"). Keys are lowercased.
// '#' and ';' start comment lines; indented lines after "key =" (nested
// settings such as `s3 =`) are skipped.
using IniFile = std::map<std::string, std::map<std::string, std::string>>;
// InvalidArgument naming the line for a line that is not a section, a
// comment, a "key = value" or a nested setting.
Result<IniFile> ParseAwsIni(std::string_view text);

// Credentials from the chain above. NotFound when no source has any, naming
// the places looked at; InvalidArgument for a half-set pair (key id without
// secret), a profile named by AWS_PROFILE that exists nowhere, or an
// unparsable file.
Result<AwsCredentials> LoadAwsCredentials(const EnvLookup& env = ProcessEnv());

// The region from the chain above; empty when none is configured.
Result<std::string> LoadAwsRegion(const EnvLookup& env = ProcessEnv());

}  // namespace loge::tier
