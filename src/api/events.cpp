#include "api/events.h"

#include <chrono>

#include "common/util.h"

namespace berth::api {

nlohmann::json Event::toJson() const {
  nlohmann::json j;
  if (type == "container" || type == "image") {
    j["status"] = action;
    j["id"] = id;
    if (attributes.contains("image")) j["from"] = attributes["image"];
  }
  j["Type"] = type;
  j["Action"] = action;
  j["Actor"] = {{"ID", id}, {"Attributes", attributes}};
  j["scope"] = "local";
  j["time"] = timeNano / 1000000000;
  j["timeNano"] = timeNano;
  return j;
}

void EventBus::publish(std::string type, std::string action, std::string id, nlohmann::json attributes) {
  std::lock_guard lk(mu_);
  Event e{std::move(type), std::move(action), std::move(id), std::move(attributes), nowNanos(), ++seq_};
  if (!e.attributes.is_object()) e.attributes = nlohmann::json::object();
  history_.push_back(std::move(e));
  while (history_.size() > limit_) history_.pop_front();
  cv_.notify_all();
}

std::deque<Event> EventBus::waitAfter(uint64_t afterSeq, int timeoutMs) {
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, std::chrono::milliseconds(timeoutMs), [&] { return seq_ > afterSeq; });
  std::deque<Event> out;
  for (auto& e : history_)
    if (e.seq > afterSeq) out.push_back(e);
  return out;
}

std::deque<Event> EventBus::historySince(int64_t sinceNano) {
  std::lock_guard lk(mu_);
  std::deque<Event> out;
  for (auto& e : history_)
    if (e.timeNano >= sinceNano) out.push_back(e);
  return out;
}

uint64_t EventBus::lastSeq() {
  std::lock_guard lk(mu_);
  return seq_;
}

}  // namespace berth::api
