#pragma once
// /containers and /exec routes of the Engine API onto container::Service.

#include "api/http.h"
#include "container/service.h"

namespace berth::api {

void registerContainerRoutes(Router& r, container::Service& svc);

// "1577836800.000000000" / "1577836800" -> unix nanos; InvalidArgument otherwise.
Result<int64_t> parseUnixTimestamp(const std::string& s);

}  // namespace berth::api
