#include <gtest/gtest.h>

#include "common/sha256.h"
#include "common/util.h"
#include "fake_http.h"
#include "image/service.h"
#include "store/database.h"

using namespace berth;

// `image ls` over 500 images with one or two tags each: every image once,
// with all its tags. (Its speed is measured by bench/image-ls-bench.sh, not
// here.) Rows are inserted directly: the import path is not under test.
TEST(ImageListMany, List500Images) {
  fakehttp::TempDir dir;
  auto db = std::move(*store::Database::open(dir / "berth.db"));
  auto svc = image::makeImageService(*db, dir.path(), {});
  ASSERT_TRUE(db->transaction([&]() -> Result<> {
    for (int i = 0; i < 500; i++) {
      std::string cfg = fmt::format(R"({{"architecture":"amd64","os":"linux","created":"{}","config":{{"Labels":{{"n":"{}"}}}}}})",
                                    formatRfc3339Nano(nowNanos()), i);
      std::string id = sha256Digest(cfg);
      TRY(db->run("INSERT INTO images(id, config, labels, created, size, added) VALUES(?,?,?,?,?,?)", id, cfg,
                  fmt::format(R"({{"n":"{}"}})", i), int64_t(i) * 1000, int64_t(1000 + i), int64_t(0)));
      TRY(db->run("INSERT INTO tags(ref, image_id, created) VALUES(?,?,0)", fmt::format("img{}:latest", i), id));
      if (i % 2) TRY(db->run("INSERT INTO tags(ref, image_id, created) VALUES(?,?,0)", fmt::format("img{}:v2", i), id));
    }
    return {};
  }));
  auto list = svc->list(false, {});
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 500u);
  size_t tags = 0;
  for (auto& img : *list) tags += img.repoTags.size();
  EXPECT_EQ(tags, 750u);
}
