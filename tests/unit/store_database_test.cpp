#include <gtest/gtest.h>

#include <thread>

#include "fake_http.h"
#include "store/database.h"

using namespace berth;
using fakehttp::TempDir;

TEST(StoreDatabase, OpensMigratesAndReopens) {
  TempDir dir;
  std::string path = dir / "berth.db";
  {
    auto db = store::Database::open(path);
    ASSERT_TRUE(db) << db.error().message;
    auto v = (*db)->schemaVersion();
    ASSERT_TRUE(v);
    EXPECT_EQ(*v, store::kSchemaVersion);
    auto s = (*db)->prepare("PRAGMA journal_mode");
    ASSERT_TRUE(s);
    ASSERT_TRUE(*s->step());
    EXPECT_EQ(s->colText(0), "wal");
  }
  auto db = store::Database::open(path);
  ASSERT_TRUE(db) << db.error().message;
  for (const char* table : {"images", "tags", "digests", "layers", "image_layers", "containers", "volumes"}) {
    auto s = (*db)->query("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", table);
    ASSERT_TRUE(s);
    EXPECT_TRUE(*s->step()) << table;
  }
}

TEST(StoreDatabase, BindStepColumns) {
  auto db = store::Database::open(":memory:");
  ASSERT_TRUE(db);
  auto& d = **db;
  ASSERT_TRUE(d.run("INSERT INTO containers(id, name, image_id, created, config, state) VALUES(?,?,?,?,?,?)", "c1",
                    "percy", "sha256:x", int64_t(42), "{}", "created"));
  auto s = d.query("SELECT name, created, config FROM containers WHERE id = ?", "c1");
  ASSERT_TRUE(s);
  ASSERT_TRUE(*s->step());
  EXPECT_EQ(s->colText(0), "percy");
  EXPECT_EQ(s->colInt(1), 42);
  EXPECT_FALSE(*s->step());
}

TEST(StoreDatabase, UniqueViolationIsAlreadyExists) {
  auto db = store::Database::open(":memory:");
  ASSERT_TRUE(db);
  auto& d = **db;
  const char* ins = "INSERT INTO containers(id, name, image_id, created, config, state) VALUES(?,?,?,?,?,?)";
  ASSERT_TRUE(d.run(ins, "c1", "n", "i", 1, "{}", "created"));
  auto r = d.run(ins, "c2", "n", "i", 1, "{}", "created");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::AlreadyExists);
}

TEST(StoreDatabase, TransactionRollsBackOnError) {
  auto db = store::Database::open(":memory:");
  ASSERT_TRUE(db);
  auto& d = **db;
  auto r = d.transaction([&]() -> Result<> {
    TRY(d.run("INSERT INTO containers(id, name, image_id, created, config, state) VALUES('a','a','i',1,'{}','x')"));
    return makeError(Code::Conflict, "nope");
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "nope");
  auto s = d.prepare("SELECT COUNT(*) FROM containers");
  ASSERT_TRUE(s);
  ASSERT_TRUE(*s->step());
  EXPECT_EQ(s->colInt(0), 0);
}

TEST(StoreDatabase, NestedTransactionUsesSavepoint) {
  auto db = store::Database::open(":memory:");
  ASSERT_TRUE(db);
  auto& d = **db;
  auto r = d.transaction([&]() -> Result<> {
    TRY(d.run("INSERT INTO containers(id, name, image_id, created, config, state) VALUES('a','a','i',1,'{}','x')"));
    auto inner = d.transaction([&]() -> Result<> {
      TRY(d.run("INSERT INTO containers(id, name, image_id, created, config, state) VALUES('b','b','i',1,'{}','x')"));
      return makeError(Code::Internal, "inner fails");
    });
    EXPECT_FALSE(inner);
    return {};
  });
  ASSERT_TRUE(r) << r.error().message;
  auto s = d.prepare("SELECT group_concat(id) FROM containers");
  ASSERT_TRUE(*s->step());
  EXPECT_EQ(s->colText(0), "a");
}

TEST(StoreDatabase, BadSqlIsAnError) {
  auto db = store::Database::open(":memory:");
  ASSERT_TRUE(db);
  EXPECT_FALSE((*db)->prepare("SELEKT nonsense"));
  EXPECT_FALSE((*db)->exec("CREATE TABLE images(x)"));  // exists already
}

TEST(StoreDatabase, ConcurrentWritersAreSerialised) {
  TempDir dir;
  auto db = store::Database::open(dir / "berth.db");
  ASSERT_TRUE(db);
  auto& d = **db;
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; t++) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 25; i++) {
        std::string id = fmt::format("{}-{}", t, i);
        auto r = d.transaction([&]() -> Result<> {
          return d.run("INSERT INTO containers(id, name, image_id, created, config, state) VALUES(?,?,'i',1,'{}','x')",
                       id, id);
        });
        EXPECT_TRUE(r);
      }
    });
  }
  for (auto& t : ts) t.join();
  auto s = d.prepare("SELECT COUNT(*) FROM containers");
  ASSERT_TRUE(*s->step());
  EXPECT_EQ(s->colInt(0), 100);
}
