#pragma once
// Registry hosts per registry, in the spirit of containerd's hosts.toml
// (docs/registry-hosts.md): a directory holding <registry host>/hosts.toml
// that names the mirrors to try, in file order, before the registry's own
// server:
//
//   server = "https://registry.k8s.io"
//   [host."http://127.0.0.1:5000"]
//     capabilities = ["pull", "resolve"]
//     skip_verify = false
//     ca = "/etc/berth/certs.d/registry.k8s.io/ca.crt"   # or a list
//     override_path = false
//
// Pure: parsing and lookup, no network.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::registry {

// One place to fetch from: a [host."URL"] table or the server.
struct HostEndpoint {
  std::string base;     // "scheme://host[:port]", no path, no trailing '/'
  std::string apiPath;  // the API root on it: "/v2", "<path>/v2", or <path> with override_path
  bool pull = true;     // may fetch blobs and manifests by digest
  bool resolve = true;  // may resolve a tag to a manifest
  bool push = true;
  bool skipVerify = false;           // TLS without verification
  std::vector<std::string> caFiles;  // extra CA certificates (absolute paths)
  bool server = false;               // the registry's own server (tried last)

  // "host[:port]" of base.
  std::string hostPort() const;
  bool plainHttp() const { return base.rfind("http://", 0) == 0; }
};

// The endpoints of one registry: the mirrors in file order, then the server.
struct HostsConfig {
  std::string file;  // the hosts.toml read ("" when built by hand)
  std::vector<HostEndpoint> hosts;
};

// Parses the text of a hosts.toml for registry `domain` ("registry.k8s.io",
// "docker.io", "127.0.0.1:5000"). fileDir resolves relative ca paths. With
// no `server` key the server is https://<domain> (registry-1.docker.io for
// docker.io). Keys other than server, ca, skip_verify, capabilities,
// override_path, host and header are refused, so are unknown capabilities
// and URLs that are not http(s). InvalidArgument with the problem.
Result<HostsConfig> parseHostsToml(std::string_view text, const std::string& domain, const std::string& fileDir);

// The hosts directory entries tried for a registry, first match wins (as
// containerd): "<dir>/<host>_<port>_" for a host with a port, then
// "<dir>/<host[:port]>", then "<dir>/_default".
std::vector<std::string> hostsDirCandidates(const std::string& hostsDir, const std::string& domain);

// Reads the first hosts.toml of hostsDirCandidates. nullopt when none
// exists (or hostsDir is ""): the caller's defaults apply. A file that
// cannot be read or parsed is an error naming it.
Result<std::optional<HostsConfig>> loadHostsConfig(const std::string& hostsDir, const std::string& domain);

}  // namespace berth::registry
