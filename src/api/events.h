#pragma once
// The daemon's event bus: every state change is published here; /events
// subscribers receive them live, and a bounded history answers since=.
// Thread safe.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

namespace berth::api {

struct Event {
  std::string type;    // container, image, volume, network, daemon
  std::string action;  // create, start, die, ...
  std::string id;      // actor id
  nlohmann::json attributes = nlohmann::json::object();  // string values
  int64_t timeNano = 0;
  uint64_t seq = 0;

  // Docker's wire shape (with legacy status/id/from for containers and images).
  nlohmann::json toJson() const;
};

class EventBus {
 public:
  explicit EventBus(size_t historyLimit = 1024) : limit_(historyLimit) {}
  void publish(std::string type, std::string action, std::string id, nlohmann::json attributes);
  // Events with seq > afterSeq; blocks up to timeoutMs for new ones.
  std::deque<Event> waitAfter(uint64_t afterSeq, int timeoutMs);
  // Events in history with timeNano >= sinceNano.
  std::deque<Event> historySince(int64_t sinceNano);
  uint64_t lastSeq();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> history_;
  size_t limit_;
  uint64_t seq_ = 0;
};

}  // namespace berth::api
