#include "tier/aws_credentials.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

namespace loge::tier {
namespace {

namespace fs = std::filesystem;

// A fake environment and a temp HOME holding ~/.aws/{credentials,config}.
class AwsChain : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/loge-aws-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    home_ = tmpl;
    fs::create_directories(home_ / ".aws");
    vars_["HOME"] = home_.string();
  }
  void TearDown() override { fs::remove_all(home_); }

  void Write(const fs::path& p, const std::string& text) {
    std::ofstream(p, std::ios::binary) << text;
  }
  void Credentials(const std::string& text) { Write(home_ / ".aws/credentials", text); }
  void Config(const std::string& text) { Write(home_ / ".aws/config", text); }
  EnvLookup Env() {
    return [this](const std::string& n) -> std::optional<std::string> {
      auto it = vars_.find(n);
      if (it == vars_.end()) return std::nullopt;
      return it->second;
    };
  }

  fs::path home_;
  std::map<std::string, std::string> vars_;
};

TEST(AwsIni, ParsesSectionsKeysCommentsAndNestedSettings) {
  auto ini = ParseAwsIni(
      "# comment\n"
      "; another\n"
      "[default]\n"
      "aws_access_key_id = AKID\n"
      "AWS_Secret_Access_Key=se=cret#notacomment \n"
      "region = eu-west-1 # trailing comment\n"
      "s3 =\n"
      "  addressing_style = path\n"
      "  max_concurrent_requests = 4\n"
      "\r\n"
      "[ profile dev ]\r\n"
      "region=us-west-2\r\n");
  ASSERT_TRUE(ini.ok()) << ini.status().ToString();
  ASSERT_EQ(ini->size(), 2u);
  const auto& d = ini->at("default");
  EXPECT_EQ(d.at("aws_access_key_id"), "AKID");
  EXPECT_EQ(d.at("aws_secret_access_key"), "se=cret#notacomment");
  EXPECT_EQ(d.at("region"), "eu-west-1");
  EXPECT_EQ(d.count("addressing_style"), 0u);
  EXPECT_EQ(d.count("s3"), 0u);
  EXPECT_EQ(ini->at("profile dev").at("region"), "us-west-2");
}

TEST(AwsIni, RejectsGarbage) {
  auto check = [](std::string_view text, std::string_view want) {
    SCOPED_TRACE(std::string(text));
    auto ini = ParseAwsIni(text);
    ASSERT_FALSE(ini.ok());
    EXPECT_EQ(ini.status().code(), Code::kInvalidArgument);
    EXPECT_NE(ini.status().message().find(want), std::string::npos) << ini.status().ToString();
  };
  check("key = value\n", "line 1");
  check("[default]\nnot a pair\n", "line 2");
  check("[default\n", "line 1");
  check("\n\n[x]\n\x01\x02\n", "line 4");
}

TEST_F(AwsChain, EnvironmentComesFirst) {
  vars_["AWS_ACCESS_KEY_ID"] = "ENVKEY";
  vars_["AWS_SECRET_ACCESS_KEY"] = "envsecret";
  vars_["AWS_SESSION_TOKEN"] = "envtoken";
  Credentials("[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n");
  auto c = LoadAwsCredentials(Env());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "ENVKEY");
  EXPECT_EQ(c->secret_access_key, "envsecret");
  EXPECT_EQ(c->session_token, "envtoken");
  EXPECT_EQ(c->source, "environment");
}

TEST_F(AwsChain, HalfSetEnvironmentIsAnErrorWithoutTheSecret) {
  vars_["AWS_SECRET_ACCESS_KEY"] = "topsecret";
  auto c = LoadAwsCredentials(Env());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find("AWS_ACCESS_KEY_ID"), std::string::npos);
  EXPECT_EQ(c.status().message().find("topsecret"), std::string::npos);
}

TEST_F(AwsChain, CredentialsFileDefaultProfile) {
  Credentials("[other]\naws_access_key_id = O\naws_secret_access_key = o\n"
              "[default]\naws_access_key_id = D\naws_secret_access_key = d\n"
              "aws_session_token = t\n");
  auto c = LoadAwsCredentials(Env());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "D");
  EXPECT_EQ(c->secret_access_key, "d");
  EXPECT_EQ(c->session_token, "t");
  EXPECT_EQ(c->source, (home_ / ".aws/credentials").string() + " [default]");
}

