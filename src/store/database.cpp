#include "store/database.h"

#include <sqlite3.h>

namespace berth::store {

Error sqliteError(int rc, std::string_view what, const char* msg) {
  Code code = Code::Internal;
  int primary = rc & 0xff;
  if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
    code = Code::AlreadyExists;
  } else if (primary == SQLITE_CONSTRAINT) {
    code = Code::Conflict;
  } else if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    code = Code::Unavailable;
  } else if (primary == SQLITE_MISUSE || primary == SQLITE_RANGE) {
    code = Code::InvalidArgument;
  }
  return Error{code, 0, fmt::format("{}: {}", what, msg ? msg : sqlite3_errstr(rc))};
}

// ---- Stmt ----

Stmt::Stmt(Stmt&& o) noexcept
    : db_(o.db_), s_(std::exchange(o.s_, nullptr)), lock_(std::move(o.lock_)), bindError_(std::move(o.bindError_)) {}

Stmt::~Stmt() {
  if (s_) db_->release(s_);
}

static void noteBind(std::string& err, int rc, sqlite3_stmt* s, int idx) {
  if (rc != SQLITE_OK && err.empty()) err = fmt::format("bind parameter {}: {}", idx, sqlite3_errstr(rc));
}

Stmt& Stmt::bind(int idx, int64_t v) {
  noteBind(bindError_, sqlite3_bind_int64(s_, idx, v), s_, idx);
  return *this;
}

Stmt& Stmt::bind(int idx, std::string_view v) {
  noteBind(bindError_, sqlite3_bind_text(s_, idx, v.data(), int(v.size()), SQLITE_TRANSIENT), s_, idx);
  return *this;
}

Stmt& Stmt::bindNull(int idx) {
  noteBind(bindError_, sqlite3_bind_null(s_, idx), s_, idx);
  return *this;
}

Result<bool> Stmt::step() {
  if (!bindError_.empty()) return makeError(Code::InvalidArgument, bindError_);
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3* h = sqlite3_db_handle(s_);
  int ext = sqlite3_extended_errcode(h);
  return std::unexpected(sqliteError(ext, sqlite3_sql(s_), sqlite3_errmsg(h)));
}

Result<> Stmt::run() {
  for (;;) {
    TRY_ASSIGN(bool row, step());
    if (!row) return {};
  }
}

void Stmt::reset() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
  bindError_.clear();
}

int64_t Stmt::colInt(int col) const { return sqlite3_column_int64(s_, col); }

std::string Stmt::colText(int col) const {
  const unsigned char* p = sqlite3_column_text(s_, col);
  if (!p) return {};
  return std::string(reinterpret_cast<const char*>(p), size_t(sqlite3_column_bytes(s_, col)));
}

bool Stmt::colNull(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }

// ---- Database ----

Result<std::unique_ptr<Database>> Database::open(const std::string& path) {
  std::unique_ptr<Database> db(new Database());
  int rc = sqlite3_open_v2(path.c_str(), &db->db_,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Error e = sqliteError(rc, "open " + path, db->db_ ? sqlite3_errmsg(db->db_) : nullptr);
    return std::unexpected(e);
  }
  sqlite3_extended_result_codes(db->db_, 1);
  sqlite3_busy_timeout(db->db_, 5000);
  // WAL + synchronous=NORMAL: a COMMIT reaches the WAL file (the OS) before
  // it returns, so a committed transaction survives SIGKILL of berthd (the
  // DESIGN.md durability rule); only a power loss can drop the newest
  // commits, never corrupt the file. FULL cost an fsync (10-80 ms on these
  // disks) on every container create/start/exit/remove.
  TRY(db->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"));
  TRY(migrate(*db));
  return db;
}

Database::~Database() {
  for (auto& [sql, s] : cache_) sqlite3_finalize(s);
  if (db_) sqlite3_close_v2(db_);
}

Result<> Database::check(int rc, std::string_view what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return {};
  return std::unexpected(sqliteError(sqlite3_extended_errcode(db_), what, sqlite3_errmsg(db_)));
}

Result<> Database::exec(std::string_view sql) {
  std::lock_guard lk(mu_);
  std::string s(sql);
  char* msg = nullptr;
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &msg);
  if (rc != SQLITE_OK) {
    Error e = sqliteError(sqlite3_extended_errcode(db_), "exec", msg);
    sqlite3_free(msg);
    return std::unexpected(e);
  }
  return {};
}

Result<Stmt> Database::prepare(std::string_view sql) {
  std::unique_lock lk(mu_);
  std::string key(sql);
  auto it = cache_.find(key);
  if (it != cache_.end()) {
    sqlite3_stmt* s = it->second;
    cache_.erase(it);
    return Stmt(this, s, std::move(lk));
  }
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v3(db_, key.data(), int(key.size()), SQLITE_PREPARE_PERSISTENT, &s, nullptr);
  if (rc != SQLITE_OK) return std::unexpected(sqliteError(rc, "prepare " + key, sqlite3_errmsg(db_)));
  if (!s) return makeError(Code::InvalidArgument, "prepare: empty statement");
  return Stmt(this, s, std::move(lk));
}

void Database::release(sqlite3_stmt* s) {
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  if (cache_.size() < 256) {
    cache_.emplace(sqlite3_sql(s), s);
  } else {
    sqlite3_finalize(s);
  }
}

Result<> Database::transaction(const std::function<Result<>()>& fn) {
  std::lock_guard lk(mu_);
  int depth = txDepth_;
  std::string sp = fmt::format("sp{}", depth);
  TRY(exec(depth == 0 ? std::string("BEGIN IMMEDIATE") : "SAVEPOINT " + sp));
  txDepth_++;
  Result<> r;
  try {
    r = fn();
  } catch (const std::exception& e) {
    r = errorf(Code::Internal, "transaction: {}", e.what());
  }
  txDepth_--;
  if (!r) {
    if (depth == 0) {
      (void)exec("ROLLBACK");
    } else {
      (void)exec("ROLLBACK TO " + sp + "; RELEASE " + sp);
    }
    return r;
  }
  auto c = exec(depth == 0 ? std::string("COMMIT") : "RELEASE " + sp);
  if (!c) {
    if (depth == 0) (void)exec("ROLLBACK");
    return c;
  }
  return {};
}

int64_t Database::changes() {
  std::lock_guard lk(mu_);
  return sqlite3_changes64(db_);
}

Result<int> Database::schemaVersion() {
  TRY_ASSIGN(Stmt s, prepare("PRAGMA user_version"));
  TRY_ASSIGN(bool row, s.step());
  if (!row) return 0;
  return int(s.colInt(0));
}

}  // namespace berth::store
