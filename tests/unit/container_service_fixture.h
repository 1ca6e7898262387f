#pragma once
// A real container service for unit tests of one layer: SQLite, the image
// service with one one-file image ("one:file", entrypoint /pause), a
// monitor binary that does not exist (nothing is started). Tests derive
// from RealContainerService and use svc_.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "common/util.h"
#include "container/service.h"
#include "container/sqlite_store.h"
#include "fake_http.h"
#include "image/service.h"
#include "store/database.h"

namespace berth::fixtures {

class RealContainerService : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = store::Database::open(dir_ / "berth.db");
    ASSERT_TRUE(d) << d.error().message;
    db_ = std::move(*d);
    images_ = image::makeImageService(*db_, dir_.path(), [](const std::string&) {
      return std::vector<image::ImageUser>{};
    });
    fakehttp::StringBody body(fakehttp::TarBuilder().file("pause", "#!/bin/true\n", 0755).str());
    auto imported = images_->importImage(body, "one:file", {"ENTRYPOINT [\"/pause\"]"}, "");
    ASSERT_TRUE(imported) << imported.error().message;
    store_ = std::make_unique<container::SqliteContainerStore>(*db_);
    container::ServiceConfig cfg;
    cfg.dataRoot = dir_.path();
    cfg.execRoot = dir_ / "exec";
    cfg.monitorBin = "/nonexistent/berth-monitor";
    svc_ = container::makeService(cfg, *store_, *images_, [](auto&&...) {});
  }
  void TearDown() override {
    if (svc_) svc_->shutdown();
  }
  fakehttp::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<image::ImageService> images_;
  std::unique_ptr<container::SqliteContainerStore> store_;
  std::unique_ptr<container::Service> svc_;
};

}  // namespace berth::fixtures
