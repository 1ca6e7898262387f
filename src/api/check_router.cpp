#include "api/check_router.h"

namespace berth::api {

nlohmann::json problemsJson(const std::vector<Problem>& problems) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& p : problems)
    list.push_back({{"Kind", p.kind}, {"Object", p.object}, {"Detail", p.detail}, {"Repaired", p.repaired}});
  return {{"Problems", list}};
}

void registerCheckRoutes(Router& router, SystemCheckBackend& backend) {
  router.add("POST", "/system/check", [&backend](Request& req, ResponseWriter& w) {
    std::string repair = req.q("repair", "0");
    if (repair != "0" && repair != "1" && repair != "true" && repair != "false")
      return w.error(Error{Code::InvalidArgument, 0, "invalid value for repair: " + repair + " (0 or 1)"});
    CheckOptions opts;
    opts.repair = repair == "1" || repair == "true";
    opts.minAgeNanos = kCheckMinAgeNanos;
    auto r = backend.check(opts);
    if (!r) return w.error(r.error());
    w.json(200, problemsJson(*r));
  });
}

}  // namespace berth::api
