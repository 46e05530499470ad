// SyslogListener: syslog over TCP (RFC 6587 framing) and UDP on one
// address (--syslog-listen), each message decoded by ingest's
// SyslogDecoder and stored through the same push as every HTTP format.
//
// Durability: syslog has no acknowledgement. Over TCP a connection's
// messages are pushed in batches (what one read delivered), and the
// connection is read again only once its batch is durable (the push
// returns after the WAL fsync), so backpressure reaches the sender through
// TCP flow control and a 429 from the head is waited out, never dropped.
// What the kernel buffered but loge had not yet pushed is lost on a crash,
// as with any plain-TCP syslog receiver. UDP is best effort: a datagram
// that arrives while the pending batch is full, or whose batch is refused,
// is dropped and counted.
//
// Threads: one I/O thread runs accept, reads and UDP receives; pushes run
// on a pool of kPushThreads (a push blocks until its fsync) and hand the
// connection back to the I/O thread when done. Per-connection and UDP
// state is touched only on the I/O thread; counters are atomics.
//
// Shutdown (Stop): close the acceptor, the UDP socket and every
// connection; pushes in flight finish; then the threads are joined.
// Server::Shutdown calls it before the store closes.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/status.h"
#include "core/types.h"
#include "ingest/decode_json.h"

namespace loge::server {

struct SyslogListenerOptions {
  // --syslog-listen: "host:port" (":514" and "514" mean every address;
  // "[::1]:514" for IPv6). Port 0 picks a free port, the same for TCP and UDP.
  std::string listen;
  ingest::Limits limits;  // the line limit applies to MSG
};

// Stores a payload; returns once it is durable (or refused).
using PushFn = std::function<Status(Payload&&)>;

class SyslogListener {
 public:
  // Binds TCP and UDP and starts the threads. InvalidArgument for a bad
  // address, IOError when it cannot bind.
  static Result<std::unique_ptr<SyslogListener>> Start(const SyslogListenerOptions& opts, PushFn push);
  ~SyslogListener();  // Stop()s
  SyslogListener(const SyslogListener&) = delete;
  SyslogListener& operator=(const SyslogListener&) = delete;

  int port() const;                 // the bound port (TCP and UDP)
  const std::string& address() const;
  void Stop();                      // idempotent

  struct Counters {
    std::atomic<uint64_t> stored{0};          // messages in acknowledged pushes
    std::atomic<uint64_t> invalid{0};         // messages the decoder refused (empty, too long)
    std::atomic<uint64_t> udp_dropped{0};     // datagrams dropped (batch full, push refused)
    std::atomic<uint64_t> tcp_connections{0}; // accepted so far
  };
  const Counters& counters() const;

  struct Impl;  // opaque; public so the connection class can reach it

 private:
  explicit SyslogListener(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace loge::server
