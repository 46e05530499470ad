#include "bench/push_client.h"

#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>

namespace loge::bench {

namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

PushClient::PushClient(std::string host, std::string port, std::string target)
    : host_(std::move(host)), port_(std::move(port)) {
  req_.method(http::verb::post);
  req_.target(target);
  req_.version(11);
  req_.set(http::field::host, host_ + ":" + port_);
  req_.set(http::field::content_type, "application/json");
  req_.set(http::field::user_agent, "loge-loadgen");
  req_.keep_alive(true);
}

void PushClient::set_content_type(const std::string& type) { req_.set(http::field::content_type, type); }

std::string PushClient::Connect() {
  boost::system::error_code ec;
  if (sock_.is_open()) {
    fd_ = -1;
    sock_.close(ec);
  }
  buf_.clear();
  tcp::resolver resolver(ioc_);
  auto endpoints = resolver.resolve(host_, port_, ec);
  if (ec) return "resolve " + host_ + ": " + ec.message();
  boost::asio::connect(sock_, endpoints, ec);
  if (ec) return "connect " + host_ + ":" + port_ + ": " + ec.message();
  sock_.set_option(tcp::no_delay(true), ec);
  fd_ = sock_.native_handle();
  return "";
}

PushClient::Reply PushClient::Send() {
  Reply r;
  if (!sock_.is_open()) {
    r.error = Connect();
    if (!r.error.empty()) return r;
  }
  req_.prepare_payload();
  boost::system::error_code ec;
  http::write(sock_, req_, ec);
  http::response<http::string_body> res;
  if (!ec) http::read(sock_, buf_, res, ec);
  if (ec) {
    r.error = ec.message();
    fd_ = -1;
    sock_.close(ec);
    return r;
  }
  r.status = static_cast<int>(res.result_int());
  if (auto it = res.find(http::field::retry_after); it != res.end()) {
    // Only the delta-seconds form; an HTTP date falls back to the backoff.
    double secs = 0;
    auto v = it->value();
    if (std::from_chars(v.data(), v.data() + v.size(), secs).ec == std::errc()) r.retry_after_s = secs;
  }
  r.body = std::move(res.body());
  if (!res.keep_alive()) {
    fd_ = -1;
    sock_.close(ec);
  }
  return r;
}

void PushClient::Abort() {
  int fd = fd_.load();
  if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
}

}  // namespace loge::bench
