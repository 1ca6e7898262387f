// berth: the Docker-compatible CLI. Wiring only (STYLE.md 1).

#include <signal.h>

#include <cstdlib>

#include "cli/app.h"

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  berth::cli::AppEnv env;
  env.args.assign(argv + 1, argv + argc);
  if (const char* h = std::getenv("BERTH_HOST")) env.berthHost = h;
  if (const char* h = std::getenv("DOCKER_HOST")) env.dockerHost = h;
  return berth::cli::runApp(env);
}
