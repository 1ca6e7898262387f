#pragma once
// Image config helpers: Dockerfile-instruction `changes` (docker import -c,
// commit -c) and Docker's full Config JSON shape for inspect.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::image {

using json = nlohmann::json;

// Applies CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE, VOLUME,
// STOPSIGNAL and ONBUILD (JSON and shell forms; keyword case-insensitive)
// to cfg, the image config's "config" object (keys as in the OCI/Docker
// config: Cmd, Entrypoint, Env, WorkingDir, User, Labels, ExposedPorts,
// Volumes, StopSignal, OnBuild). Other instructions: InvalidArgument
// "<instr> is not a valid change command". Each element may hold several
// lines.
Result<json> applyChanges(json cfg, const std::vector<std::string>& changes);

// Docker's container Config shape as image inspect shows it (every key
// present, Go zero values / null), filled from a partial config object.
json dockerConfigShape(const json& cfg);

// Splits shell-like words honouring '...', "..." and backslash escapes.
std::vector<std::string> splitWords(const std::string& s);

}  // namespace berth::image
