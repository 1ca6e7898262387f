#pragma once
// `berth run` / `berth create`: docker's flag set and the translation of the
// flags into the POST /containers/create request (engine-api.md §3.1).
// Pure: no I/O except reading --env-file / --label-file files.

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/flags.h"
#include "common/result.h"

namespace berth::cli {

// Adds docker's run/create flags (run adds -d, --detach-keys, --sig-proxy).
void addContainerCreateFlags(FlagSet& f, bool forRun);

struct CreateRequest {
  std::string image;
  std::string name;      // ?name=
  std::string platform;  // ?platform=
  nlohmann::ordered_json body;
  std::vector<std::string> warnings;  // printed to stderr before the create, as docker's CLI does
  // The query string for POST /containers/create.
  std::string query() const;
};

struct CreateOptions {
  bool attachStdout = true;         // run without -d
  std::pair<int, int> consoleSize;  // rows, cols when -t and a terminal
  std::vector<std::string> environ; // the CLI's environment for -e KEY lookups
};

// args = IMAGE [COMMAND] [ARG...]. Errors: InvalidArgument with docker's
// text ("invalid restart policy ...", "invalid reference format", ...).
Result<CreateRequest> buildCreateRequest(const FlagSet& f, const std::vector<std::string>& args,
                                         const CreateOptions& opts);

// Docker reference normalisation (image::parseReference, the daemon's own
// parser, with its errors) in the shape the CLI's requests use:
// "busybox" -> {"docker.io/library/busybox", "latest"}; "r:5000/a/b:v1" ->
// {"r:5000/a/b", "v1"}; "alpine@sha256:..." -> {"docker.io/library/alpine", "sha256:..."}.
struct ImageRef {
  std::string repo;  // normalized, with docker.io/library/ for Hub names
  std::string tag;   // tag or digest
};
Result<ImageRef> normalizeRef(std::string_view ref);
// Short display form for a normalized name: strips docker.io/library/ and docker.io/.
std::string familiarName(std::string_view name);

}  // namespace berth::cli
