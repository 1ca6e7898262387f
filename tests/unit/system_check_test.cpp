// berth system check: the store checks of daemon/system_check.h over a temp
// data-root and a real SQLite file, the POST /system/check router over a
// fake backend, and the monitor lock (monitor/lock.h).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <utime.h>

#include <algorithm>
#include <fstream>

#include "api/check_router.h"
#include "common/sha256.h"
#include "common/util.h"
#include "container/model.h"
#include "daemon/system_check.h"
#include "fake_http.h"
#include "monitor/lock.h"
#include "store/database.h"

using namespace berth;
using fakehttp::call;
using nlohmann::json;

namespace {

void writeFile(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

void makeOld(const std::string& path) {
  struct timespec ts[2] = {{::time(nullptr) - 7200, 0}, {::time(nullptr) - 7200, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0) << path;
}

bool exists(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

struct Store {
  fakehttp::TempDir dir;
  std::unique_ptr<store::Database> db;
  std::string root;
  Store() : db(std::move(*store::Database::open(dir / "berth.db"))), root(dir.path()) {
    for (const char* d : {"/content/blobs/sha256", "/content/ingest", "/snapshots", "/volumes"})
      EXPECT_TRUE(mkdirAll(root + d, 0700));
  }
  // A blob file; returns its digest.
  std::string blob(const std::string& data) {
    std::string d = sha256Digest(data);
    writeFile(root + "/content/blobs/sha256/" + d.substr(7), data);
    return d;
  }
};

std::vector<std::string> kinds(const std::vector<Problem>& ps) {
  std::vector<std::string> out;
  for (auto& p : ps) out.push_back(p.kind + " " + p.object);
  return out;
}

}  // namespace

TEST(SystemCheck, ContentKeepsEveryReferencedBlobAndRemovesOnlyOrphans) {
  Store s;
  std::string cfg = s.blob("config"), man = s.blob("manifest"), layer = s.blob("layer"), idx = s.blob("index");
  std::string orphan = s.blob("orphan");
  ASSERT_TRUE(s.db->run("INSERT INTO images(id, config, created, size, manifest_digest, added) VALUES(?,?,0,0,?,0)",
                        cfg, "{}", man));
  ASSERT_TRUE(s.db->run("INSERT INTO layers(chain_id, diff_id, size, blob_digest, created) VALUES(?,?,0,?,0)",
                        sha256Digest("chain"), sha256Digest("diff"), layer));
  ASSERT_TRUE(s.db->run("INSERT INTO digests(ref, image_id, created) VALUES(?,?,0)", "busybox@" + idx, cfg));
  writeFile(s.root + "/content/ingest/partial", "half");

  // Fresh leftovers may be work in progress: a request's check skips them.
  auto fresh = daemon::checkContent(*s.db, s.root, {.repair = true, .minAgeNanos = 60'000'000'000});
  ASSERT_TRUE(fresh);
  EXPECT_TRUE(fresh->empty()) << ::testing::PrintToString(kinds(*fresh));

  auto found = daemon::checkContent(*s.db, s.root, {.repair = false, .minAgeNanos = 0});
  ASSERT_TRUE(found);
  EXPECT_EQ(kinds(*found), (std::vector<std::string>{"blob " + orphan, "ingest content/ingest/partial"}));
  EXPECT_TRUE(exists(s.root + "/content/blobs/sha256/" + orphan.substr(7)));  // no repair asked

  auto repaired = daemon::checkContent(*s.db, s.root, {.repair = true, .minAgeNanos = 0});
  ASSERT_TRUE(repaired);
  ASSERT_EQ(repaired->size(), 2u);
  for (auto& p : *repaired) EXPECT_TRUE(p.repaired) << p.detail;
  EXPECT_FALSE(exists(s.root + "/content/blobs/sha256/" + orphan.substr(7)));
  EXPECT_FALSE(exists(s.root + "/content/ingest/partial"));
  for (auto& d : {cfg, man, layer, idx}) EXPECT_TRUE(exists(s.root + "/content/blobs/sha256/" + d.substr(7))) << d;
  auto again = daemon::checkContent(*s.db, s.root, {.repair = false, .minAgeNanos = 0});
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
}

TEST(SystemCheck, ContentReportsAMissingReferencedBlobWithoutRepair) {
  Store s;
  std::string cfg = sha256Digest("never written");
  ASSERT_TRUE(s.db->run("INSERT INTO images(id, config, created, size, added) VALUES(?,?,0,0,0)", cfg, "{}"));
  auto found = daemon::checkContent(*s.db, s.root, {.repair = true, .minAgeNanos = 0});
  ASSERT_TRUE(found);
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].object, cfg);
  EXPECT_FALSE((*found)[0].repaired);
}

TEST(SystemCheck, SnapshotsWithoutLayerRowAndTempDirsGoOldEnoughOnly) {
  Store s;
  std::string kept = sha256Digest("kept"), orphan = sha256Digest("orphan"), lost = sha256Digest("lost");
  for (auto& d : {kept, orphan}) ASSERT_TRUE(mkdirAll(s.root + "/snapshots/" + d.substr(7) + "/fs"));
  ASSERT_TRUE(mkdirAll(s.root + "/snapshots/.tmp-abc/fs"));
  ASSERT_TRUE(mkdirAll(s.root + "/snapshots/.tmp-new/fs"));
  makeOld(s.root + "/snapshots/" + orphan.substr(7));
  makeOld(s.root + "/snapshots/.tmp-abc");
  for (auto& c : {kept, lost})
    ASSERT_TRUE(s.db->run("INSERT INTO layers(chain_id, diff_id, size, created) VALUES(?,?,0,0)", c, c));
  auto r = daemon::checkSnapshots(*s.db, s.root, {.repair = true, .minAgeNanos = 60'000'000'000});
  ASSERT_TRUE(r);
  auto k = kinds(*r);
  std::sort(k.begin(), k.end());
  EXPECT_EQ(k, (std::vector<std::string>{"snapshot " + lost, "snapshot " + orphan, "snapshot snapshots/.tmp-abc"}));
  for (auto& p : *r) EXPECT_EQ(p.repaired, p.object != lost) << p.object;
  EXPECT_FALSE(exists(s.root + "/snapshots/" + orphan.substr(7)));
  EXPECT_FALSE(exists(s.root + "/snapshots/.tmp-abc"));
  EXPECT_TRUE(exists(s.root + "/snapshots/.tmp-new"));  // young: maybe an unpack in progress
  EXPECT_TRUE(exists(s.root + "/snapshots/" + kept.substr(7)));
}

TEST(SystemCheck, VolumesOrphanDirRemovedMissingDataMadeAgain) {
  Store s;
  ASSERT_TRUE(s.db->run("INSERT INTO volumes(name, driver, created) VALUES('good','local',0)"));
  ASSERT_TRUE(s.db->run("INSERT INTO volumes(name, driver, created) VALUES('nodata','local',0)"));
  ASSERT_TRUE(mkdirAll(s.root + "/volumes/good/_data"));
  ASSERT_TRUE(mkdirAll(s.root + "/volumes/nodata"));
  ASSERT_TRUE(mkdirAll(s.root + "/volumes/orphan/_data"));
  writeFile(s.root + "/volumes/metadata.db", "not a volume");  // a file: never a volume
  auto r = daemon::checkVolumes(*s.db, s.root, {.repair = true, .minAgeNanos = 0});
  ASSERT_TRUE(r);
  auto k = kinds(*r);
  std::sort(k.begin(), k.end());
  EXPECT_EQ(k, (std::vector<std::string>{"volume nodata", "volume orphan"}));
  EXPECT_TRUE(exists(s.root + "/volumes/nodata/_data"));
  EXPECT_FALSE(exists(s.root + "/volumes/orphan"));
  EXPECT_TRUE(exists(s.root + "/volumes/good/_data"));
  EXPECT_TRUE(exists(s.root + "/volumes/metadata.db"));
}

TEST(SystemCheck, DatabaseQuickCheckIsClean) {
  Store s;
  EXPECT_TRUE(daemon::checkDatabase(*s.db).empty());
}

namespace {

class FakeChecker : public api::SystemCheckBackend {
 public:
  Result<std::vector<Problem>> check(const CheckOptions& o) override {
    calls.push_back(o);
    if (fail) return makeError(Code::Unavailable, "database gone");
    return problems;
  }
  std::vector<CheckOptions> calls;
  std::vector<Problem> problems;
  bool fail = false;
};

}  // namespace

TEST(CheckRouter, EncodesProblemsAndPassesRepairWithTheAgeLimit) {
  FakeChecker b;
  api::Router router;
  api::registerCheckRoutes(router, b);
  b.problems = {{"blob", "sha256:ab", "orphan: removed", true}, {"database", "berth.db", "bad page", false}};
  auto r = call(router, "POST", "/v1.41/system/check?repair=1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), json::parse(R"({"Problems":[
    {"Kind":"blob","Object":"sha256:ab","Detail":"orphan: removed","Repaired":true},
    {"Kind":"database","Object":"berth.db","Detail":"bad page","Repaired":false}]})"));
  ASSERT_EQ(b.calls.size(), 1u);
  EXPECT_TRUE(b.calls[0].repair);
  EXPECT_EQ(b.calls[0].minAgeNanos, api::kCheckMinAgeNanos);
  r = call(router, "POST", "/system/check");
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(b.calls.back().repair);
}

TEST(CheckRouter, BadRepairValueIs400AndBackendErrorsKeepTheirStatus) {
  FakeChecker b;
  api::Router router;
  api::registerCheckRoutes(router, b);
  auto r = call(router, "POST", "/system/check?repair=yes");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(b.calls.empty());
  b.fail = true;
  r = call(router, "POST", "/system/check");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.message(), "database gone");
}

TEST(MonitorLock, HeldByOneOpenFileUntilItsLastCopyCloses) {
  fakehttp::TempDir dir;
  std::string bundle = dir.path();
  EXPECT_EQ(monitor::lockState(bundle), monitor::LockState::None);
  auto first = monitor::tryLock(bundle);
  ASSERT_TRUE(first);
  EXPECT_EQ(monitor::lockState(bundle), monitor::LockState::Held);
  auto second = monitor::tryLock(bundle);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Code::Conflict);
  // Handed over as berthd hands it to the monitor: a dup keeps it held
  // after the original closes.
  UniqueFd copy(::dup(first->get()));
  monitor::writeLockOwner(copy.get(), 4242);
  first->reset();
  EXPECT_EQ(monitor::lockState(bundle), monitor::LockState::Held);
  EXPECT_EQ(monitor::lockOwner(bundle), 4242);
  copy.reset();
  EXPECT_EQ(monitor::lockState(bundle), monitor::LockState::Free);
  EXPECT_TRUE(monitor::tryLock(bundle));
}

TEST(MonitorLock, ADeadHolderReleasesIt) {
  fakehttp::TempDir dir;
  std::string bundle = dir.path();
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  if (child == 0) {
    auto l = monitor::tryLock(bundle);
    (void)!::write(ready[1], l ? "y" : "n", 1);
    ::pause();
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  EXPECT_EQ(c, 'y');
  EXPECT_EQ(monitor::lockState(bundle), monitor::LockState::Held);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_EQ(monitor::lockState(bundle), monitor::LockState::Free);
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST(ContainerState, CommitFreezeRoundTrips) {
  container::ContainerState s;
  s.status = container::State::Paused;
  s.commitFreeze = true;
  auto back = container::ContainerState::fromJson(s.toJson());
  EXPECT_TRUE(back.commitFreeze);
  EXPECT_FALSE(container::ContainerState::fromJson(json::parse(R"({"Status":"paused"})")).commitFreeze);
}
