#pragma once
// POST /build and POST /build/prune of the Engine API (the classic builder,
// engine-api.md §9) onto build::Builder, with the context prepared by a
// build::ContextSource (the request body's tar, or remote=). The handler
// decodes every query parameter as dockerd's newImageBuildOptions does,
// prepares the context, runs the build and streams the classic builder's
// JSON lines ({"stream"}, {"aux"}, {"errorDetail"}), one flushed write per
// line; a client that goes away makes BuildOutput::stream() return false,
// which stops the build.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/http.h"
#include "build/builder.h"
#include "build/context.h"
#include "common/emit.h"

namespace berth::api {

// The query of POST /build, decoded. Errors as dockerd's (InvalidArgument,
// 400): "error reading build args: <Go JSON error>", "error reading labels:
// ...", "error reading cache-from: ...", "error reading ulimit settings:
// ...", "invalid outputs specified: ...", "unsupported isolation: \"x\"",
// "invalid version \"x\"", "security options are not supported on linux",
// "squash is only supported with experimental mode", BuildKit (version=2):
// "buildkit is only supported with experimental mode"; an unparsable
// shmsize: Internal `strconv.ParseInt: parsing "x": invalid syntax`.
struct BuildQuery {
  build::BuildOptions options;  // contextDir / dockerfileText left empty
  std::string remote;           // remote=
  std::string dockerfileParam;  // dockerfile= as sent
  bool wantAux = true;          // API >= 1.30 (or unversioned)
  nlohmann::json authConfigs = nlohmann::json::object();  // X-Registry-Config, decoded (errors ignored)
};
Result<BuildQuery> decodeBuildQuery(const Request& req);

// Go's httputils.BoolValue: false for "", "0", "no", "false", "none"
// (case-insensitive, trimmed), true otherwise.
bool goBoolValue(const std::string& v);

// The BuildCache array of GET /system/df from the builder's usage.
nlohmann::json buildCacheJson(const build::CacheUsage& usage);

// builder and contexts must outlive the router. emit (may be empty) gets
// "builder prune" events ({"reclaimed": N}) as dockerd sends them.
void registerBuildRoutes(Router& r, build::Builder& builder, build::ContextSource& contexts, EmitFn emit);

}  // namespace berth::api
