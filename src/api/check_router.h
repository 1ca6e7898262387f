#pragma once
// berth's consistency check, an extension of the Engine API (berth-only;
// docs/compat.md, docs/crash-safety.md):
//   POST /system/check?repair=0|1
//   200 {"Problems":[{"Kind","Object","Detail","Repaired"}...]}
// The router parses the query and encodes the answer; the stores are behind
// SystemCheckBackend (implemented in daemon/, which sees them all).

#include <vector>

#include "api/http.h"
#include "common/problem.h"

namespace berth::api {

// Checks the metadata database, the content store, snapshots, container
// directories, monitors and cgroups, and volumes. An error only when the
// check itself could not run (the database does not answer); inconsistencies
// are Problems. Called from several request threads at once.
class SystemCheckBackend {
 public:
  virtual ~SystemCheckBackend() = default;
  virtual Result<std::vector<Problem>> check(const CheckOptions& opts) = 0;
};

// What a request's check leaves alone as possibly in progress (blobs,
// directories younger than this); berthd's start-up reconciliation uses 0.
inline constexpr int64_t kCheckMinAgeNanos = 60LL * 1000000000;

// backend must outlive the router.
void registerCheckRoutes(Router& router, SystemCheckBackend& backend);

// The answer's JSON document.
nlohmann::json problemsJson(const std::vector<Problem>& problems);

}  // namespace berth::api
