// State: the areas' init functions in a fixed order, teardown in reverse.

#include "cri/state.h"

namespace berth::cri {

State::State(const Host& h) : host(h) {
  // images first: pods import the pause image through it
  initImages(*this);
  initPods(*this);
  initContainers(*this);
  initStreams(*this);
}

State::~State() {
  for (auto it = onShutdown.rbegin(); it != onShutdown.rend(); ++it) (*it)();
}

}  // namespace berth::cri
