#include "api/registry_router.h"

#include "api/request_decode.h"
#include "common/number.h"

namespace berth::api {

namespace {

constexpr int kDefaultSearchLimit = 25;

void login(RegistryBackend& backend, Request& req, ResponseWriter& w) {
  auto body = req.decodeBody(decodeAuthBody);
  if (!body) return w.error(body.error());
  registry::Credentials c;
  c.username = body->username;
  c.password = body->password;
  c.identityToken = body->identityToken;
  c.serverAddress = body->serverAddress;
  auto r = backend.login(c);
  if (!r) return w.error(r.error());
  w.json(200, {{"IdentityToken", r->identityToken}, {"Status", r->status}});
}

void search(RegistryBackend& backend, Request& req, ResponseWriter& w) {
  std::string term = req.q("term");
  if (term.empty()) return w.error(Error{Code::InvalidArgument, 0, "term is required"});
  int limit = kDefaultSearchLimit;
  if (std::string l = req.q("limit"); !l.empty()) {
    auto n = parseNumber<int>(l);
    if (!n) return w.error(Error{Code::InvalidArgument, 0, "invalid limit specified: " + atoiErrorText(l)});
    if (*n < 1 || *n > 100)
      return w.error(Error{Code::InvalidArgument, 0, "limit " + l + " is outside the range of [1, 100]"});
    limit = *n;
  }
  auto filters = parseFilters(req.q("filters"));
  if (!filters) return w.error(filters.error());
  if (auto r = checkFilterKeys(*filters, {"is-official", "is-automated", "stars"}); !r) return w.error(r.error());
  auto results = backend.search(term, limit, *filters);
  if (!results) return w.error(results.error());
  json out = json::array();
  for (auto& r : *results)
    out.push_back({{"name", r.name},
                   {"description", r.description},
                   {"star_count", r.starCount},
                   {"is_official", r.isOfficial},
                   {"is_automated", r.isAutomated}});
  w.json(200, out);
}

}  // namespace

void registerRegistryRoutes(Router& router, RegistryBackend& backend) {
  router.add("POST", "/auth", [&backend](Request& req, ResponseWriter& w) { login(backend, req, w); });
  router.add("GET", "/images/search", [&backend](Request& req, ResponseWriter& w) { search(backend, req, w); });
}

}  // namespace berth::api
