#pragma once
// /containers, /exec, /commit and /system/df routes of the Engine API onto
// the container service's roles (container/service.h). Handlers parse the
// query and body, call a role, and shape its typed result into Docker's JSON
// (containers_json.h).

#include <functional>

#include "api/http.h"
#include "container/service.h"

namespace berth::api {

// The roles the routes call; a container::Service provides all of them.
struct ContainerRoles {
  container::Lifecycle& lifecycle;
  container::IO& io;
  container::Filesystem& filesystem;
  container::Queries& queries;
  container::Networking* networking = nullptr;  // DELETE ?link=1; null: 404

  static ContainerRoles of(container::Service& svc) { return {svc, svc, svc, svc, &svc}; }
};

// buildCache (may be empty): the BuildCache array of GET /system/df (the
// builder's records, api/build_router.h buildCacheJson); empty gives [].
void registerContainerRoutes(Router& r, const ContainerRoles& roles,
                             std::function<nlohmann::json()> buildCache = {});
// Every role from one service (the daemon's wiring).
inline void registerContainerRoutes(Router& r, container::Service& svc,
                                    std::function<nlohmann::json()> buildCache = {}) {
  registerContainerRoutes(r, ContainerRoles::of(svc), std::move(buildCache));
}

// "1577836800.000000000" / "1577836800" -> unix nanos; InvalidArgument otherwise.
Result<int64_t> parseUnixTimestamp(const std::string& s);

// Go's strconv.Atoi as moby's routers use it for query integers (t, h, w,
// tail, limit): InvalidArgument `strconv.Atoi: parsing "x": invalid syntax`
// (or `value out of range`).
Result<int> parseAtoi(const std::string& s);

}  // namespace berth::api
