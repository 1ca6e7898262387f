#include "container/sqlite_store.h"

#include "common/log.h"

namespace berth::container {

Result<> SqliteContainerStore::save(const Container& c) {
  return db_.run(
      "INSERT INTO containers(id, name, image_id, created, config, state) VALUES(?,?,?,?,?,?) "
      "ON CONFLICT(id) DO UPDATE SET name=excluded.name, config=excluded.config, state=excluded.state",
      c.id, c.name, c.imageId, c.created, c.configDoc().dump(), c.state.toJson().dump());
}

Result<> SqliteContainerStore::remove(const std::string& id) {
  return db_.run("DELETE FROM containers WHERE id = ?", id);
}

Result<std::vector<Container>> SqliteContainerStore::loadAll() {
  TRY_ASSIGN(store::Stmt s, db_.prepare("SELECT id, name, image_id, created, config, state FROM containers"));
  std::vector<Container> out;
  for (;;) {
    TRY_ASSIGN(bool row, s.step());
    if (!row) break;
    auto c = Container::fromRow(s.colText(0), s.colText(1), s.colText(2), s.colInt(3), s.colText(4), s.colText(5));
    if (!c) {
      log::error("{}", c.error().message);
      continue;
    }
    out.push_back(std::move(*c));
  }
  return out;
}

}  // namespace berth::container
