#include "fake_loge.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace loge::test {
namespace {

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

bool SendAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

std::vector<PushedRecord> ParsePush(const std::string& body) {
  std::vector<PushedRecord> out;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(body).get(doc) != simdjson::SUCCESS) {
    ADD_FAILURE() << "push body is not JSON: " << body.substr(0, 300);
    return out;
  }
  simdjson::dom::array streams;
  if (doc["streams"].get_array().get(streams) != simdjson::SUCCESS) {
    ADD_FAILURE() << "push body has no streams: " << body.substr(0, 300);
    return out;
  }
  for (simdjson::dom::element s : streams) {
    std::map<std::string, std::string> labels;
    simdjson::dom::object stream;
    if (s["stream"].get_object().get(stream) == simdjson::SUCCESS) {
      for (auto kv : stream) labels[std::string(kv.key)] = std::string(std::string_view(kv.value));
    }
    simdjson::dom::array values;
    if (s["values"].get_array().get(values) != simdjson::SUCCESS) continue;
    for (simdjson::dom::element v : values) {
      std::string_view ts, line;
      if (v.at(0).get_string().get(ts) != simdjson::SUCCESS || v.at(1).get_string().get(line) != simdjson::SUCCESS) {
        ADD_FAILURE() << "value is not [\"ts\",\"line\"]";
        continue;
      }
      out.push_back(PushedRecord{std::string(ts), std::string(line), labels});
    }
  }
  return out;
}

FakeLoge::FakeLoge() {
  listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(listen_fd_, 64) != 0) {
    ADD_FAILURE() << "fake server: bind/listen: " << std::strerror(errno);
  }
  socklen_t len = sizeof(addr);
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  accept_thread_ = std::thread([this] { AcceptLoop(); });
}

FakeLoge::~FakeLoge() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (int fd : conn_fds_) shutdown(fd, SHUT_RDWR);
  }
  shutdown(listen_fd_, SHUT_RDWR);
  accept_thread_.join();
  close(listen_fd_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    threads.swap(conn_threads_);
  }
  for (auto& t : threads) t.join();
}

void FakeLoge::SetResponder(Responder r) {
  std::lock_guard<std::mutex> lock(mu_);
  responder_ = std::move(r);
}

std::vector<Request> FakeLoge::Requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

std::vector<PushedRecord> FakeLoge::Records() const {
  std::vector<PushedRecord> out;
  for (const Request& r : Requests()) out.insert(out.end(), r.records.begin(), r.records.end());
  return out;
}

std::vector<std::string> FakeLoge::Messages() const {
  std::vector<std::string> out;
  simdjson::dom::parser parser;
  for (const PushedRecord& r : Records()) {
    std::string_view msg;
    simdjson::dom::element doc;
    if (parser.parse(r.line).get(doc) == simdjson::SUCCESS && doc["msg"].get_string().get(msg) == simdjson::SUCCESS) {
      out.emplace_back(msg);
    } else {
      out.push_back("<not a JSON line: " + r.line + ">");
    }
  }
  return out;
}

bool FakeLoge::WaitForRequests(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return arrived_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
}

void FakeLoge::AcceptLoop() {
  for (;;) {
    const int fd = accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) return;  // shut down
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      close(fd);
      return;
    }
    conn_fds_.push_back(fd);
    conn_threads_.emplace_back([this, fd] { Serve(fd); });
  }
}

void FakeLoge::Serve(int fd) {
  std::string buf;
  char chunk[64 * 1024];
  const auto read_more = [&] {
    const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buf.append(chunk, static_cast<size_t>(n));
    return true;
  };
  for (;;) {
    size_t header_end;
    bool open = true;
    while (open && (header_end = buf.find("\r\n\r\n")) == std::string::npos) open = read_more();
    if (!open) break;
    Request req;
    {
      const std::string head = buf.substr(0, header_end);
      size_t line_end = head.find("\r\n");
      const std::string request_line = head.substr(0, line_end);
      const size_t sp1 = request_line.find(' ');
      const size_t sp2 = request_line.find(' ', sp1 + 1);
      req.method = request_line.substr(0, sp1);
      req.path = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
      size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
      while (pos < head.size()) {
        size_t end = head.find("\r\n", pos);
        if (end == std::string::npos) end = head.size();
        const std::string h = head.substr(pos, end - pos);
        const size_t colon = h.find(':');
        if (colon != std::string::npos) {
          std::string name = h.substr(0, colon);
          std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
          size_t v = colon + 1;
          while (v < h.size() && h[v] == ' ') v++;
          req.headers[name] = h.substr(v);
        }
        pos = end + 2;
      }
    }
    const size_t length = req.headers.count("content-length") ? std::stoul(req.headers["content-length"]) : 0;
    const size_t body_start = header_end + 4;
    while (open && buf.size() < body_start + length) open = read_more();
    if (!open) break;
    req.body = buf.substr(body_start, length);
    buf.erase(0, body_start + length);
    req.at = std::chrono::steady_clock::now();
    if (req.method == "POST" && req.path == "/api/v1/push") req.records = ParsePush(req.body);

    Responder responder;
    size_t n;
    {
      std::lock_guard<std::mutex> lock(mu_);
      n = requests_.size();
      requests_.push_back(req);
      responder = responder_;
      arrived_.notify_all();
    }
    const Response resp = responder ? responder(n) : Response{};
    std::string out = "HTTP/1.1 " + std::to_string(resp.status) + " " + Reason(resp.status) + "\r\n";
    for (const auto& [k, v] : resp.headers) out += k + ": " + v + "\r\n";
    out += "Content-Length: " + std::to_string(resp.body.size()) + "\r\n\r\n" + resp.body;
    if (!SendAll(fd, out)) break;
  }
  std::lock_guard<std::mutex> lock(mu_);
  conn_fds_.erase(std::remove(conn_fds_.begin(), conn_fds_.end(), fd), conn_fds_.end());
  close(fd);
}

}  // namespace loge::test
