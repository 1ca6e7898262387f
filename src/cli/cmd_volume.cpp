// volume create / ls / inspect / rm / prune (engine-api: /volumes).

#include <unistd.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/format/human.h"
#include "cli/format/template.h"
#include "common/util.h"

namespace berth::cli {

namespace {

using json = nlohmann::json;
using format::Value;

// "k=v" list flags -> object; a bare "k" maps to "".
json keyValues(const std::vector<std::string>& items) {
  json m = json::object();
  for (auto& s : items) {
    auto eq = s.find('=');
    m[s.substr(0, eq)] = eq == std::string::npos ? "" : s.substr(eq + 1);
  }
  return m;
}

int cmdVolumeCreate(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  std::string name = f.getString("name");
  if (!args.empty()) {
    if (!name.empty() && name != args[0]) {
      err(ctx, "conflicting options: cannot specify a volume-name through both --name and as a positional arg\n");
      return kExitFailure;
    }
    name = args[0];
  }
  json body = {{"Name", name},
               {"Driver", f.getString("driver")},
               {"DriverOpts", keyValues(f.getList("opt"))},
               {"Labels", keyValues(f.getList("label"))}};
  auto r = ctx.client.callOk("POST", "/volumes/create", body.dump(), "application/json");
  if (!r) return reportError(ctx, r.error());
  auto j = json::parse(r->body, nullptr, false);
  out(ctx, (j.is_object() ? j.value("Name", "") : std::string()) + "\n");
  return 0;
}

Value volumeItem(const json& v) {
  Value i = Value::object();
  i["Name"] = v.value("Name", "");
  i["Driver"] = v.value("Driver", "");
  i["Scope"] = v.value("Scope", "local");
  i["Mountpoint"] = v.value("Mountpoint", "");
  std::vector<std::string> labels;
  if (v.contains("Labels") && v["Labels"].is_object())
    for (auto& [k, val] : v["Labels"].items()) labels.push_back(k + "=" + (val.is_string() ? val.get<std::string>() : ""));
  std::sort(labels.begin(), labels.end());
  std::string joined;
  for (auto& l : labels) joined += (joined.empty() ? "" : ",") + l;
  i["Labels"] = joined;
  i["CreatedAt"] = v.value("CreatedAt", "");
  int64_t size = -1, links = -1;
  if (v.contains("UsageData") && v["UsageData"].is_object()) {
    size = v["UsageData"].value("Size", int64_t(-1));
    links = v["UsageData"].value("RefCount", int64_t(-1));
  }
  i["Size"] = size < 0 ? std::string("N/A") : format::humanSize(size);
  i["Links"] = links < 0 ? std::string("N/A") : std::to_string(links);
  i["Availability"] = "N/A";
  i["Group"] = "N/A";
  i["Status"] = "N/A";
  return i;
}

int cmdVolumeLs(Context& ctx, const FlagSet& f, const std::vector<std::string>&) {
  auto q = filtersQuery(f.getList("filter"));
  if (!q) {
    err(ctx, q.error().message + "\n");
    return kExitRunFailure;
  }
  auto r = ctx.client.callOk("GET", "/volumes" + *q);
  if (!r) return reportError(ctx, r.error());
  auto j = json::parse(r->body, nullptr, false);
  std::vector<json> vols;
  if (j.is_object() && j.contains("Volumes") && j["Volumes"].is_array())
    for (auto& v : j["Volumes"]) vols.push_back(v);
  std::sort(vols.begin(), vols.end(), [](const json& a, const json& b) { return a.value("Name", "") < b.value("Name", ""); });
  std::vector<Value> items;
  for (auto& v : vols) items.push_back(volumeItem(v));
  std::string fmtStr = f.getString("format");
  if (f.getBool("quiet")) fmtStr = "{{.Name}}";
  else if (fmtStr.empty() || fmtStr == "table") fmtStr = "table {{.Driver}}\t{{.Name}}";
  auto text = format::formatList(fmtStr, items, format::volumeHeaders());
  if (!text) return reportError(ctx, text.error());
  out(ctx, *text);
  return 0;
}

int cmdVolumeInspect(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  std::vector<std::string> paths;
  for (const auto& a : args) paths.push_back("/volumes/" + urlEncode(a));
  return inspectPaths(ctx, paths, f.getString("format"));
}

int cmdVolumeRm(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  int rc = 0;
  for (const auto& a : args) {
    auto r = ctx.client.callOk("DELETE", "/volumes/" + urlEncode(a) + Query().addIf(f.getBool("force"), "force", "1").str());
    if (!r) {
      printError(ctx, r.error());
      rc = 1;
      continue;
    }
    out(ctx, a + "\n");
  }
  return rc;
}

int cmdVolumePrune(Context& ctx, const FlagSet& f, const std::vector<std::string>&) {
  std::vector<std::string> filters = f.getList("filter");
  bool all = f.getBool("all");
  if (all) {
    for (auto& fl : filters)
      if (startsWith(toLower(fl), "all=")) {
        err(ctx, "conflicting options: cannot specify both --all and --filter all=1\n");
        return kExitRunFailure;
      }
  }
  // berth speaks API 1.41, where the daemon prunes named volumes unless
  // told otherwise: say which set is meant (api/volumes_router.h).
  filters.push_back(all ? "all=true" : "all=false");
  if (!f.getBool("force")) {
    std::string warning = all ? "WARNING! This will remove all local volumes not used by at least one container."
                              : "WARNING! This will remove anonymous local volumes not used by at least one container.";
    if (!confirm(ctx, warning)) {
      err(ctx, "Total reclaimed space: 0B\n");
      return 0;
    }
  }
  auto q = filtersQuery(filters);
  if (!q) {
    err(ctx, q.error().message + "\n");
    return kExitRunFailure;
  }
  auto r = ctx.client.callOk("POST", "/volumes/prune" + *q);
  if (!r) return reportError(ctx, r.error());
  auto j = json::parse(r->body, nullptr, false);
  std::string s;
  if (j.is_object() && j.contains("VolumesDeleted") && j["VolumesDeleted"].is_array() && !j["VolumesDeleted"].empty()) {
    s += "Deleted Volumes:\n";
    for (auto& n : j["VolumesDeleted"]) s += n.get<std::string>() + "\n";
    s += "\n";
  }
  int64_t reclaimed = j.is_object() ? j.value("SpaceReclaimed", int64_t(0)) : 0;
  s += "Total reclaimed space: " + format::humanSize(reclaimed) + "\n";
  out(ctx, s);
  return 0;
}

void flagsVolumeCreate(FlagSet& f) {
  f.addString("driver", 'd', "Specify volume driver name", "local");
  f.addList("label", 0, "Set metadata for a volume");
  f.addString("name", 0, "Specify volume name");
  f.hide("name");
  f.addList("opt", 'o', "Set driver specific options", "map");
  f.setDefaultText("opt", "map[]");
}
void flagsVolumeLs(FlagSet& f) {
  f.addList("filter", 'f', "Provide filter values (e.g. \"dangling=true\")", "filter");
  f.addString("format", 0, formatFlagHelp(true));
  f.addBool("quiet", 'q', "Only display volume names");
}
void flagsVolumeInspect(FlagSet& f) { f.addString("format", 'f', formatFlagHelp(false)); }
void flagsVolumeRm(FlagSet& f) { f.addBool("force", 'f', "Force the removal of one or more volumes"); }
void flagsVolumePrune(FlagSet& f) {
  f.addBool("all", 'a', "Remove all unused volumes, not just anonymous ones");
  f.addList("filter", 0, "Provide filter values (e.g. \"label=<label>\")", "filter");
  f.addBool("force", 'f', "Do not prompt for confirmation");
}

}  // namespace

std::vector<Command> volumeCommands() {
  std::vector<Command> v;
  v.push_back({"volume", {"create"}, {}, "[OPTIONS] [VOLUME]", "Create a volume", ArgRule::Range, 0, 1, true,
               flagsVolumeCreate, cmdVolumeCreate});
  v.push_back({"volume", {"ls", "list"}, {}, "[OPTIONS]", "List volumes", ArgRule::None, 0, 0, true, flagsVolumeLs,
               cmdVolumeLs});
  v.push_back({"volume", {"inspect"}, {}, "[OPTIONS] VOLUME [VOLUME...]",
               "Display detailed information on one or more volumes", ArgRule::Min, 1, 0, true, flagsVolumeInspect,
               cmdVolumeInspect});
  v.push_back({"volume", {"rm", "remove"}, {}, "[OPTIONS] VOLUME [VOLUME...]", "Remove one or more volumes",
               ArgRule::Min, 1, 0, true, flagsVolumeRm, cmdVolumeRm});
  v.push_back({"volume", {"prune"}, {}, "[OPTIONS]", "Remove unused local volumes", ArgRule::None, 0, 0, true,
               flagsVolumePrune, cmdVolumePrune});
  return v;
}

}  // namespace berth::cli
