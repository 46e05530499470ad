// PushClient: one keep-alive HTTP/1.1 connection that POSTs push bodies.
//
// Thread-safety: one thread owns a client and calls everything but Abort;
// Abort may be called from any thread to unblock that owner (watchdog).
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>

namespace loge::bench {

class PushClient {
 public:
  struct Reply {
    int status = 0;             // HTTP status; 0 when the transport failed
    std::string error;          // transport error text when status == 0
    double retry_after_s = -1;  // Retry-After in seconds, -1 if absent
    std::string body;           // response body (error details)
  };

  // host and port as in the --addr URL; target is the request path.
  PushClient(std::string host, std::string port, std::string target);
  PushClient(const PushClient&) = delete;
  PushClient& operator=(const PushClient&) = delete;

  // (Re)connects. Returns "" on success, else the error text.
  std::string Connect();

  // Content-Type of every request (default application/json).
  void set_content_type(const std::string& type);

  // The body of the next request; write it in place, then call Send.
  std::string* body() { return &req_.body(); }

  // Sends the request with the current body and reads the reply. After a
  // transport failure or a "Connection: close" reply the socket is closed;
  // the next Send reconnects first.
  Reply Send();

  // Shuts the socket down so a blocked Send returns (any thread).
  void Abort();

 private:
  std::string host_;
  std::string port_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket sock_{ioc_};
  boost::beast::flat_buffer buf_;
  boost::beast::http::request<boost::beast::http::string_body> req_;
  std::atomic<int> fd_{-1};  // native handle while connected, for Abort
};

}  // namespace loge::bench
