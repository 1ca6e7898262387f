#pragma once
// The /images routes of the Engine API 1.41 (engine-api.md §8) on an
// image::ImageService. Handlers parse, call the service and encode JSON.

#include "api/http.h"
#include "image/service.h"

namespace berth::api {

// Registers on router (paths unversioned):
//   GET    /images/json                 list (all, filters)
//   POST   /images/create               import (fromSrc=-) / pull (fromImage=, tag, platform; X-Registry-Auth)
//   POST   /images/(.+)/push            push (tag; X-Registry-Auth)
//   GET    /images/(.+)/json            inspect
//   GET    /images/(.+)/history         history
//   POST   /images/(.+)/tag             tag (201, empty)
//   DELETE /images/(.+)                 remove (force, noprune)
//   POST   /images/prune                prune (filters dangling, until, label, label!)
// emit (may be empty) receives image events: import, tag, untag, delete.
// svc must outlive the router.
void registerImageRoutes(Router& router, image::ImageService& svc, EmitFn emit);

}  // namespace berth::api
