// The build's ordered output (ordered_output.h).
#include "build/ordered_output.h"

namespace berth::build {

OrderedOutput::OrderedOutput(BuildOutput& out, size_t lanes) : out_(out), lanes_(lanes) {}

bool OrderedOutput::writeLocked(const Item& item) {
  if (gone_) return false;
  bool ok = item.isAux ? out_.aux(item.aux) : out_.stream(item.text);
  if (!ok) gone_ = true;
  return ok;
}

void OrderedOutput::advanceLocked() {
  while (live_ < lanes_.size()) {
    Lane& l = lanes_[live_];
    for (auto& item : l.kept) writeLocked(item);
    l.kept.clear();
    if (!l.closed) return;
    live_++;
  }
}

bool OrderedOutput::text(size_t lane, std::string_view text) {
  std::lock_guard lk(mu_);
  if (gone_) return false;
  if (finished_ || lane >= lanes_.size()) return true;
  if (lane == live_) return writeLocked(Item{false, std::string(text), nullptr});
  if (lane > live_) lanes_[lane].kept.push_back(Item{false, std::string(text), nullptr});
  return true;
}

bool OrderedOutput::aux(size_t lane, const nlohmann::json& obj) {
  std::lock_guard lk(mu_);
  if (gone_) return false;
  if (finished_ || lane >= lanes_.size()) return true;
  if (lane == live_) return writeLocked(Item{true, "", obj});
  if (lane > live_) lanes_[lane].kept.push_back(Item{true, "", obj});
  return true;
}

bool OrderedOutput::direct(std::string_view text) {
  std::lock_guard lk(mu_);
  return writeLocked(Item{false, std::string(text), nullptr});
}

bool OrderedOutput::directAux(const nlohmann::json& obj) {
  std::lock_guard lk(mu_);
  return writeLocked(Item{true, "", obj});
}

void OrderedOutput::close(size_t lane) {
  std::lock_guard lk(mu_);
  if (finished_ || lane >= lanes_.size()) return;
  lanes_[lane].closed = true;
  if (lane == live_) advanceLocked();
}

void OrderedOutput::finish(size_t lastKept) {
  std::lock_guard lk(mu_);
  if (finished_) return;
  for (size_t i = live_; i < lanes_.size() && i <= lastKept; i++) {
    for (auto& item : lanes_[i].kept) writeLocked(item);
    lanes_[i].kept.clear();
  }
  for (auto& l : lanes_) l.kept.clear();
  finished_ = true;
}

bool OrderedOutput::pollGone() {
  if (gone_) return true;
  std::unique_lock lk(mu_, std::try_to_lock);
  if (!lk.owns_lock()) return gone_;
  if (out_.clientGone()) gone_ = true;
  return gone_;
}

void OrderedOutput::runFailed(int status) {
  std::lock_guard lk(mu_);
  out_.runFailed(status);
}

size_t OrderedOutput::liveLane() const {
  std::lock_guard lk(mu_);
  return live_;
}

}  // namespace berth::build
