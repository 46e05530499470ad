#include "server/syslog_listener.h"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <chrono>
#include <mutex>
#include <thread>

namespace loge::server {
namespace {

namespace asio = boost::asio;

// Collects what the listener pushes; can refuse the first pushes with 429.
struct Sink {
  std::mutex mu;
  std::vector<std::string> lines;  // guarded by mu
  int refuse = 0;                  // guarded by mu: pushes still to refuse
  int refused = 0;                 // guarded by mu

  Status Push(Payload p) {
    std::lock_guard<std::mutex> l(mu);
    if (refuse > 0) {
      refuse--;
      refused++;
      return Status::ResourceExhausted("head full");
    }
    for (const auto& s : p.streams) {
      for (const auto& e : s.entries) lines.push_back(e.line);
    }
    return Status::OK();
  }
  size_t Count() {
    std::lock_guard<std::mutex> l(mu);
    return lines.size();
  }
};

// Polls cond until it holds or 10 s pass.
template <typename F>
bool WaitFor(F cond) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

std::unique_ptr<SyslogListener> StartListener(Sink* sink) {
  SyslogListenerOptions o;
  o.listen = "127.0.0.1:0";
  auto l = SyslogListener::Start(o, [sink](Payload p) { return sink->Push(std::move(p)); });
  EXPECT_TRUE(l.ok()) << l.status().ToString();
  return l.ok() ? std::move(*l) : nullptr;
}

void SendTcp(int port, const std::string& bytes) {
  asio::io_context ioc;
  asio::ip::tcp::socket s(ioc);
  s.connect({asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)});
  asio::write(s, asio::buffer(bytes));
  s.shutdown(asio::ip::tcp::socket::shutdown_send);
}

TEST(SyslogListener, TcpOctetCountedAndLineFramedMessagesArrive) {
  Sink sink;
  auto l = StartListener(&sink);
  ASSERT_NE(l, nullptr);
  auto counted = [](std::string m) { return std::to_string(m.size()) + " " + m; };
  SendTcp(l->port(), counted("<13>1 - h a - - - one\n") + counted("<13>1 - h a - - - second"));
  SendTcp(l->port(), "<14>Jan  2 03:04:05 host app: three\n<14>four without newline");
  ASSERT_TRUE(WaitFor([&] { return sink.Count() == 4; })) << sink.Count();
  std::lock_guard<std::mutex> g(sink.mu);
  std::sort(sink.lines.begin(), sink.lines.end());
  EXPECT_EQ(sink.lines, (std::vector<std::string>{"four without newline", "one", "second", "three"}));
}

TEST(SyslogListener, UdpDatagramsArrive) {
  Sink sink;
  auto l = StartListener(&sink);
  ASSERT_NE(l, nullptr);
  asio::io_context ioc;
  asio::ip::udp::socket s(ioc, asio::ip::udp::v4());
  asio::ip::udp::endpoint to(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(l->port()));
  for (int i = 0; i < 50; i++) s.send_to(asio::buffer("<13>1 - h a - - - udp " + std::to_string(i)), to);
  // UDP may lose datagrams even on loopback under load: wait for most.
  ASSERT_TRUE(WaitFor([&] { return sink.Count() + l->counters().udp_dropped.load() >= 45; })) << sink.Count();
}

TEST(SyslogListener, TcpBatchesRefusedWith429AreRetriedNotDropped) {
  Sink sink;
  sink.refuse = 3;
  auto l = StartListener(&sink);
  ASSERT_NE(l, nullptr);
  SendTcp(l->port(), "<13>1 - h a - - - kept\n");
  ASSERT_TRUE(WaitFor([&] { return sink.Count() == 1; }));
  std::lock_guard<std::mutex> g(sink.mu);
  EXPECT_EQ(sink.refused, 3);
  EXPECT_EQ(sink.lines, std::vector<std::string>{"kept"});
}

TEST(SyslogListener, InvalidMessagesAreCountedAndStopIsIdempotent) {
  Sink sink;
  auto l = StartListener(&sink);
  ASSERT_NE(l, nullptr);
  SendTcp(l->port(), "\n\n<13>ok\n");
  ASSERT_TRUE(WaitFor([&] { return sink.Count() == 1; }));
  l->Stop();
  l->Stop();
}

TEST(SyslogListener, RejectsGarbageAddresses) {
  Sink sink;
  for (std::string bad : {"nope", "1.2.3.4:99999", "[::1", "localhost:514", ":x"}) {
    SCOPED_TRACE(bad);
    SyslogListenerOptions o;
    o.listen = bad;
    auto l = SyslogListener::Start(o, [&](Payload p) { return sink.Push(std::move(p)); });
    EXPECT_EQ(l.status().code(), Code::kInvalidArgument);
  }
}

}  // namespace
}  // namespace loge::server
