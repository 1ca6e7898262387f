#pragma once
// SQLite metadata store (DESIGN.md "Data on disk"): one connection in WAL
// mode with foreign keys on and a busy timeout, guarded by one recursive
// mutex. The schema and its migrations live in schema.cpp.
//
// Thread safety: a Database may be used from any thread. A Stmt holds the
// database lock from prepare() until it is destroyed, so keep statements
// short-lived and never block on another thread while holding one.
// transaction() holds the lock for the whole callback; statements prepared
// inside it on the same thread nest (the mutex is recursive).

#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace berth::store {

class Database;

// A prepared statement. Parameters are 1-based, columns 0-based.
// Returned to the database's statement cache on destruction.
class Stmt {
 public:
  Stmt(Stmt&& o) noexcept;
  Stmt& operator=(Stmt&&) = delete;
  Stmt(const Stmt&) = delete;
  ~Stmt();

  Stmt& bind(int idx, int64_t v);
  template <std::integral T>
  Stmt& bind(int idx, T v) {
    return bind(idx, int64_t(v));
  }
  Stmt& bind(int idx, std::string_view v);
  Stmt& bind(int idx, const std::string& v) { return bind(idx, std::string_view(v)); }
  Stmt& bind(int idx, const char* v) { return bind(idx, std::string_view(v)); }
  Stmt& bindNull(int idx);

  // Binds args to parameters 1..N.
  template <class... Args>
  Stmt& bindAll(const Args&... args) {
    int i = 1;
    (bind(i++, args), ...);
    return *this;
  }

  // Advances: true when a row is available, false when done.
  // A bind error recorded earlier is reported here (InvalidArgument).
  Result<bool> step();
  // Steps to completion (for INSERT/UPDATE/DELETE). Constraint violations
  // come back as AlreadyExists (UNIQUE/PRIMARY KEY) or Conflict (others).
  Result<> run();
  void reset();

  int64_t colInt(int col) const;
  std::string colText(int col) const;
  bool colNull(int col) const;

 private:
  friend class Database;
  Stmt(Database* db, sqlite3_stmt* s, std::unique_lock<std::recursive_mutex> lock)
      : db_(db), s_(s), lock_(std::move(lock)) {}
  Database* db_;
  sqlite3_stmt* s_;
  std::unique_lock<std::recursive_mutex> lock_;
  std::string bindError_;
};

class Database {
 public:
  // Opens (creating) the database file and applies pending migrations.
  // ":memory:" works for tests.
  static Result<std::unique_ptr<Database>> open(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more statements without results.
  Result<> exec(std::string_view sql);
  // Prepares (or reuses a cached) statement; holds the lock while alive.
  Result<Stmt> prepare(std::string_view sql);
  template <class... Args>
  Result<Stmt> query(std::string_view sql, const Args&... args) {
    auto s = prepare(sql);
    if (s) s->bindAll(args...);
    return s;
  }
  // prepare + bind + run in one call.
  template <class... Args>
  Result<> run(std::string_view sql, const Args&... args) {
    TRY_ASSIGN(Stmt s, prepare(sql));
    s.bindAll(args...);
    return s.run();
  }

  // Runs fn inside BEGIN IMMEDIATE ... COMMIT (a SAVEPOINT when nested);
  // rolls back when fn returns an error, and returns that error.
  Result<> transaction(const std::function<Result<>()>& fn);

  // Rows changed by the last INSERT/UPDATE/DELETE on this connection.
  int64_t changes();
  // PRAGMA user_version after migrations.
  Result<int> schemaVersion();

  std::recursive_mutex& mutex() { return mu_; }

 private:
  friend class Stmt;
  Database() = default;
  Result<> check(int rc, std::string_view what);
  void release(sqlite3_stmt* s);

  sqlite3* db_ = nullptr;
  std::recursive_mutex mu_;
  int txDepth_ = 0;
  std::unordered_multimap<std::string, sqlite3_stmt*> cache_;
};

// Maps a SQLite result code to an Error ("<what>: <sqlite message>").
Error sqliteError(int rc, std::string_view what, const char* msg);

// Applies the migrations in schema.cpp up to kSchemaVersion. Called by open().
Result<> migrate(Database& db);
extern const int kSchemaVersion;

}  // namespace berth::store
