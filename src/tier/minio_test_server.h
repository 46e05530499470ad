// MinioServer: a real MinIO process on 127.0.0.1:<free port> with a temp
// data dir, for tests only (docs/s3.md). The binary is the one
// scripts/minio.sh installs ($LOGE_MINIO_BIN, else
// ${XDG_CACHE_HOME:-$HOME/.cache}/loge/bin/minio, else `minio` on PATH).
//
// Thread-safety: one test thread owns it. The destructor stops the process
// and removes its data.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"

extern char** environ;

namespace loge::tier {

class MinioServer {
 public:
  // Root credentials of every test server: loopback only, throwaway data.
  static constexpr const char* kUser = "loge-test-root";
  static constexpr const char* kPassword = "loge-test-secret-key";

  MinioServer() = default;
  ~MinioServer() { Stop(); }
  MinioServer(const MinioServer&) = delete;
  MinioServer& operator=(const MinioServer&) = delete;

  // The binary's path, or "" when MinIO is not installed.
  static std::string FindBinary() {
    namespace fs = std::filesystem;
    auto exec = [](const fs::path& p) { return !p.empty() && access(p.c_str(), X_OK) == 0; };
    if (const char* b = std::getenv("LOGE_MINIO_BIN"); b != nullptr && exec(b)) return b;
    fs::path cache;
    if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x != '\0') {
      cache = x;
    } else if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') {
      cache = fs::path(h) / ".cache";
    }
    if (!cache.empty() && exec(cache / "loge/bin/minio")) return cache / "loge/bin/minio";
    if (const char* path = std::getenv("PATH")) {
      std::string_view p = path;
      while (!p.empty()) {
        size_t c = p.find(':');
        fs::path cand = fs::path(std::string(p.substr(0, c))) / "minio";
        if (exec(cand)) return cand;
        p = c == std::string_view::npos ? std::string_view() : p.substr(c + 1);
      }
    }
    return "";
  }

  // A TCP port on 127.0.0.1 that was free a moment ago.
  static int FreePort() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      port = ntohs(a.sin_port);
    }
    close(fd);
    return port;
  }

  // Starts the server and waits until it is ready (30 s at most).
  Status Start(const std::string& binary) {
    char tmpl[] = "/tmp/loge-minio-test.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return Status::IOError("mkdtemp failed");
    data_dir_ = tmpl;
    int port = FreePort();
    if (port <= 0) return Status::IOError("no free port");
    endpoint_ = "http://127.0.0.1:" + std::to_string(port);

    std::string addr = "127.0.0.1:" + std::to_string(port);
    std::string store = data_dir_ + "/store";
    std::string log = data_dir_ + "/minio.log";
    std::vector<std::string> args = {binary, "server", "--quiet", "--address", addr, store};
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
    env.push_back(std::string("MINIO_ROOT_USER=") + kUser);
    env.push_back(std::string("MINIO_ROOT_PASSWORD=") + kPassword);
    env.push_back("MINIO_BROWSER=off");
    env.push_back("MINIO_UPDATE=off");
    env.push_back("MINIO_CI_CD=1");
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    int rc = posix_spawn(&pid_, binary.c_str(), &fa, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
      pid_ = -1;
      return Status::IOError("spawn " + binary + " failed");
    }

    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return Status::IOError("MinIO exited at start; see " + log);
      }
      if (Ready()) return Status::OK();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return Status::Unavailable("MinIO not ready after 30 s; see " + log);
  }

  // Stops the process (SIGTERM, then SIGKILL after 10 s) and removes the data.
  void Stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      int st = 0;
      while (waitpid(pid_, &st, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
          kill(pid_, SIGKILL);
          waitpid(pid_, &st, 0);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      pid_ = -1;
    }
    if (!data_dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(data_dir_, ec);
      data_dir_.clear();
    }
  }

  const std::string& endpoint() const { return endpoint_; }

 private:
  bool Ready() const {
    CURL* c = curl_easy_init();
    std::string url = endpoint_ + "/minio/health/ready";
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    return code == 200;
  }

  pid_t pid_ = -1;
  std::string data_dir_;
  std::string endpoint_;
};

}  // namespace loge::tier
