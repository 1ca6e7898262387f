#pragma once
// One build's output when its stages run at once: every stage writes to its
// own lane, and the lanes reach the client's BuildOutput one after another,
// in lane order (the stages' file order), never interleaved. The lowest lane
// not yet closed is live: its text and aux objects go through as they come
// (RUN output live); a later lane's are kept, in order, and flushed when
// every lane before it has closed. Thread-safe: any thread may write to any
// lane. The BuildOutput is only ever called with this object's mutex held,
// and nothing else is done under it, so the BuildOutput needs no locking of
// its own.

#include <atomic>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "build/builder.h"

namespace berth::build {

class OrderedOutput {
 public:
  OrderedOutput(BuildOutput& out, size_t lanes);

  // Text / an aux object of `lane`. False once the client has gone away
  // (a write failed or clientGone() said so); nothing more is written then.
  bool text(size_t lane, std::string_view text);
  bool aux(size_t lane, const nlohmann::json& obj);
  // Written at once, outside any lane: only while no lane is written to
  // (before the stages start, after they end).
  bool direct(std::string_view text);
  bool directAux(const nlohmann::json& obj);

  // `lane` is complete: when it is live, the lanes after it are flushed up
  // to the next open one, which becomes live.
  void close(size_t lane);
  // The build failed: lanes up to `lastKept` (included) are flushed whole,
  // in order; the text kept for later lanes is dropped. Nothing is written
  // to a lane afterwards.
  void finish(size_t lastKept);

  // The client has gone away (as last seen; never blocks).
  bool gone() const { return gone_; }
  // Asks the client side whether it is gone, unless another thread is
  // writing right now (then it answers from what is known): never blocks, so
  // it may be called with other locks held (a wait() predicate).
  bool pollGone();
  // BuildOutput::runFailed, serialised.
  void runFailed(int status);

  size_t liveLane() const;

 private:
  struct Item {
    bool isAux = false;
    std::string text;
    nlohmann::json aux;
  };
  struct Lane {
    std::vector<Item> kept;
    bool closed = false;
  };
  bool writeLocked(const Item& item);
  void advanceLocked();

  BuildOutput& out_;
  mutable std::mutex mu_;
  std::vector<Lane> lanes_;
  size_t live_ = 0;
  bool finished_ = false;
  std::atomic<bool> gone_{false};
};

}  // namespace berth::build
