// WebSocketSession: one upgraded connection of HttpServer (internal to
// server/). It owns the socket after the HTTP session handed it over,
// performs the handshake, keeps a read going (control frames, and to learn
// that the client left), and writes the application's frames in order.
//
// Threads: everything runs on the connection's strand; SendText, Close and
// Shutdown post there. The handler's OnOpen/OnClose run on it too.
#pragma once

#include <utility>  // before Boost: asio/awaitable.hpp uses std::exchange

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <memory>

#include "server/http_server.h"

namespace loge::server {

class WebSocketSession;

// Starts the handshake on `stream` for the upgrade request `req`;
// `finished` runs once on the strand when the connection is over (after
// handler->OnClose). The returned session is kept alive by its own
// operations until then.
std::shared_ptr<WebSocketSession> StartWebSocketSession(
    boost::beast::tcp_stream stream, boost::beast::http::request<boost::beast::http::string_body> req,
    std::shared_ptr<WebSocketHandler> handler, std::function<void(const std::shared_ptr<WebSocketSession>&)> finished);

// Server stop: a close frame (1001), or the socket closed at once when a
// write is stuck behind a client that does not read.
void ShutdownWebSocketSession(const std::shared_ptr<WebSocketSession>& s);

}  // namespace loge::server
