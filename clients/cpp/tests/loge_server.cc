#include "loge_server.h"

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <regex>

#include "loge/client.h"

namespace loge::test {
namespace {

// Generous: the suites run in parallel with others on two cores.
constexpr auto kStartTimeout = std::chrono::seconds(30);
constexpr auto kStopTimeout = std::chrono::seconds(30);

size_t AppendBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

}  // namespace

std::string LogeServer::BinaryPath() {
  const char* bin = std::getenv("LOGE_BIN");
  return bin == nullptr ? "" : bin;
}

LogeServer::LogeServer(std::vector<std::string> args, const std::string& port) {
  const std::string bin = BinaryPath();
  char tmpl[] = "/tmp/loge-cpp-it-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    error_ = "mkdtemp failed";
    return;
  }
  dir_ = tmpl;
  int out[2];
  if (pipe(out) != 0) {
    error_ = "pipe failed";
    return;
  }
  std::vector<std::string> argv_s = {bin, "--port", port, "--output-path", dir_};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  pid_ = fork();
  if (pid_ == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  const int fd = out[0];
  // Read until "listening on <addr>:<port>", with a deadline.
  const std::regex listening(R"(listening on \S+:(\d+))");
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  std::string seen;
  char buf[4096];
  while (url_.empty()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      error_ = "loge did not log 'listening on' within 30 s; output: " + seen;
      break;
    }
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) {
      error_ = "loge exited before listening; output: " + seen;
      break;
    }
    seen.append(buf, static_cast<size_t>(n));
    std::smatch m;
    if (std::regex_search(seen, m, listening)) url_ = "http://127.0.0.1:" + m[1].str();
  }
  reader_ = std::thread([fd] {
    char drain[4096];
    while (read(fd, drain, sizeof(drain)) > 0) {
    }
    close(fd);
  });
}

LogeServer::~LogeServer() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + kStopTimeout;
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "loge did not stop within 30 s of SIGTERM";
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling the exit, with a deadline
    }
  }
  if (reader_.joinable()) reader_.join();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::vector<Row> LogeServer::Query(const std::string& selector, const std::string& api_key) const {
  std::string request = "{\"query\":";
  AppendJsonString(selector, &request);
  request += ",\"limit\":5000}";
  CURL* curl = curl_easy_init();
  std::string body;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  const std::string auth = "Authorization: Bearer " + api_key;
  if (!api_key.empty()) headers = curl_slist_append(headers, auth.c_str());
  const std::string url = url_ + "/api/v1/query";
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  std::vector<Row> rows;
  if (rc != CURLE_OK || status != 200) {
    ADD_FAILURE() << "query " << selector << ": " << curl_easy_strerror(rc) << " " << status << " " << body;
    return rows;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::array data;
  if (parser.parse(body).get(doc) != simdjson::SUCCESS || doc["data"].get_array().get(data) != simdjson::SUCCESS) {
    ADD_FAILURE() << "query answer is not {\"data\":[…]}: " << body.substr(0, 300);
    return rows;
  }
  for (simdjson::dom::element r : data) {
    Row row;
    int64_t ts = 0;
    std::string_view sv;
    if (r["timestamp"].get_int64().get(ts) == simdjson::SUCCESS) {
      row.timestamp = std::to_string(ts);
    } else if (r["timestamp"].get_string().get(sv) == simdjson::SUCCESS) {
      row.timestamp = std::string(sv);
    }
    if (r["line"].get_string().get(sv) == simdjson::SUCCESS) row.line = std::string(sv);
    simdjson::dom::object labels;
    if (r["labels"].get_object().get(labels) == simdjson::SUCCESS) {
      for (auto kv : labels) row.labels[std::string(kv.key)] = std::string(std::string_view(kv.value));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace loge::test
