// WaitUntil: polls a condition with a deadline instead of sleeping for a
// guessed time.
#ifndef LOGE_CLIENT_TESTS_WAIT_H_
#define LOGE_CLIENT_TESTS_WAIT_H_

#include <chrono>
#include <thread>

namespace loge::test {

template <typename Cond>
bool WaitUntil(Cond cond, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace loge::test

#endif  // LOGE_CLIENT_TESTS_WAIT_H_
