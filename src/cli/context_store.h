#pragma once
// The docker CLI's context store, in its on-disk layout so that berth and
// the docker CLI share contexts (CONFIG = --config, $DOCKER_CONFIG or
// ~/.docker):
//
//   CONFIG/contexts/meta/<sha256 hex of the name>/meta.json
//       {"Name":..,"Metadata":{"Description":..},
//        "Endpoints":{"docker":{"Host":..,"SkipTLSVerify":..}}}
//   CONFIG/contexts/tls/<sha256 hex of the name>/docker/{ca,cert,key}.pem
//   CONFIG/config.json  "currentContext": NAME (absent for "default")
//
// "default" is never stored: it is the endpoint of -H / DOCKER_HOST / the
// built-in socket, built by the caller. Not thread safe; the CLI is one
// thread.

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace berth::cli {

struct ContextTls {
  std::string ca, cert, key;  // PEM contents; empty when absent
  bool empty() const { return ca.empty() && cert.empty() && key.empty(); }
};

struct ContextInfo {
  std::string name;
  std::string description;
  std::string host;  // the docker endpoint ("tcp://..", "unix://..", "ssh://..")
  bool skipTlsVerify = false;
  // Which of ca.pem, cert.pem, key.pem the tls directory holds.
  bool hasCa = false, hasCert = false, hasKey = false;
  // Other metadata fields and endpoints kept as read (JSON text) so that a
  // context another tool wrote survives `inspect` unchanged.
  std::string metadataJson = "{}";
  std::string endpointsJson;
};

inline constexpr const char* kDefaultContextName = "default";
inline constexpr const char* kDefaultContextDescription = "Current DOCKER_HOST based configuration";

// docker's rule: ^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$
bool validContextName(const std::string& name);

class ContextStore {
 public:
  explicit ContextStore(std::string configDir) : dir_(std::move(configDir)) {}

  const std::string& configDir() const { return dir_; }
  std::string metaDir(const std::string& name) const;
  std::string tlsDir(const std::string& name) const;  // CONFIG/contexts/tls/<hex>

  // Every stored context, sorted by name. A directory whose meta.json does
  // not parse is skipped.
  std::vector<ContextInfo> list() const;
  // NotFound: `context "NAME": context not found: open PATH: no such file
  // or directory` (the docker CLI's text); InvalidArgument for a meta.json
  // that does not parse.
  Result<ContextInfo> get(const std::string& name) const;
  bool exists(const std::string& name) const;
  // Writes meta.json (and the TLS files, mode 0600) for a new context.
  Result<> create(const ContextInfo& info, const ContextTls& tls);
  // Removes both directories; NotFound when the context does not exist.
  Result<> remove(const std::string& name);

  // config.json's currentContext ("" when unset or unreadable).
  std::string currentContext() const;
  // Sets it, keeping every other key of config.json; "default" removes it.
  Result<> setCurrentContext(const std::string& name);

 private:
  std::string dir_;
};

}  // namespace berth::cli
