// berth: the Docker-compatible CLI. Wiring only (STYLE.md 1).

#include <signal.h>

#include <cstdlib>

#include "cli/app.h"
#include "common/trace.h"

int main(int argc, char** argv) {
  // BERTH_TRACE: the start timeline of `run` (common/trace.h, docs/trace.md).
  if (const char* t = std::getenv("BERTH_TRACE"); t && *t && !(t[0] == '0' && !t[1])) berth::trace::enable("cli");
  ::signal(SIGPIPE, SIG_IGN);
  berth::cli::AppEnv env;
  env.args.assign(argv + 1, argv + argc);
  if (const char* h = std::getenv("BERTH_HOST")) env.berthHost = h;
  if (const char* h = std::getenv("DOCKER_HOST")) env.dockerHost = h;
  if (const char* v = std::getenv("DOCKER_TLS_VERIFY")) env.dockerTlsVerify = v;
  if (const char* v = std::getenv("DOCKER_CERT_PATH")) env.dockerCertPath = v;
  if (const char* v = std::getenv("HOME")) env.home = v;
  if (const char* v = std::getenv("DOCKER_CONFIG")) env.dockerConfig = v;
  if (const char* v = std::getenv("DOCKER_CONTEXT")) env.dockerContext = v;
  return berth::cli::runApp(env);
}
