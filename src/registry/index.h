#pragma once
// The registry calls that are not about an image: docker login's credential
// check and docker search (the v1 search API of an index). No HTTP server
// types: the /auth and /images/search router calls this through its backend.
//
// Thread safety: an Index may be used by several threads at once.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/filters.h"
#include "common/result.h"
#include "registry/auth.h"
#include "registry/client.h"

namespace berth::registry {

// One repository found by a search, as the search API and /images/search have it.
struct SearchResult {
  std::string name;
  std::string description;
  int64_t starCount = 0;
  bool isOfficial = false;
  bool isAutomated = false;
};

struct LoginResult {
  std::string status = "Login Succeeded";
  std::string identityToken;  // "" unless the registry handed one out
};

// The domain a login's server address names: "https://index.docker.io/v1/",
// "registry-1.docker.io" and "" are "docker.io"; "http://h:1/x" is "h:1".
std::string serverDomain(std::string_view serverAddress);

// Splits a search term as Docker does: "127.0.0.1:5000/name" searches that
// registry for "name"; a term whose first component has no '.' or ':' and is
// not "localhost" (or that has no '/') searches docker.io for the whole term.
// Returns {domain, query}.
std::pair<std::string, std::string> splitSearchTerm(std::string_view term);

// Parses a /v1/search answer ({"results": [...]}), keeps the results that
// pass filters (is-official, is-automated: booleans; stars: a minimum) and
// at most limit of them. Keys are not checked here (the router does).
// InvalidArgument "invalid filter 'stars=x': strconv.Atoi: ..." for a stars
// value that is not an integer. A body that is not a search answer gives
// no results.
Result<std::vector<SearchResult>> parseSearchResults(std::string_view body, const Filters& filters, int limit);

class Index {
 public:
  // config is read on every call (daemon.json's insecure registries).
  explicit Index(std::function<RegistryConfig()> config) : config_(std::move(config)) {}

  // Checks creds against the registry creds.serverAddress names (docker.io
  // when empty). PermissionDenied for refused credentials, Unavailable when
  // nothing answers, with Docker's messages.
  Result<LoginResult> login(const Credentials& creds);
  // Searches the index splitSearchTerm picks for at most limit results
  // passing filters. Errors from the registry as Client::search gives them.
  Result<std::vector<SearchResult>> search(const std::string& term, int limit, const Filters& filters);

 private:
  std::function<RegistryConfig()> config_;
};

}  // namespace berth::registry
