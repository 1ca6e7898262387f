#pragma once
// The /volumes routes of the Engine API onto volume::Service: list, create,
// inspect, remove, prune.

#include <functional>

#include "api/http.h"
#include "common/emit.h"
#include "volume/volume.h"

namespace berth::api {

void registerVolumeRoutes(Router& r, volume::Service& svc, EmitFn emit);

// Whether POST /volumes/prune prunes named volumes too: the `all` filter
// when given; without it (as moby) any request at API < 1.42 (the docker CLI
// negotiating 1.41). The berth CLI always sends `all`.
Result<bool> pruneAll(const Request& req, const Filters& filters);

}  // namespace berth::api
