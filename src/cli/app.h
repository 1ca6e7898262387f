#pragma once
// The berth CLI's dispatcher: global options, docker's command grammar
// (management groups and short forms), help and usage errors.

#include <string>
#include <vector>

namespace berth::cli {

struct AppEnv {
  std::vector<std::string> args;  // argv[1..]
  std::string berthHost;          // $BERTH_HOST
  std::string dockerHost;         // $DOCKER_HOST
  std::string dockerTlsVerify;    // $DOCKER_TLS_VERIFY (non-empty: --tlsverify)
  std::string dockerCertPath;     // $DOCKER_CERT_PATH (default $HOME/.docker)
  std::string home;               // $HOME
  std::string dockerConfig;       // $DOCKER_CONFIG (default $HOME/.docker)
  std::string dockerContext;      // $DOCKER_CONTEXT
  int in = 0, out = 1, err = 2;
};

// Runs one berth invocation; returns the process exit status.
int runApp(const AppEnv& env);

}  // namespace berth::cli
