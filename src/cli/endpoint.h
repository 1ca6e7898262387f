#pragma once
// Which daemon a berth invocation talks to, decided as the docker CLI 28
// decides it: -H/--host > --context > DOCKER_HOST (BERTH_HOST first) >
// DOCKER_CONTEXT > config.json's currentContext > the built-in socket.
// The "default" context is -H / DOCKER_HOST / the built-in socket with the
// TLS flags and DOCKER_TLS_VERIFY / DOCKER_CERT_PATH; a stored context
// brings its own host and TLS files (cli/context_store.h) and ignores them.

#include <string>
#include <vector>

#include "cli/client.h"
#include "cli/context_store.h"
#include "common/result.h"

namespace berth::cli {

inline constexpr const char* kDefaultHost = "unix:///run/berth/berth.sock";

struct EndpointInputs {
  std::vector<std::string> hosts;  // -H/--host, in order (the last wins)
  std::string contextFlag;         // --context/-c
  std::string envHost;             // $BERTH_HOST, else $DOCKER_HOST
  std::string envContext;          // $DOCKER_CONTEXT
  TlsClientOptions tls;            // from the flags and DOCKER_TLS_VERIFY / DOCKER_CERT_PATH
};

// The name of the context in use (docker's resolveContextName), without
// reading it: "default" for -H or DOCKER_HOST. InvalidArgument
// "conflicting options: cannot specify both --host and --context".
Result<std::string> resolveContextName(const EndpointInputs& in, const ContextStore& store);

// The default context's endpoint: the last -H, else the environment's host,
// else kDefaultHost.
std::string defaultContextHost(const EndpointInputs& in);

struct Endpoint {
  std::string contextName;
  std::string host;
  TlsClientOptions tls;
};

// The endpoint of the resolved context. Errors carry the docker CLI's texts
// (a missing context: `context "X": context not found: open ...`); the
// caller prefixes "Failed to initialize: unable to resolve docker endpoint: ".
Result<Endpoint> resolveEndpoint(const EndpointInputs& in, const ContextStore& store);

// A stored context's TLS as client options: none when it holds no TLS file
// and does not skip verification; verify unless SkipTLSVerify; the files
// present in its tls directory.
TlsClientOptions contextTls(const ContextInfo& c, const ContextStore& store);

}  // namespace berth::cli
