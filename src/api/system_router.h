#pragma once
// /_ping, /version, /info, /events.

#include <functional>
#include <string>

#include "api/events.h"
#include "api/http.h"

namespace berth::api {

struct SystemInfo {
  std::string dataRoot;
  std::string cgroupVersion = "1";
  std::function<nlohmann::json()> containerCounts;  // {"total","running","paused","stopped"}
  std::function<int()> imageCount;
};

void registerSystemRoutes(Router& r, EventBus& events, SystemInfo info);

}  // namespace berth::api
