#pragma once
// Registry routes that are not about the local store (engine-api.md):
//   POST /auth            check credentials (docker login)
//   GET  /images/search   registry search API (term, limit, filters)
// They talk to the registry through src/registry.

#include <functional>

#include "api/http.h"
#include "registry/client.h"

namespace berth::api {

using RegistryConfigFn = std::function<registry::RegistryConfig()>;
void registerRegistryRoutes(Router& router, RegistryConfigFn config);

}  // namespace berth::api
