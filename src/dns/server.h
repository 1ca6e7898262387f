#pragma once
// berth-dns's server: one single-threaded, non-blocking poll loop over the
// UDP and TCP sockets on the network's listen addresses, the upstream
// sockets and a signalfd. docs/network.md ("DNS") describes the behaviour.

#include <string>

namespace berth::dns {

struct ServerOptions {
  std::string configPath;                    // <dir>/<networkId>.json (network::writeDnsConfig)
  std::string pidFile;                       // written once every socket is bound
  std::string resolvConf = "/etc/resolv.conf";  // upstreams when the config names none
  int attemptMs = 1000;   // one upstream's time to answer before the next is asked
  int deadlineMs = 2500;  // SERVFAIL when no upstream answered by then
};

// Runs until SIGTERM or SIGINT (returns 0); returns 1 when it cannot start
// (unreadable config, an address that cannot be bound), after logging why
// on stderr.
int runServer(const ServerOptions& opts);

}  // namespace berth::dns
