#pragma once
// Request bodies of the container routes decoded as dockerd 28 decodes them
// (runconfig.decodeContainerConfig, httputils.ReadJSON): every known field of
// Config, HostConfig and NetworkingConfig is checked against its Go type
// (api/go_json.h), then dockerd's range checks run with dockerd's messages.
// All errors are InvalidArgument (400), their text "invalid JSON: json:
// cannot unmarshal ..." for a wrong type, as dockerd words it.
//
// Each decoder returns the body to hand to the service: the same document
// with nulls of scalar fields removed (Go reads them as zero values).

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::api {

// POST /containers/create. A null or empty body: "config cannot be empty in
// order to create a container". Range checks (Memory, ShmSize, CpuShares,
// MemorySwappiness, KernelMemory, Healthcheck, WorkingDir, QoS) as in
// dockerd's runconfig and verifyContainerSettings.
Result<nlohmann::json> decodeCreateBody(nlohmann::json body);

// POST /commit: the container.Config, decoded like a create body (as
// dockerd does) without the create-time range checks. null stays null.
Result<nlohmann::json> decodeCommitConfig(nlohmann::json body);

// POST /containers/{id}/update: container.UpdateConfig (Resources +
// RestartPolicy), with dockerd's resource range checks for an update.
Result<nlohmann::json> decodeUpdateBody(nlohmann::json body);

// POST /containers/{id}/exec: container.ExecOptions (the service refuses
// an empty Cmd).
Result<nlohmann::json> decodeExecCreateBody(nlohmann::json body);

// POST /exec/{id}/start: container.ExecStartOptions.
struct ExecStartBody {
  bool detach = false;
  bool tty = false;
  int rows = 0, cols = 0;  // ConsoleSize, 0 when absent
};
Result<ExecStartBody> decodeExecStartBody(nlohmann::json body);

}  // namespace berth::api
