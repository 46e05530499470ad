// PushObserver: how a layer above the store (the live tail, server/tail.h)
// sees every acknowledged push without the store knowing who watches.
//
// Store::Push calls, on the pushing thread:
//   1. Capture(p) after the WAL accepted the record and before the rows move
//      into the head (the head takes the entries out of the Payload), so
//      the observer copies what it needs;
//   2. Publish(captured) once the rows are durable and visible to queries,
//      before Push returns OK. A push that fails is never published.
// Publishing after the rows are visible is what lets a tailer register
// first and then query what is already stored without missing a row.
//
// Thread-safety: called from every pushing thread at once. Neither call may
// block on anything but a short lock: no I/O, no waiting for a consumer
// (a slow consumer loses entries and is told so; the push never waits).
#pragma once

#include <memory>

#include "core/types.h"

namespace loge::store {

class PushObserver {
 public:
  // What Capture keeps of a push until Publish.
  struct Captured {
    virtual ~Captured() = default;
  };

  virtual ~PushObserver() = default;
  // Null when nobody wants any of p (then Publish is not called).
  virtual std::unique_ptr<Captured> Capture(const Payload& p) = 0;
  virtual void Publish(std::unique_ptr<Captured> captured) = 0;
};

}  // namespace loge::store
