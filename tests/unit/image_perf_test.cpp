#include <gtest/gtest.h>

#include <chrono>

#include "common/sha256.h"
#include "common/util.h"
#include "fake_http.h"
#include "image/service.h"
#include "store/database.h"

using namespace berth;

// `image ls` with 500 images stays well under 50 ms (no N+1 queries, no
// blob reads). Rows are inserted directly: the import path is not measured.
TEST(ImagePerf, List500Images) {
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
  ASSERT_TRUE(svc->list(false, {}));  // warm up
  auto start = std::chrono::steady_clock::now();
  auto list = svc->list(false, {});
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(list);
  EXPECT_EQ(list->size(), 500u);
  EXPECT_LT(ms, 50.0);
  RecordProperty("list_ms", std::to_string(ms));
  std::printf("list of 500 images: %.2f ms\n", ms);
}
