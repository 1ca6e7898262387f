#include "cli/endpoint.h"

namespace berth::cli {

Result<std::string> resolveContextName(const EndpointInputs& in, const ContextStore& store) {
  if (!in.contextFlag.empty() && !in.hosts.empty())
    return makeError(Code::InvalidArgument, "conflicting options: cannot specify both --host and --context");
  if (!in.contextFlag.empty()) return in.contextFlag;
  if (!in.hosts.empty() || !in.envHost.empty()) return std::string(kDefaultContextName);
  if (!in.envContext.empty()) return in.envContext;
  if (std::string cur = store.currentContext(); !cur.empty()) return cur;
  return std::string(kDefaultContextName);
}

std::string defaultContextHost(const EndpointInputs& in) {
  if (!in.hosts.empty()) return in.hosts.back();
  if (!in.envHost.empty()) return in.envHost;
  return kDefaultHost;
}

TlsClientOptions contextTls(const ContextInfo& c, const ContextStore& store) {
  TlsClientOptions t;
  if (!c.hasCa && !c.hasCert && !c.hasKey && !c.skipTlsVerify) return t;
  t.tls = true;
  t.verify = !c.skipTlsVerify;
  std::string dir = store.tlsDir(c.name) + "/docker/";
  if (c.hasCa) t.caFile = dir + "ca.pem";
  if (c.hasCert) t.certFile = dir + "cert.pem";
  if (c.hasKey) t.keyFile = dir + "key.pem";
  return t;
}

Result<Endpoint> resolveEndpoint(const EndpointInputs& in, const ContextStore& store) {
  TRY_ASSIGN(std::string name, resolveContextName(in, store));
  if (name == kDefaultContextName) return Endpoint{name, defaultContextHost(in), in.tls};
  TRY_ASSIGN(ContextInfo c, store.get(name));
  std::string host = c.host.empty() ? std::string(kDefaultHost) : c.host;
  return Endpoint{name, host, contextTls(c, store)};
}

}  // namespace berth::cli
