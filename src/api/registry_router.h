#pragma once
// Registry routes that are not about the local store (engine-api.md):
//   POST /auth            check credentials (docker login)
//   GET  /images/search   registry search API (term, limit, filters)
// The router parses the request, checks limit and filter keys, and encodes
// the answer; the registry itself is behind RegistryBackend.

#include <string>
#include <vector>

#include "api/http.h"
#include "registry/auth.h"
#include "registry/index.h"

namespace berth::api {

// What /auth and /images/search need from the registries. Implementations
// return Docker's errors (PermissionDenied for refused credentials,
// Unavailable when the registry does not answer, InvalidArgument for a bad
// filter value). Called from several request threads at once.
class RegistryBackend {
 public:
  virtual ~RegistryBackend() = default;
  // creds.serverAddress names the registry ("" = Docker Hub).
  virtual Result<registry::LoginResult> login(const registry::Credentials& creds) = 0;
  // At most limit (1..100) results for term that pass filters, whose keys
  // are among is-official, is-automated and stars.
  virtual Result<std::vector<registry::SearchResult>> search(const std::string& term, int limit,
                                                             const Filters& filters) = 0;
};

// backend must outlive the router.
void registerRegistryRoutes(Router& router, RegistryBackend& backend);

}  // namespace berth::api