TEST_F(AwsChain, ProfileFromAwsProfile) {
  vars_["AWS_PROFILE"] = "other";
  vars_["AWS_DEFAULT_PROFILE"] = "ignored";
  Credentials("[other]\naws_access_key_id = O\naws_secret_access_key = o\n"
              "[default]\naws_access_key_id = D\naws_secret_access_key = d\n");
  auto c = LoadAwsCredentials(Env());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "O");
}

TEST_F(AwsChain, CredentialsFileBeatsConfigFile) {
  Credentials("[default]\naws_access_key_id = C\naws_secret_access_key = c\n");
  Config("[default]\naws_access_key_id = F\naws_secret_access_key = f\n");
  auto c = LoadAwsCredentials(Env());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "C");
}

TEST_F(AwsChain, ConfigFileUsesProfilePrefixedSections) {
  vars_["AWS_PROFILE"] = "dev";
  // "[dev]" in the config file is not the dev profile; "[profile dev]" is.
  Config("[dev]\naws_access_key_id = WRONG\naws_secret_access_key = wrong\n"
         "[profile dev]\naws_access_key_id = DEV\naws_secret_access_key = dev\n"
         "region = ap-south-1\n");
  auto c = LoadAwsCredentials(Env());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "DEV");
  auto r = LoadAwsRegion(Env());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "ap-south-1");
}

TEST_F(AwsChain, FileLocationsFromTheEnvironment) {
  Write(home_ / "creds.ini", "[default]\naws_access_key_id = X\naws_secret_access_key = x\n");
  Write(home_ / "conf.ini", "[profile default]\nregion = sa-east-1\n");
  Credentials("[default]\naws_access_key_id = HOME\naws_secret_access_key = home\n");
  vars_["AWS_SHARED_CREDENTIALS_FILE"] = (home_ / "creds.ini").string();
  vars_["AWS_CONFIG_FILE"] = (home_ / "conf.ini").string();
  auto c = LoadAwsCredentials(Env());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "X");
  EXPECT_EQ(*LoadAwsRegion(Env()), "sa-east-1");
}

TEST_F(AwsChain, RegionPrecedence) {
  Config("[default]\nregion = from-config\n");
  EXPECT_EQ(*LoadAwsRegion(Env()), "from-config");
  vars_["AWS_DEFAULT_REGION"] = "from-default-region";
  EXPECT_EQ(*LoadAwsRegion(Env()), "from-default-region");
  vars_["AWS_REGION"] = "from-region";
  EXPECT_EQ(*LoadAwsRegion(Env()), "from-region");
}

TEST_F(AwsChain, NoRegionAnywhereIsEmpty) {
  auto r = LoadAwsRegion(Env());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "");
}

TEST_F(AwsChain, NothingConfiguredIsNotFound) {
  auto c = LoadAwsCredentials(Env());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kNotFound);
  EXPECT_NE(c.status().message().find("AWS_ACCESS_KEY_ID"), std::string::npos);
}

TEST_F(AwsChain, MissingNamedProfileIsAnError) {
  vars_["AWS_PROFILE"] = "nope";
  Credentials("[default]\naws_access_key_id = D\naws_secret_access_key = d\n");
  auto c = LoadAwsCredentials(Env());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find("'nope'"), std::string::npos);
}

TEST_F(AwsChain, KeyIdWithoutSecretNamesTheFileNotTheKey) {
  Credentials("[default]\naws_access_key_id = AKIDONLY\n");
  auto c = LoadAwsCredentials(Env());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find("credentials [default]"), std::string::npos);
  EXPECT_EQ(c.status().message().find("AKIDONLY"), std::string::npos);
}

TEST_F(AwsChain, UnparsableFileNamesTheFileAndLine) {
  Credentials("[default]\nthis line is broken\n");
  auto c = LoadAwsCredentials(Env());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(".aws/credentials: line 2"), std::string::npos)
      << c.status().ToString();
}

}  // namespace
}  // namespace loge::tier
