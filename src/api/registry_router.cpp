#include "api/registry_router.h"

#include "api/request_decode.h"
#include "common/util.h"
#include "image/reference.h"

namespace berth::api {

namespace {

// "https://index.docker.io/v1/", "127.0.0.1:5000", "http://h:1/" -> a domain.
std::string domainOf(std::string server) {
  if (server.empty()) return "docker.io";
  if (auto p = server.find("://"); p != std::string::npos) server = server.substr(p + 3);
  server = server.substr(0, server.find('/'));
  if (server == "index.docker.io" || server == "registry-1.docker.io" || server == "docker.io") return "docker.io";
  return server;
}

void login(const RegistryConfigFn& cfgFn, Request& req, ResponseWriter& w) {
  auto body = req.decodeBody(decodeAuthBody);
  if (!body) return w.error(body.error());
  registry::Credentials c;
  c.username = body->username;
  c.password = body->password;
  c.identityToken = body->identityToken;
  std::string domain = domainOf(body->serverAddress);
  auto cfg = cfgFn();
  registry::Client client(domain, c, registry::isInsecureRegistry(cfg, domain));
  auto r = client.login();
  if (!r) {
    return w.error(r.error());
  }
  w.json(200, {{"IdentityToken", ""}, {"Status", "Login Succeeded"}});
}

void search(const RegistryConfigFn& cfgFn, Request& req, ResponseWriter& w) {
  std::string term = req.q("term");
  if (term.empty()) return w.error(Error{Code::InvalidArgument, 0, "term is required"});
  int limit = 25;
  if (req.has("limit") && !req.q("limit").empty()) {
    limit = atoi(req.q("limit").c_str());
    if (limit < 1 || limit > 100)
      return w.error(Error{Code::InvalidArgument, 0, "limit " + req.q("limit") + " is outside the range of [1, 100]"});
  }
  auto filters = parseFilters(req.q("filters"));
  if (!filters) return w.error(filters.error());
  if (auto r = checkFilterKeys(*filters, {"is-official", "is-automated", "stars"}); !r) return w.error(r.error());
  // "127.0.0.1:5000/name" searches that registry; a bare term searches Docker Hub.
  std::string domain = "docker.io", q = term;
  if (auto slash = term.find('/'); slash != std::string::npos) {
    std::string first = term.substr(0, slash);
    if (first.find('.') != std::string::npos || first.find(':') != std::string::npos || first == "localhost") {
      domain = first;
      q = term.substr(slash + 1);
    }
  }
  auto cfg = cfgFn();
  bool hub = domain == "docker.io";
  registry::Client client(domain, {}, !hub && registry::isInsecureRegistry(cfg, domain),
                          hub ? "https://index.docker.io" : "");
  auto body = client.search(q, limit);
  if (!body) return w.error(body.error());
  json j = json::parse(*body, nullptr, false);
  json out = json::array();
  if (j.is_object() && j.contains("results") && j["results"].is_array()) {
    for (auto& r : j["results"]) {
      if (!r.is_object()) continue;
      json e = {{"name", r.value("name", "")},
                {"description", r.value("description", "")},
                {"star_count", r.value("star_count", 0)},
                {"is_official", r.value("is_official", false)},
                {"is_automated", r.value("is_automated", false)}};
      bool keep = true;
      for (auto& [k, vals] : *filters) {
        for (auto& v : vals) {
          if (k == "is-official") keep = keep && e["is_official"].get<bool>() == parseBool(v);
          if (k == "is-automated") keep = keep && e["is_automated"].get<bool>() == parseBool(v);
          if (k == "stars") keep = keep && e["star_count"].get<int>() >= atoi(v.c_str());
        }
      }
      if (keep) out.push_back(e);
      if (int(out.size()) >= limit) break;
    }
  }
  w.json(200, out);
}

}  // namespace

void registerRegistryRoutes(Router& router, RegistryConfigFn config) {
  router.add("POST", "/auth", [config](Request& req, ResponseWriter& w) { login(config, req, w); });
  router.add("GET", "/images/search", [config](Request& req, ResponseWriter& w) { search(config, req, w); });
}

}  // namespace berth::api
