#pragma once
// The CRI front end's settings (berthd flags and daemon.json keys, see
// docs/cri.md). Plain values: berthd's config parser fills this without
// knowing anything else of src/cri/.

#include <string>
#include <vector>

namespace berth::cri {

struct Config {
  bool enabled = true;          // --cri (daemon.json "cri")
  std::string socketPath;       // --cri-socket; "" = <exec-root>/cri.sock
  std::string dataRoot;         // berthd's data root
  std::string execRoot;         // berthd's exec root
  std::string stateDir;         // <data-root>/cri: the CRI's own records
  std::string cniConfDir = "/etc/cni/net.d";                          // --cni-conf-dir
  std::vector<std::string> cniBinDirs = {"/usr/lib/cni", "/opt/cni/bin"};  // --cni-bin-dir (repeatable)
  std::string streamAddress = "127.0.0.1";  // --cri-stream-address: the streaming server's address
  int streamPort = 0;                       // --cri-stream-port; 0 = an ephemeral port
  std::string pauseBin;         // berth-pause (next to berthd)
  std::string pluginPath;       // berth-cri.so (next to berthd)
  std::string cgroupParent;     // berthd's cgroup parent (pods without one go below it)
};

}  // namespace berth::cri
