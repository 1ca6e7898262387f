#pragma once
// `berth system check` and berthd's start-up reconciliation
// (docs/crash-safety.md): the stores berthd owns checked against each other.
//   database   PRAGMA quick_check of berth.db
//   blob       content/blobs/sha256/<hex> that no image, layer or digest row
//              names (repair: removed); one a row names that is missing
//   ingest     content/ingest/ leftovers, partial writes (repair: removed)
//   snapshot   snapshots/<hex> without a layer row, .tmp-* unpack dirs
//              (repair: removed); a layer row whose snapshot is missing
//   volume     volumes/<name>/ without a row (repair: removed); a row whose
//              _data is missing (repair: an empty _data made again)
//   and the container service's own check (container/service.h).
// Leftovers younger than CheckOptions::minAgeNanos are left alone.

#include <string>
#include <vector>

#include "api/check_router.h"
#include "container/service.h"
#include "store/database.h"

namespace berth::daemon {

std::vector<Problem> checkDatabase(store::Database& db);
// content/ under dataRoot against the images, layers and digests tables.
Result<std::vector<Problem>> checkContent(store::Database& db, const std::string& dataRoot, const CheckOptions& opts);
// snapshots/ under dataRoot against the layers table.
Result<std::vector<Problem>> checkSnapshots(store::Database& db, const std::string& dataRoot, const CheckOptions& opts);
// volumes/ under dataRoot against the volumes table.
Result<std::vector<Problem>> checkVolumes(store::Database& db, const std::string& dataRoot, const CheckOptions& opts);

// All of the above plus containers->check(). db, containers must outlive it.
class SystemChecker : public api::SystemCheckBackend {
 public:
  SystemChecker(store::Database& db, std::string dataRoot, container::Housekeeping& containers)
      : db_(db), dataRoot_(std::move(dataRoot)), containers_(containers) {}
  Result<std::vector<Problem>> check(const CheckOptions& opts) override;

 private:
  store::Database& db_;
  std::string dataRoot_;
  container::Housekeeping& containers_;
  std::mutex mu_;  // one check at a time
};

}  // namespace berth::daemon
