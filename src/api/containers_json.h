#pragma once
// Docker's Engine API JSON (engine-api.md §5) for the container service's
// typed results: the documents the docker CLI and the e2e tests read.
// Pure functions, no I/O.

#include <nlohmann/json.hpp>

#include "container/service.h"
#include "network/ports.h"

namespace berth::api {

// NetworkSettings of inspect (Docker 28's shape): the intent
// (record.networks) with the live endpoints' addresses; the top-level
// address fields from the default bridge only, as dockerd.
nlohmann::json networkSettingsJson(const container::Container& c, const std::vector<network::Endpoint>& endpoints);
// NetworkSettings.Networks (inspect and ps): network name -> EndpointSettings.
nlohmann::json endpointsJson(const container::Container& c, const std::vector<network::Endpoint>& endpoints);
// GET /containers/{id}/json.
nlohmann::json containerInspectJson(const container::ContainerDetails& d);
// GET /containers/json element; nowNanos dates the Status text ("Up 3 minutes").
nlohmann::json containerSummaryJson(const container::ContainerSummary& s, int64_t nowNanos);
// POST /containers/prune: {"ContainersDeleted" (null when none), "SpaceReclaimed"}.
nlohmann::json containerPruneJson(const container::PruneReport& r);
// GET /exec/{id}/json.
nlohmann::json execInspectJson(const container::ExecDetails& d);
// GET /containers/{id}/top: {"Titles", "Processes"}.
nlohmann::json containerTopJson(const container::TopResult& t);
// POST /containers/{id}/update: {"Warnings"}.
nlohmann::json containerUpdateJson(const container::UpdateResult& u);
// GET /containers/{id}/changes: [{"Path", "Kind"}].
nlohmann::json containerChangesJson(const std::vector<container::Change>& changes);
// GET /system/df.
nlohmann::json diskUsageJson(const container::DiskUsage& du, int64_t nowNanos);

}  // namespace berth::api
