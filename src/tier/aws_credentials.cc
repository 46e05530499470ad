#include "tier/aws_credentials.h"

#include <pwd.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

namespace loge::tier {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<std::string> NonEmpty(const EnvLookup& env, const std::string& name) {
  auto v = env(name);
  if (v && !v->empty()) return v;
  return std::nullopt;
}

std::string HomeDir(const EnvLookup& env) {
  if (auto home = NonEmpty(env, "HOME")) return *home;
  if (const passwd* pw = getpwuid(getuid()); pw != nullptr && pw->pw_dir != nullptr) {
    return pw->pw_dir;
  }
  return "";
}

// The two shared files and the profile, resolved once per load.
struct SharedFiles {
  std::string credentials_path;
  std::string config_path;
  std::string profile;
  bool profile_explicit = false;  // named by AWS_PROFILE / AWS_DEFAULT_PROFILE
};

SharedFiles ResolveSharedFiles(const EnvLookup& env) {
  SharedFiles f;
  std::string home = HomeDir(env);
  f.credentials_path = NonEmpty(env, "AWS_SHARED_CREDENTIALS_FILE")
                           .value_or(home.empty() ? "" : home + "/.aws/credentials");
  f.config_path =
      NonEmpty(env, "AWS_CONFIG_FILE").value_or(home.empty() ? "" : home + "/.aws/config");
  if (auto p = NonEmpty(env, "AWS_PROFILE")) {
    f.profile = *p;
    f.profile_explicit = true;
  } else if (auto q = NonEmpty(env, "AWS_DEFAULT_PROFILE")) {
    f.profile = *q;
    f.profile_explicit = true;
  } else {
    f.profile = "default";
  }
  return f;
}

// Reads and parses path; an absent file is an empty IniFile, not an error.
Result<IniFile> ReadIni(const std::string& path) {
  if (path.empty()) return IniFile{};
  std::ifstream in(path, std::ios::binary);
  if (!in) return IniFile{};
  std::stringstream ss;
  ss << in.rdbuf();
  auto ini = ParseAwsIni(ss.str());
  if (!ini.ok()) return ini.status().WithContext(path);
  return ini;
}

// The section of `profile` in the credentials file ("[name]").
const std::map<std::string, std::string>* CredentialsSection(const IniFile& ini,
                                                             const std::string& profile) {
  auto it = ini.find(profile);
  return it == ini.end() ? nullptr : &it->second;
}

// The section of `profile` in the config file: "[profile name]", and for the
// default profile also "[default]".
const std::map<std::string, std::string>* ConfigSection(const IniFile& ini,
                                                        const std::string& profile) {
  for (const auto& [name, keys] : ini) {
    std::string_view n = name;
    if (n.substr(0, 7) == "profile" && n.size() > 7 &&
        std::isspace(static_cast<unsigned char>(n[7])) && Trim(n.substr(7)) == profile) {
      return &keys;
    }
  }
  if (profile == "default") {
    if (auto it = ini.find("default"); it != ini.end()) return &it->second;
  }
  return nullptr;
}

std::string Get(const std::map<std::string, std::string>& keys, const std::string& k) {
  auto it = keys.find(k);
  return it == keys.end() ? "" : it->second;
}

// Credentials from one section, or nullopt when it has no key id. A key id
// without a secret is an error naming where.
Result<std::optional<AwsCredentials>> FromSection(const std::map<std::string, std::string>& keys,
                                                  const std::string& where) {
  std::string id = Get(keys, "aws_access_key_id");
  std::string secret = Get(keys, "aws_secret_access_key");
  if (id.empty() && secret.empty()) return std::optional<AwsCredentials>();
  if (id.empty() || secret.empty()) {
    return Status::InvalidArgument(where + " sets only one of aws_access_key_id and " +
                                   "aws_secret_access_key");
  }
  AwsCredentials c{id, secret, Get(keys, "aws_session_token"), where};
  if (c.session_token.empty()) c.session_token = Get(keys, "aws_security_token");
  return std::optional<AwsCredentials>(std::move(c));
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<IniFile> ParseAwsIni(std::string_view text) {
  IniFile ini;
  std::map<std::string, std::string>* section = nullptr;
  bool in_nested = false;  // after "key =" with no value: indented lines belong to it
  int line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    std::string_view line = Trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    bool indented = std::isspace(static_cast<unsigned char>(raw[0]));
    if (indented && in_nested) continue;
    if (line.front() == '[') {
      if (line.back() != ']') {
        return Status::InvalidArgument("line " + std::to_string(line_no) +
                                       ": section header without ']'");
      }
      section = &ini[std::string(Trim(line.substr(1, line.size() - 2)))];
      in_nested = false;
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos || section == nullptr) {
      return Status::InvalidArgument("line " + std::to_string(line_no) + ": expected " +
                                     (section == nullptr ? "a [section] first" : "key = value"));
    }
    std::string key = Lower(Trim(line.substr(0, eq)));
    std::string_view value = Trim(line.substr(eq + 1));
    // An inline comment needs whitespace before '#' or ';' (values may contain them).
    for (size_t i = 1; i < value.size(); ++i) {
      if ((value[i] == '#' || value[i] == ';') &&
          std::isspace(static_cast<unsigned char>(value[i - 1]))) {
        value = Trim(value.substr(0, i));
        break;
      }
    }
    in_nested = value.empty();
    if (!in_nested) (*section)[key] = std::string(value);
  }
  return ini;
}

Result<AwsCredentials> LoadAwsCredentials(const EnvLookup& env) {
  auto id = NonEmpty(env, "AWS_ACCESS_KEY_ID");
  auto secret = NonEmpty(env, "AWS_SECRET_ACCESS_KEY");
  if (id && secret) {
    return AwsCredentials{*id, *secret, NonEmpty(env, "AWS_SESSION_TOKEN").value_or(""),
                          "environment"};
  }
  if (id || secret) {
    return Status::InvalidArgument(
        std::string("environment sets ") + (id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY") +
        " without " + (id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID"));
  }

  SharedFiles f = ResolveSharedFiles(env);
  LOGE_ASSIGN_OR_RETURN(IniFile creds, ReadIni(f.credentials_path));
  LOGE_ASSIGN_OR_RETURN(IniFile config, ReadIni(f.config_path));
  const auto* cs = CredentialsSection(creds, f.profile);
  const auto* fs = ConfigSection(config, f.profile);
  if (cs != nullptr) {
    LOGE_ASSIGN_OR_RETURN(auto c, FromSection(*cs, f.credentials_path + " [" + f.profile + "]"));
    if (c) return std::move(*c);
  }
  if (fs != nullptr) {
    LOGE_ASSIGN_OR_RETURN(auto c, FromSection(*fs, f.config_path + " [" + f.profile + "]"));
    if (c) return std::move(*c);
  }
  if (f.profile_explicit && cs == nullptr && fs == nullptr) {
    return Status::InvalidArgument("AWS profile '" + f.profile + "' (from AWS_PROFILE) is in " +
                                   "neither " + f.credentials_path + " nor " + f.config_path);
  }
  return Status::NotFound(
      "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or add "
      "aws_access_key_id/aws_secret_access_key to profile '" +
      f.profile + "' in " + f.credentials_path);
}

Result<std::string> LoadAwsRegion(const EnvLookup& env) {
  if (auto r = NonEmpty(env, "AWS_REGION")) return *r;
  if (auto r = NonEmpty(env, "AWS_DEFAULT_REGION")) return *r;
  SharedFiles f = ResolveSharedFiles(env);
  LOGE_ASSIGN_OR_RETURN(IniFile config, ReadIni(f.config_path));
  if (const auto* s = ConfigSection(config, f.profile)) return Get(*s, "region");
  return std::string();
}

}  // namespace loge::tier
