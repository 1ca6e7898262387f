// hosts.toml (registry/hosts.h) with toml++ (header-only, no exceptions
// in this translation unit only).
#define TOML_EXCEPTIONS 0
#define TOML_ENABLE_FORMATTERS 0
#include <toml++/toml.h>

#include <sys/stat.h>

#include <algorithm>

#include "common/util.h"
#include "registry/client.h"
#include "registry/hosts.h"

namespace berth::registry {

namespace {

std::unexpected<Error> bad(const std::string& what) { return makeError(Code::InvalidArgument, what); }

// "https://host:5000/some/path/" -> base "https://host:5000", path "/some/path".
Result<std::pair<std::string, std::string>> splitUrl(std::string url) {
  if (url.find("://") == std::string::npos) url = "https://" + url;  // containerd's default scheme
  auto scheme = url.substr(0, url.find("://"));
  if (scheme != "http" && scheme != "https") return bad(fmt::format("unsupported scheme in {:?}", url));
  auto rest = url.substr(scheme.size() + 3);
  auto slash = rest.find('/');
  std::string host = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "" : rest.substr(slash);
  if (host.empty() || host.find_first_of("@?#") != std::string::npos || path.find_first_of("?#") != std::string::npos)
    return bad(fmt::format("invalid host URL {:?}", url));
  while (!path.empty() && path.back() == '/') path.pop_back();
  return std::pair{scheme + "://" + host, path};
}

// The API root as containerd computes it: the URL's path + "/v2" unless
// override_path says the path is the root already.
std::string apiPathOf(const std::string& path, bool overridePath) {
  if (overridePath) return path;
  return path + "/v2";
}

Result<std::vector<std::string>> caList(const toml::node* n, const std::string& fileDir, const std::string& where) {
  std::vector<std::string> out;
  if (!n) return out;
  auto add = [&](const std::string& p) {
    out.push_back(!p.empty() && p[0] == '/' ? p : fileDir + "/" + p);
  };
  if (auto s = n->value<std::string>()) {
    add(*s);
  } else if (auto arr = n->as_array()) {
    for (auto& e : *arr) {
      auto s2 = e.value<std::string>();
      if (!s2) return bad(where + ": ca must be a string or a list of strings");
      add(*s2);
    }
  } else {
    return bad(where + ": ca must be a string or a list of strings");
  }
  return out;
}

// Applies the keys a server or a [host] table may carry onto ep.
Result<> applyHostKeys(const toml::table& t, HostEndpoint& ep, bool& overridePath, const std::string& fileDir,
                       const std::string& where, bool topLevel) {
  for (auto& [k, v] : t) {
    std::string key(k.str());
    if (key == "capabilities") {
      auto arr = v.as_array();
      if (!arr) return bad(where + ": capabilities must be a list");
      ep.pull = ep.resolve = ep.push = false;
      for (auto& e : *arr) {
        auto c = e.value<std::string>();
        if (!c) return bad(where + ": capabilities must be strings");
        if (*c == "pull") ep.pull = true;
        else if (*c == "resolve") ep.resolve = true;
        else if (*c == "push") ep.push = true;
        else return bad(fmt::format("{}: unknown capability {:?}", where, *c));
      }
    } else if (key == "skip_verify") {
      auto b = v.value<bool>();
      if (!b) return bad(where + ": skip_verify must be a boolean");
      ep.skipVerify = *b;
    } else if (key == "ca") {
      TRY_ASSIGN(ep.caFiles, caList(&v, fileDir, where));
    } else if (key == "override_path") {
      auto b = v.value<bool>();
      if (!b) return bad(where + ": override_path must be a boolean");
      overridePath = *b;
    } else if (key == "header") {
      // Accepted for compatibility with containerd's files; not sent (docs/registry-hosts.md).
      if (!v.is_table()) return bad(where + ": header must be a table");
    } else if (topLevel && (key == "server" || key == "host")) {
      continue;
    } else {
      return bad(fmt::format("{}: unsupported key {:?}", where, key));
    }
  }
  return {};
}

}  // namespace

std::string HostEndpoint::hostPort() const {
  auto p = base.find("://");
  return p == std::string::npos ? base : base.substr(p + 3);
}

Result<HostsConfig> parseHostsToml(std::string_view text, const std::string& domain, const std::string& fileDir) {
  toml::parse_result parsed = toml::parse(text);
  if (!parsed) {
    const auto& err = parsed.error();
    return bad(fmt::format("line {}: {}", err.source().begin.line, err.description()));
  }
  const toml::table& root = parsed.table();
  HostsConfig cfg;

  // The server: `server` or https://<domain>; top-level ca/skip_verify/... apply to it.
  HostEndpoint server;
  server.server = true;
  std::string serverUrl = "https://" + registryHost(domain);
  if (auto s = root["server"]; s) {
    auto v = s.value<std::string>();
    if (!v) return bad("server must be a string");
    serverUrl = *v;
  }
  bool serverOverride = false;
  TRY(applyHostKeys(root, server, serverOverride, fileDir, "server", true));
  {
    TRY_ASSIGN(auto parts, splitUrl(serverUrl));
    server.base = parts.first;
    server.apiPath = apiPathOf(parts.second, serverOverride);
  }

  // The mirrors, in the order of the file.
  if (auto hosts = root["host"]; hosts) {
    const toml::table* ht = hosts.as_table();
    if (!ht) return bad("host must be a table of [host.\"URL\"] tables");
    std::vector<std::pair<toml::source_position, std::string>> order;
    for (auto& [k, v] : *ht) order.emplace_back(v.source().begin, std::string(k.str()));
    std::sort(order.begin(), order.end(), [](auto& a, auto& b) {
      return a.first.line != b.first.line ? a.first.line < b.first.line : a.first.column < b.first.column;
    });
    for (auto& [pos, url] : order) {
      const toml::table* t = (*ht)[url].as_table();
      std::string where = fmt::format("host {:?}", url);
      if (!t) return bad(where + " must be a table");
      HostEndpoint ep;
      bool overridePath = false;
      TRY(applyHostKeys(*t, ep, overridePath, fileDir, where, false));
      TRY_ASSIGN(auto parts, splitUrl(url));
      ep.base = parts.first;
      ep.apiPath = apiPathOf(parts.second, overridePath);
      cfg.hosts.push_back(std::move(ep));
    }
  }
  cfg.hosts.push_back(std::move(server));
  return cfg;
}

std::vector<std::string> hostsDirCandidates(const std::string& hostsDir, const std::string& domain) {
  std::vector<std::string> out;
  auto colon = domain.rfind(':');
  if (colon != std::string::npos && colon > 0 && domain.find(']') == std::string::npos)
    out.push_back(hostsDir + "/" + domain.substr(0, colon) + "_" + domain.substr(colon + 1) + "_");
  out.push_back(hostsDir + "/" + domain);
  out.push_back(hostsDir + "/_default");
  return out;
}

Result<std::optional<HostsConfig>> loadHostsConfig(const std::string& hostsDir, const std::string& domain) {
  if (hostsDir.empty()) return std::optional<HostsConfig>{};
  // A registry name never walks out of the directory.
  if (domain.empty() || domain.find('/') != std::string::npos || domain == "." || domain == "..")
    return std::optional<HostsConfig>{};
  for (auto& dir : hostsDirCandidates(hostsDir, domain)) {
    std::string file = dir + "/hosts.toml";
    struct stat st;
    if (::stat(file.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) continue;
      return sysError(errno, "registry hosts file {}", file);
    }
    TRY_ASSIGN(std::string text, readFile(file));
    auto cfg = parseHostsToml(text, domain, dir);
    if (!cfg) return std::unexpected(cfg.error().wrap("registry hosts file " + file));
    cfg->file = file;
    return std::optional<HostsConfig>(std::move(*cfg));
  }
  return std::optional<HostsConfig>{};
}

}  // namespace berth::registry
