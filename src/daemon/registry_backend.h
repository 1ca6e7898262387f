#pragma once
// The /auth and /images/search backend of berthd: registry::Index.

#include "api/registry_router.h"
#include "registry/index.h"

namespace berth::daemon {

class IndexRegistryBackend final : public api::RegistryBackend {
 public:
  // index must outlive this.
  explicit IndexRegistryBackend(registry::Index& index) : index_(index) {}

  Result<registry::LoginResult> login(const registry::Credentials& creds) override { return index_.login(creds); }
  Result<std::vector<registry::SearchResult>> search(const std::string& term, int limit,
                                                     const Filters& filters) override {
    return index_.search(term, limit, filters);
  }

 private:
  registry::Index& index_;
};

}  // namespace berth::daemon
