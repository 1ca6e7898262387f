#include "daemon/system_check.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "common/log.h"
#include "common/sha256.h"
#include "common/util.h"

namespace berth::daemon {

namespace {

std::vector<std::string> listDir(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* ent = ::readdir(d)) {
      std::string n = ent->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    ::closedir(d);
  }
  return out;
}

bool exists(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

// True when path was last modified at least minAge ago (or is gone).
bool oldEnough(const std::string& path, const CheckOptions& opts) {
  if (opts.minAgeNanos <= 0) return true;
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return true;
  int64_t m = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return nowNanos() - m >= opts.minAgeNanos;
}

// Every row value of a one-column query.
Result<std::set<std::string>> column(store::Database& db, std::string_view sql) {
  std::set<std::string> out;
  TRY_ASSIGN(auto s, db.prepare(sql));
  for (;;) {
    TRY_ASSIGN(bool row, s.step());
    if (!row) break;
    out.insert(s.colText(0));
  }
  return out;
}

// Removes path (a file or a tree) for a repair; the detail says what happened.
void repairRemove(Problem& p, const std::string& path) {
  auto r = removeAll(path);
  p.repaired = bool(r);
  p.detail += r ? ": removed" : ": " + r.error().message;
}

}  // namespace

std::vector<Problem> checkDatabase(store::Database& db) {
  std::vector<Problem> out;
  auto s = db.prepare("PRAGMA quick_check");
  if (!s) return {Problem{"database", "berth.db", s.error().message, false}};
  for (;;) {
    auto row = s->step();
    if (!row) {
      out.push_back({"database", "berth.db", row.error().message, false});
      break;
    }
    if (!*row) break;
    if (std::string msg = s->colText(0); msg != "ok") out.push_back({"database", "berth.db", msg, false});
  }
  return out;
}

Result<std::vector<Problem>> checkContent(store::Database& db, const std::string& dataRoot, const CheckOptions& opts) {
  std::vector<Problem> out;
  const std::string blobs = dataRoot + "/content/blobs/sha256";
  // What the rows name: image configs (the id is the config's digest), local
  // manifests, layer blobs, and the manifests / indexes behind RepoDigests.
  TRY_ASSIGN(auto configs, column(db, "SELECT id FROM images"));
  TRY_ASSIGN(auto manifests, column(db, "SELECT manifest_digest FROM images WHERE manifest_digest != ''"));
  TRY_ASSIGN(auto layerBlobs, column(db, "SELECT blob_digest FROM layers WHERE blob_digest != ''"));
  TRY_ASSIGN(auto digestRefs, column(db, "SELECT ref FROM digests"));
  std::set<std::string> referenced;
  for (auto* set : {&configs, &manifests, &layerBlobs}) referenced.insert(set->begin(), set->end());
  for (auto& ref : digestRefs)
    if (auto at = ref.rfind('@'); at != std::string::npos) referenced.insert(ref.substr(at + 1));

  std::set<std::string> present;
  for (auto& hex : listDir(blobs)) {
    std::string digest = "sha256:" + hex;
    std::string path = blobs + "/" + hex;
    if (hex.size() != 64 || !isHex(hex)) {
      if (!oldEnough(path, opts)) continue;
      Problem p{"blob", "content/blobs/sha256/" + hex, "not a blob name", false};
      if (opts.repair) repairRemove(p, path);
      out.push_back(std::move(p));
      continue;
    }
    present.insert(digest);
    if (referenced.contains(digest) || !oldEnough(path, opts)) continue;
    Problem p{"blob", digest, "no image, layer or digest references it", false};
    if (opts.repair) repairRemove(p, path);
    out.push_back(std::move(p));
  }
  auto missing = [&](const std::set<std::string>& set, const char* what) {
    for (auto& d : set)
      if (isValidDigest(d) && d.starts_with("sha256:") && !present.contains(d))
        out.push_back({"blob", d, fmt::format("missing, but {} names it", what), false});
  };
  missing(configs, "an image (its config)");
  missing(manifests, "an image (its manifest)");
  missing(layerBlobs, "a layer");

  const std::string ingest = dataRoot + "/content/ingest";
  for (auto& name : listDir(ingest)) {
    std::string path = ingest + "/" + name;
    if (!oldEnough(path, opts)) continue;
    Problem p{"ingest", "content/ingest/" + name, "leftover of an interrupted download or import", false};
    if (opts.repair) repairRemove(p, path);
    out.push_back(std::move(p));
  }
  return out;
}

Result<std::vector<Problem>> checkSnapshots(store::Database& db, const std::string& dataRoot,
                                            const CheckOptions& opts) {
  std::vector<Problem> out;
  const std::string root = dataRoot + "/snapshots";
  TRY_ASSIGN(auto chains, column(db, "SELECT chain_id FROM layers"));
  std::set<std::string> present;
  for (auto& name : listDir(root)) {
    std::string path = root + "/" + name;
    if (name.starts_with(".tmp-")) {
      if (!oldEnough(path, opts)) continue;
      Problem p{"snapshot", "snapshots/" + name, "leftover of an interrupted unpack or removal", false};
      if (opts.repair) repairRemove(p, path);
      out.push_back(std::move(p));
      continue;
    }
    if (name.size() != 64 || !isHex(name)) continue;
    present.insert("sha256:" + name);
    if (chains.contains("sha256:" + name) || !oldEnough(path, opts)) continue;
    Problem p{"snapshot", "sha256:" + name, "no layer references it", false};
    if (opts.repair) repairRemove(p, path);
    out.push_back(std::move(p));
  }
  for (auto& c : chains)
    if (isValidDigest(c) && !present.contains(c))
      out.push_back({"snapshot", c, "missing, but a layer names it", false});
  return out;
}

Result<std::vector<Problem>> checkVolumes(store::Database& db, const std::string& dataRoot, const CheckOptions& opts) {
  std::vector<Problem> out;
  const std::string root = dataRoot + "/volumes";
  TRY_ASSIGN(auto names, column(db, "SELECT name FROM volumes"));
  for (auto& name : listDir(root)) {
    std::string path = root + "/" + name;
    struct stat st;
    if (names.contains(name) || ::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || !oldEnough(path, opts))
      continue;
    Problem p{"volume", name, "volumes/" + name + " has no volume record (an interrupted create or rm)", false};
    if (opts.repair) repairRemove(p, path);
    out.push_back(std::move(p));
  }
  for (auto& name : names) {
    std::string data = root + "/" + name + "/_data";
    if (exists(data)) continue;
    Problem p{"volume", name, "its data directory volumes/" + name + "/_data is missing", false};
    if (opts.repair) {
      auto r = mkdirAll(data, 0755);
      p.repaired = bool(r);
      p.detail += r ? ": made again, empty" : ": " + r.error().message;
    }
    out.push_back(std::move(p));
  }
  return out;
}

Result<std::vector<Problem>> SystemChecker::check(const CheckOptions& opts) {
  std::lock_guard lk(mu_);
  std::vector<Problem> out = checkDatabase(db_);
  auto append = [&](std::vector<Problem> v) {
    for (auto& p : v) out.push_back(std::move(p));
  };
  append(containers_.check(opts));
  TRY_ASSIGN(auto content, checkContent(db_, dataRoot_, opts));
  append(std::move(content));
  TRY_ASSIGN(auto snaps, checkSnapshots(db_, dataRoot_, opts));
  append(std::move(snaps));
  TRY_ASSIGN(auto vols, checkVolumes(db_, dataRoot_, opts));
  append(std::move(vols));
  return out;
}

}  // namespace berth::daemon
