#include "api/volumes_router.h"

#include "api/request_decode.h"
#include "common/number.h"
#include "common/util.h"

namespace berth::api {

Result<bool> pruneAll(const Request& req, const Filters& filters) {
  bool all = false;
  if (auto it = filters.find("all"); it != filters.end()) {
    for (auto& v : it->second) {
      if (v != "true" && v != "false" && v != "1" && v != "0")
        return errorf(Code::InvalidArgument, "invalid filter 'all={}'", v);
      all |= v == "true" || v == "1";
    }
  }
  bool given = filters.count("all") != 0;
  if (!given && req.versionBelow(142)) all = true;
  return all;
}

void registerVolumeRoutes(Router& r, volume::Service& svc, EmitFn emit) {
  r.add("GET", "/volumes", [&svc](Request& req, ResponseWriter& res) {
    auto f = parseFilters(req.q("filters"));
    if (!f) return res.error(f.error());
    auto l = svc.list(*f);
    if (!l) return res.error(l.error());
    json vols = json::array();
    for (auto& v : *l) vols.push_back(v.toJson());
    res.json(200, {{"Volumes", vols}, {"Warnings", nullptr}});
  });

  r.add("POST", "/volumes/create", [&svc, emit](Request& req, ResponseWriter& res) {
    auto body = req.decodeBody(decodeVolumeCreateBody);
    if (!body) return res.error(body.error());
    volume::CreateOptions o{body->name, body->driver, body->labels, body->driverOpts};
    bool existed = !o.name.empty() && svc.get(o.name).has_value();
    auto v = svc.create(o);
    if (!v) return res.error(v.error());
    if (!existed) emit("volume", "create", v->name, {{"driver", v->driver}});
    res.json(201, v->toJson());
  });

  r.add("POST", "/volumes/prune", [&svc, emit](Request& req, ResponseWriter& res) {
    auto f = parseFilters(req.q("filters"));
    if (!f) return res.error(f.error());
    auto all = pruneAll(req, *f);
    if (!all) return res.error(all.error());
    Filters rest = *f;
    rest.erase("all");
    auto rep = svc.prune(*all, rest);
    if (!rep) return res.error(rep.error());
    for (auto& n : rep->deleted) emit("volume", "destroy", n, {{"driver", "local"}});
    res.json(200, {{"VolumesDeleted", rep->deleted.empty() ? json(nullptr) : json(rep->deleted)},
                   {"SpaceReclaimed", rep->reclaimed}});
  });

  r.add("GET", "/volumes/([^/]+)", [&svc](Request& req, ResponseWriter& res) {
    auto v = svc.get(req.params[0]);
    if (!v) return res.error(v.error());
    res.json(200, v->toJson());
  });

  r.add("DELETE", "/volumes/([^/]+)", [&svc, emit](Request& req, ResponseWriter& res) {
    bool existed = svc.get(req.params[0]).has_value();
    auto r = svc.remove(req.params[0], req.qBool("force"));
    if (!r) return res.error(r.error());
    if (existed) emit("volume", "destroy", req.params[0], {{"driver", "local"}});
    res.empty(204);
  });
}

}  // namespace berth::api
