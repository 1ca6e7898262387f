// berth-dns: the DNS resolver of one user network (docs/network.md, "DNS").
// Started by berthd (network::ensureResolver); outlives it.

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <string_view>

#include "common/log.h"
#include "dns/server.h"

namespace {

int usage() {
  static const char kUsage[] =
      "usage: berth-dns --config FILE [--pid-file FILE] [--resolv-conf FILE] [--log-level LEVEL]\n";
  (void)!::write(2, kUsage, sizeof kUsage - 1);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  for (int fd = 0; fd < 3; fd++)
    if (::fcntl(fd, F_GETFD) < 0) ::open("/dev/null", O_RDWR);
  berth::dns::ServerOptions opts;
  for (int i = 1; i < argc; i++) {
    std::string_view a = argv[i];
    std::string_view key = a.substr(0, a.find('='));
    std::string val;
    if (key.size() < a.size()) val = std::string(a.substr(key.size() + 1));
    else if (i + 1 < argc) val = argv[++i];
    else return usage();
    if (key == "--config") opts.configPath = val;
    else if (key == "--pid-file") opts.pidFile = val;
    else if (key == "--resolv-conf") opts.resolvConf = val;
    else if (key == "--log-level") {
      berth::log::Level l;
      if (!berth::log::parseLevel(val, l)) return usage();
      berth::log::setLevel(l);
    } else {
      return usage();
    }
  }
  if (opts.configPath.empty()) return usage();
  return berth::dns::runServer(opts);
}
