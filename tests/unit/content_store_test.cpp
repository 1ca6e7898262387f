#include <gtest/gtest.h>
#include <dirent.h>

#include "common/sha256.h"
#include "content/store.h"
#include "fake_http.h"

using namespace berth;
using fakehttp::TempDir;

static int countEntries(const std::string& dir) {
  int n = 0;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') n++;
    closedir(d);
  }
  return n;
}

TEST(ContentStore, PutReadExistsRemove) {
  TempDir dir;
  content::Store cs(dir / "content");
  ASSERT_TRUE(cs.init());
  auto d = cs.put("hello");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(*d, sha256Digest("hello"));
  EXPECT_TRUE(cs.exists(*d));
  EXPECT_EQ(*cs.size(*d), 5);
  EXPECT_EQ(*cs.read(*d), "hello");
  EXPECT_EQ(*cs.path(*d), dir.path() + "/content/blobs/sha256/" + d->substr(7));
  // Same content again: same blob.
  EXPECT_EQ(*cs.put("hello"), *d);
  ASSERT_TRUE(cs.remove(*d));
  EXPECT_FALSE(cs.exists(*d));
  EXPECT_TRUE(cs.remove(*d));  // missing is fine
  EXPECT_EQ(cs.read(*d).error().code, Code::NotFound);
  EXPECT_EQ(countEntries(dir / "content/ingest"), 0);
}

TEST(ContentStore, DigestMismatchIsRejectedAndCleanedUp) {
  TempDir dir;
  content::Store cs(dir / "content");
  ASSERT_TRUE(cs.init());
  auto r = cs.put("hello", sha256Digest("other"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::InvalidArgument);
  EXPECT_NE(r.error().message.find("digest mismatch"), std::string::npos);
  EXPECT_FALSE(cs.exists(sha256Digest("hello")));
  EXPECT_EQ(countEntries(dir / "content/ingest"), 0);
}

TEST(ContentStore, SizeMismatchIsRejected) {
  TempDir dir;
  content::Store cs(dir / "content");
  ASSERT_TRUE(cs.init());
  auto w = cs.ingest();
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->write("abc"));
  auto r = w->commit("", 4);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::InvalidArgument);
  EXPECT_EQ(countEntries(dir / "content/ingest"), 0);
}

TEST(ContentStore, MalformedDigestsNeverBecomePaths) {
  TempDir dir;
  content::Store cs(dir / "content");
  ASSERT_TRUE(cs.init());
  for (std::string bad : std::vector<std::string>{"", "sha256:", "sha256:../../etc/passwd", "md5:abcd", std::string("sha256:") + std::string(64, 'G'),
                          "sha256:" + std::string(63, 'a') + "/"}) {
    EXPECT_FALSE(cs.path(bad)) << bad;
    EXPECT_FALSE(cs.exists(bad)) << bad;
    EXPECT_FALSE(cs.remove(bad)) << bad;
    EXPECT_FALSE(cs.read(bad)) << bad;
  }
}

TEST(ContentStore, AbandonedIngestLeavesNothing) {
  TempDir dir;
  content::Store cs(dir / "content");
  ASSERT_TRUE(cs.init());
  {
    auto w = cs.ingest();
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->write("partial"));
    EXPECT_EQ(countEntries(dir / "content/ingest"), 1);
  }
  EXPECT_EQ(countEntries(dir / "content/ingest"), 0);
  // Leftovers from a crash are removed by init().
  ASSERT_TRUE(writeFileAtomic(dir / "content/ingest/stale", "x"));
  ASSERT_TRUE(cs.init());
  EXPECT_EQ(countEntries(dir / "content/ingest"), 0);
}
