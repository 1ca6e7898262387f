#pragma once
// /_ping, /version, /info, /events.

#include <functional>
#include <map>
#include <string>

#include "api/events.h"
#include "api/http.h"

namespace berth::api {

struct SystemInfo {
  std::string dataRoot;
  std::string cgroupVersion = "1";
  std::function<nlohmann::json()> containerCounts;  // {"total","running","paused","stopped"}
  std::function<int()> imageCount;
  // /info "Runtimes": name -> binary (berth = the built-in monitor, runc, crun,
  // daemon.json ones); "DefaultRuntime".
  std::map<std::string, std::string> runtimes;
  std::string defaultRuntime = "berth";
};

void registerSystemRoutes(Router& r, EventBus& events, SystemInfo info);

}  // namespace berth::api
