#pragma once
// ContainerStore on the daemon's SQLite database (containers table, schema
// in src/store/schema.cpp).

#include "container/service.h"
#include "store/database.h"

namespace berth::container {

class SqliteContainerStore : public ContainerStore {
 public:
  explicit SqliteContainerStore(store::Database& db) : db_(db) {}
  Result<> save(const Container& c) override;
  Result<> remove(const std::string& id) override;
  Result<std::vector<Container>> loadAll() override;

 private:
  store::Database& db_;
};

}  // namespace berth::container
