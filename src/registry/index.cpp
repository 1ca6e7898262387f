#include "registry/index.h"

#include <nlohmann/json.hpp>

#include "common/number.h"
#include "common/util.h"

namespace berth::registry {

using json = nlohmann::json;

std::string serverDomain(std::string_view serverAddress) {
  std::string_view s = serverAddress;
  if (auto p = s.find("://"); p != std::string_view::npos) s.remove_prefix(p + 3);
  s = s.substr(0, s.find('/'));
  if (s.empty() || s == "index.docker.io" || s == "registry-1.docker.io" || s == "docker.io") return "docker.io";
  return std::string(s);
}

std::pair<std::string, std::string> splitSearchTerm(std::string_view term) {
  auto slash = term.find('/');
  if (slash != std::string_view::npos) {
    std::string_view first = term.substr(0, slash);
    if (first.find_first_of(".:") != std::string_view::npos || first == "localhost")
      return {std::string(first), std::string(term.substr(slash + 1))};
  }
  return {"docker.io", std::string(term)};
}

namespace {

// The minimums of the stars filter.
Result<std::vector<int64_t>> starsFilter(const Filters& filters) {
  std::vector<int64_t> out;
  if (auto it = filters.find("stars"); it != filters.end())
    for (auto& v : it->second) {
      auto n = parseNumber<int>(v);
      if (!n) return errorf(Code::InvalidArgument, "invalid filter 'stars={}': {}", v, atoiErrorText(v));
      out.push_back(*n);
    }
  return out;
}

}  // namespace

Result<std::vector<SearchResult>> parseSearchResults(std::string_view body, const Filters& filters, int limit) {
  TRY_ASSIGN(std::vector<int64_t> minStars, starsFilter(filters));
  auto wants = [&](const char* key, bool value) {
    auto it = filters.find(key);
    if (it == filters.end()) return true;
    for (auto& v : it->second)
      if (value != parseBool(v)) return false;
    return true;
  };
  std::vector<SearchResult> out;
  json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("results") || !j["results"].is_array()) return out;
  for (auto& r : j["results"]) {
    if (!r.is_object()) continue;
    SearchResult e;
    e.name = r.value("name", "");
    e.description = r.value("description", "");
    e.starCount = r.value("star_count", int64_t(0));
    e.isOfficial = r.value("is_official", false);
    e.isAutomated = r.value("is_automated", false);
    bool keep = wants("is-official", e.isOfficial) && wants("is-automated", e.isAutomated);
    for (int64_t m : minStars) keep = keep && e.starCount >= m;
    if (keep) out.push_back(std::move(e));
    if (int(out.size()) >= limit) break;
  }
  return out;
}

Result<LoginResult> Index::login(const Credentials& creds) {
  std::string domain = serverDomain(creds.serverAddress);
  Client client(domain, creds, isInsecureRegistry(config_(), domain));
  TRY(client.login());
  return LoginResult{};
}

Result<std::vector<SearchResult>> Index::search(const std::string& term, int limit, const Filters& filters) {
  TRY(starsFilter(filters));  // a bad filter fails before the registry is asked
  auto [domain, query] = splitSearchTerm(term);
  bool hub = domain == "docker.io";
  Client client(domain, {}, !hub && isInsecureRegistry(config_(), domain), hub ? "https://index.docker.io" : "");
  TRY_ASSIGN(std::string body, client.search(query, limit));
  return parseSearchResults(body, filters, limit);
}

}  // namespace berth::registry
