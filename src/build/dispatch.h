#pragma once
// The pure half of the classic builder's dispatch (moby builder/dockerfile:
// dispatchers.go, buildargs.go, internals.go): build-arg scoping, the
// container config each instruction produces, the "#(nop)" commit
// comments and RUN's cache form, and the cache's config comparison. No I/O;
// every function is a function of its arguments. Thread-safe.
//
// Configs are Docker's container.Config as JSON (the image config's
// "config" object: Cmd, Entrypoint, Env, Labels, ExposedPorts, Volumes,
// WorkingDir, User, Healthcheck, StopSignal, Shell, OnBuild, ArgsEscaped).

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "build/dockerfile.h"
#include "common/result.h"

namespace berth::build {

using json = nlohmann::json;

// moby's BuildArgs: the --build-arg values, the ARGs declared in scope
// (per stage: cloneForStage() forgets them), the meta ARGs (before the first
// FROM) and which names the Dockerfile referenced (for the "not consumed"
// warning). The proxy variables are predefined: usable without an ARG, and
// left out of RUN's cache form unless declared.
class BuildArgs {
 public:
  explicit BuildArgs(std::map<std::string, std::optional<std::string>> fromOptions = {});

  static bool isBuiltin(std::string_view key);

  void addArg(const std::string& key, std::optional<std::string> value);      // ARG in a stage
  void addMetaArg(const std::string& key, std::optional<std::string> value);  // ARG before FROM
  // The value an ARG has: --build-arg, else its default, else the meta ARG's.
  std::optional<std::string> value(const std::string& key) const;
  bool isReferencedOrNotBuiltin(const std::string& key) const;
  // Every declared (and predefined) arg that has a value (GetAllAllowed).
  std::map<std::string, std::string> allAllowed() const;
  // Every meta arg with a value (GetAllMeta: FROM's expansion).
  std::map<std::string, std::string> allMeta() const;
  // allAllowed() minus the keys that `env` ("K=V") sets, as "K=V", by key.
  std::vector<std::string> filterAllowed(const std::vector<std::string>& env) const;
  // A copy for a new stage: the meta args and options stay, the stage's
  // ARGs are forgotten.
  BuildArgs cloneForStage() const;
  void mergeReferenced(const BuildArgs& other);
  // --build-arg names never declared (not the predefined ones), sorted.
  std::vector<std::string> unused() const;

 private:
  std::optional<std::string> lookup(const std::string& key,
                                    const std::map<std::string, std::optional<std::string>>& mapping) const;
  std::map<std::string, std::optional<std::string>> options_;
  std::map<std::string, std::optional<std::string>> allowed_;
  std::map<std::string, std::optional<std::string>> meta_;
  std::set<std::string> referenced_;
};

// "[Warning] One or more build-args [a b] were not consumed\n", or "".
std::string unusedArgsWarning(const std::vector<std::string>& unused);

// Config helpers.
std::vector<std::string> stringList(const json& v);  // a JSON array of strings (null -> {})
std::vector<std::string> shellOf(const json& cfg);    // Shell, or /bin/sh -c
void setEnv(json& cfg, const std::string& key, const std::string& value);  // replace or append
// RUN/CMD/ENTRYPOINT's command: the exec array, or SHELL + the shell string.
std::vector<std::string> resolveCmdLine(const Instruction& ins, const json& cfg);

// A copy of cfg with Cmd = SHELL + ["#(nop) ", comment] (withCmdComment:
// "/bin/sh -c #(nop)  ENV a=b" in history) ...
json withCmdComment(const json& cfg, const std::string& comment);
// ... or SHELL + ["#(nop) " + comment] (withCmdCommentString: COPY, ADD, WORKDIR).
json withCmdCommentString(const json& cfg, const std::string& comment);

// RUN's cache form: ["|N", "k=v" (sorted, predefined args only when
// declared), cmd...], or cmd when no build arg is in scope.
std::vector<std::string> prependEnvOnCmd(const BuildArgs& args, const std::vector<std::string>& buildArgVars,
                                         const std::vector<std::string>& cmd);

// The config a cache candidate's ContainerConfig must equal (Image and
// Hostname ignored, null = empty, OpenStdin never matches).
bool cacheConfigEqual(const json& a, const json& b);

// Go's fmt of values as moby's commit messages print them.
std::string goQuoteSlice(const std::vector<std::string>& v);  // %q: ["a" "b"]
std::string goSlice(const std::vector<std::string>& v);       // %v: [a b]
std::string goDurationString(int64_t ns);                     // time.Duration.String: "1m30s"
// HEALTHCHECK's commit message ("HEALTHCHECK &{[...] "5m0s" ...}") and its config value.
std::string healthcheckComment(const HealthcheckSpec& h);
json healthcheckJson(const HealthcheckSpec& h);

// EXPOSE's port specs ("80", "8080/udp", "7000-7002") to ExposedPorts keys
// ("80/tcp", ...). InvalidArgument as nat.ParsePortSpecs.
Result<std::vector<std::string>> exposedPortKeys(const std::vector<std::string>& specs);

// WORKDIR: a relative path joins the current one; cleaned (Go's filepath.Join).
std::string normalizeWorkdir(const std::string& current, const std::string& requested);

}  // namespace berth::build
