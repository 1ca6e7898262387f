// Container lifecycle and listing: ps, stop, kill, rm, restart, rename,
// wait, logs, inspect (engine-api.md §4, §5, §6.2).

#include <unistd.h>

#include <ctime>
#include <optional>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/ports_format.h"
#include "cli/format/human.h"
#include "cli/format/template.h"
#include "cli/stdio.h"
#include "common/until.h"
#include "common/util.h"

namespace berth::cli {

namespace {

using json = nlohmann::json;
using Value = format::Value;

// Runs `fn` for every argument; prints errors; exit 1 when any failed.
template <class Fn>
int forEach(Context& ctx, const std::vector<std::string>& args, Fn fn) {
  int rc = 0;
  for (const auto& a : args) {
    auto r = fn(a);
    if (!r) {
      printError(ctx, r.error());
      rc = 1;
    } else {
      out(ctx, a + "\n");
    }
  }
  return rc;
}

int cmdStop(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  Query q;
  // API 1.41 has no `signal` on stop (docker drops it below 1.42).
  q.addIf(f.changed("timeout"), "t", std::to_string(f.getInt("timeout")));
  return forEach(ctx, args, [&](const std::string& c) {
    return ctx.client.callOk("POST", "/containers/" + c + "/stop" + q.str());
  });
}

int cmdRestart(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  Query q;
  q.addIf(f.changed("timeout"), "t", std::to_string(f.getInt("timeout")));
  return forEach(ctx, args, [&](const std::string& c) {
    return ctx.client.callOk("POST", "/containers/" + c + "/restart" + q.str());
  });
}

int cmdKill(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  Query q;
  q.addIf(!f.getString("signal").empty(), "signal", f.getString("signal"));
  return forEach(ctx, args, [&](const std::string& c) {
    return ctx.client.callOk("POST", "/containers/" + c + "/kill" + q.str());
  });
}

int cmdRm(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  Query q;
  q.addIf(f.getBool("force"), "force", "1");
  q.addIf(f.getBool("link"), "link", "1");
  q.addIf(f.getBool("volumes"), "v", "1");
  int rc = 0;
  for (const auto& c : args) {
    auto r = ctx.client.callOk("DELETE", "/containers/" + c + q.str());
    if (!r) {
      printError(ctx, r.error());
      // `rm -f` of a missing container prints the error but succeeds.
      if (!(f.getBool("force") && r.error().code == Code::NotFound)) rc = 1;
      continue;
    }
    out(ctx, c + "\n");
  }
  return rc;
}

int cmdRename(Context& ctx, const FlagSet&, const std::vector<std::string>& args) {
  std::string newName = trim(args[1]);
  if (newName.empty() || newName == "/") {
    err(ctx, "Error: new name cannot be blank\n");
    return kExitFailure;
  }
  auto r = ctx.client.callOk("POST", "/containers/" + args[0] + "/rename" + Query().add("name", newName).str());
  if (!r) {
    printError(ctx, r.error());
    err(ctx, fmt::format("Error: failed to rename container named {}\n", args[0]));
    return kExitFailure;
  }
  return 0;
}

int cmdWait(Context& ctx, const FlagSet&, const std::vector<std::string>& args) {
  int rc = 0;
  for (const auto& c : args) {
    auto r = ctx.client.callOk("POST", "/containers/" + c + "/wait");
    if (!r) {
      printError(ctx, r.error());
      rc = 1;
      continue;
    }
    auto j = json::parse(r->body, nullptr, false);
    out(ctx, std::to_string(j.is_object() ? j.value("StatusCode", 0) : 0) + "\n");
  }
  return rc;
}

int cmdLogs(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  auto info = ctx.client.callOk("GET", "/containers/" + args[0] + "/json");
  if (!info) return reportError(ctx, info.error());
  auto j = json::parse(info->body, nullptr, false);
  bool tty = j.is_object() && j.contains("Config") && j["Config"].value("Tty", false);
  std::string id = j.is_object() ? j.value("Id", args[0]) : args[0];
  int64_t now = nowNanos();
  Query q;  // url.Values.Encode order
  q.addIf(f.getBool("details"), "details", "1");
  q.addIf(f.getBool("follow"), "follow", "1");
  if (!f.getString("since").empty()) {
    auto ts = format::getTimestamp(f.getString("since"), now, format::localUtcOffset(now / 1000000000));
    if (!ts) return reportError(ctx, ts.error());
    q.add("since", *ts);
  }
  q.add("stderr", "1").add("stdout", "1").add("tail", f.getString("tail"));
  q.addIf(f.getBool("timestamps"), "timestamps", "1");
  if (!f.getString("until").empty()) {
    auto ts = format::getTimestamp(f.getString("until"), now, format::localUtcOffset(now / 1000000000));
    if (!ts) return reportError(ctx, ts.error());
    q.add("until", *ts);
  }
  auto conn = openGetStream(ctx, "/containers/" + id + "/logs" + q.str(), "logs");
  if (!conn) return kExitFailure;
  auto c = copyLogStream(*conn, tty, ctx.out, ctx.err);
  if (!c) return reportError(ctx, c.error());
  return 0;
}

// ------------------------------------------------------------ ps

std::string goTimeString(int64_t secs) {
  time_t t = time_t(secs);
  tm lt;
  localtime_r(&t, &lt);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %z %Z", &lt);
  return buf;
}

std::string joinStrings(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

Value psItem(const json& c, bool noTrunc, int64_t now) {
  Value v = Value::object();
  std::string id = c.value("Id", "");
  std::string command = c.value("Command", "");
  v["Command"] = format::psCommand(command, noTrunc);
  int64_t created = c.value("Created", int64_t(0));
  v["CreatedAt"] = goTimeString(created);
  v["ID"] = noTrunc ? id : format::truncateId(id);
  std::string image = c.value("Image", "");
  if (!noTrunc && startsWith(image, "sha256:")) image = format::truncateId(image);
  v["Image"] = image;
  std::vector<std::string> labels;
  if (c.contains("Labels") && c["Labels"].is_object())
    for (auto& [k, val] : c["Labels"].items()) labels.push_back(k + "=" + (val.is_string() ? val.get<std::string>() : ""));
  v["Labels"] = joinStrings(labels, ",");
  int localVolumes = 0;
  std::vector<std::string> mounts;
  if (c.contains("Mounts") && c["Mounts"].is_array())
    for (auto& m : c["Mounts"]) {
      if (m.value("Type", "") == "volume") ++localVolumes;
      std::string name = m.value("Name", "");
      if (name.empty()) name = m.value("Source", "");
      if (!noTrunc && name.size() > 15 && m.value("Type", "") == "volume") name = name.substr(0, 15) + "…";
      mounts.push_back(name);
    }
  v["LocalVolumes"] = std::to_string(localVolumes);
  v["Mounts"] = joinStrings(mounts, ",");
  std::vector<std::string> names;
  if (c.contains("Names") && c["Names"].is_array())
    for (auto& n : c["Names"]) {
      std::string s = n.is_string() ? n.get<std::string>() : "";
      if (!s.empty() && s[0] == '/') s = s.substr(1);
      if (!noTrunc && s.find('/') != std::string::npos) continue;  // link names
      names.push_back(s);
    }
  v["Names"] = joinStrings(names, ",");
  std::vector<std::string> nets;
  if (c.contains("NetworkSettings") && c["NetworkSettings"].is_object() &&
      c["NetworkSettings"].contains("Networks") && c["NetworkSettings"]["Networks"].is_object())
    for (auto& [k, _] : c["NetworkSettings"]["Networks"].items()) nets.push_back(k);  // sorted (docker: map order)
  v["Networks"] = joinStrings(nets, ",");
  v["Platform"] = nullptr;
  v["Ports"] = displayablePorts(c.value("Ports", json::array()));
  v["RunningFor"] = format::timeAgo(created, now);
  int64_t srw = c.value("SizeRw", int64_t(0)), srf = c.value("SizeRootFs", int64_t(0));
  std::string size = format::humanSize(srw);
  if (srf > 0) size += " (virtual " + format::humanSize(srf) + ")";
  v["Size"] = size;
  v["State"] = c.value("State", "");
  v["Status"] = c.value("Status", "");
  return v;
}

format::ExecOptions labelMethods() {
  format::ExecOptions o;
  o.methods["Label"] = [](const Value& recv, const std::vector<Value>& args) -> Result<Value> {
    if (args.empty() || !args[0].is_string()) return makeError(Code::InvalidArgument, "Label needs a name");
    // docker's Label(name): looks the key up in the "k=v,k2=v2" Labels string.
    auto key = args[0].get<std::string>();
    std::string labels = recv.contains("Labels") && recv["Labels"].is_string() ? recv["Labels"].get<std::string>() : "";
    for (const std::string& kv : split(labels, ',')) {
      auto eq = kv.find('=');
      if (kv.substr(0, eq) == key) return Value(eq == std::string::npos ? "" : kv.substr(eq + 1));
    }
    return Value("");
  };
  return o;
}

int cmdPs(Context& ctx, const FlagSet& f, const std::vector<std::string>&) {
  bool noTrunc = f.getBool("no-trunc");
  int64_t last = f.getInt("last");
  if (f.getBool("latest")) last = 1;
  std::string fmtStr = f.getString("format");
  bool size = f.getBool("size") || fmtStr.find(".Size") != std::string::npos;
  Query q;
  q.addIf(f.getBool("all") || last > 0, "all", "1");
  if (!f.getList("filter").empty()) {
    auto fj = filtersJson(f.getList("filter"));
    if (!fj) {
      err(ctx, fj.error().message + "\n");
      return kExitRunFailure;
    }
    q.add("filters", *fj);
  }
  q.addIf(last > 0, "limit", std::to_string(last));
  q.addIf(size, "size", "1");
  auto r = ctx.client.callOk("GET", "/containers/json" + q.str());
  if (!r) return reportError(ctx, r.error());
  auto list = json::parse(r->body, nullptr, false);
  std::vector<Value> items;
  if (list.is_array())
    for (auto& c : list) items.push_back(psItem(c, noTrunc, ctx.nowSeconds));
  if (f.getBool("quiet")) {
    fmtStr = "{{.ID}}";
  } else if (fmtStr.empty() || fmtStr == "table") {
    fmtStr = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
    if (f.getBool("size")) fmtStr += "\t{{.Size}}";
  }
  auto text = format::formatList(fmtStr, items, format::containerHeaders(), labelMethods());
  if (!text) return reportError(ctx, text.error());
  out(ctx, *text);
  return 0;
}

// ------------------------------------------------------------ inspect

int cmdContainerInspect(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  std::vector<std::string> paths;
  for (const auto& a : args) paths.push_back("/containers/" + a + "/json" + (f.getBool("size") ? "?size=1" : ""));
  return inspectPaths(ctx, paths, f.getString("format"));
}

// `berth inspect`: container, then image, probing on 404 (engine-api §5.3).
int cmdInspect(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  std::string type = f.getString("type");
  if (!type.empty() && type != "container" && type != "image") {
    err(ctx, fmt::format("\"{}\" is not a valid value for --type\n", type));
    return kExitFailure;
  }
  std::vector<std::string> raws;
  std::vector<std::string> errors;
  for (const auto& a : args) {
    bool found = false;
    std::string fatal;
    if (type.empty() || type == "container") {
      auto r = ctx.client.callOk("GET", "/containers/" + a + "/json" + (f.getBool("size") ? "?size=1" : ""));
      if (r) {
        raws.push_back(r->body);
        found = true;
      } else if (r.error().code != Code::NotFound) {
        fatal = r.error().message;
      }
    }
    if (!found && fatal.empty() && (type.empty() || type == "image")) {
      auto r = ctx.client.callOk("GET", "/images/" + a + "/json");
      if (r) {
        raws.push_back(r->body);
        found = true;
      } else if (r.error().code != Code::NotFound) {
        fatal = r.error().message;
      }
    }
    if (!found)
      errors.push_back(!fatal.empty() ? fatal
                       : type.empty() ? "Error: No such object: " + a
                                      : fmt::format("Error: No such {}: {}", type, a));
  }
  int rc = printInspect(ctx, raws, f.getString("format"));
  for (auto& e : errors) err(ctx, e + "\n");
  return errors.empty() ? rc : 1;
}

int cmdContainerPrune(Context& ctx, const FlagSet& f, const std::vector<std::string>&) {
  Query q;
  if (!f.getList("filter").empty()) {
    auto fj = filtersJson(f.getList("filter"));
    if (!fj) {
      err(ctx, fj.error().message + "\n");
      return kExitRunFailure;
    }
    q.add("filters", *fj);
  }
  if (!f.getBool("force") && !confirm(ctx, "WARNING! This will remove all stopped containers.")) return 0;
  auto r = ctx.client.callOk("POST", "/containers/prune" + q.str());
  if (!r) return reportError(ctx, r.error());
  auto j = json::parse(r->body, nullptr, false);
  if (!j.is_object()) j = json::object();
  std::string text;
  if (j.contains("ContainersDeleted") && j["ContainersDeleted"].is_array() && !j["ContainersDeleted"].empty()) {
    text += "Deleted Containers:\n";
    for (auto& id : j["ContainersDeleted"])
      if (id.is_string()) text += id.get<std::string>() + "\n";
    text += "\n";
  }
  text += "Total reclaimed space: " + format::humanSize(j.value("SpaceReclaimed", int64_t(0))) + "\n";
  out(ctx, text);
  return 0;
}

// docker port: the published ports from NetworkSettings.Ports.
int cmdPort(Context& ctx, const FlagSet&, const std::vector<std::string>& args) {
  auto r = ctx.client.callOk("GET", "/containers/" + urlEncode(args[0]) + "/json");
  if (!r) return reportError(ctx, r.error());
  auto j = json::parse(r->body, nullptr, false);
  json ports = j.is_object() && j.contains("NetworkSettings") && j["NetworkSettings"].is_object()
                   ? j["NetworkSettings"].value("Ports", json::object())
                   : json::object();
  if (!ports.is_object()) ports = json::object();
  auto lines = portLines(ports, args[0], args.size() > 1 ? args[1] : "");
  if (!lines) {
    err(ctx, lines.error().message + "\n");
    return kExitFailure;
  }
  std::string text;
  for (const std::string& l : *lines) text += l + "\n";
  out(ctx, text);
  return 0;
}

// docker events: --since/--until as docker's GetTimestamp sends them
// ("seconds.nanos"), filters, --format; streams until --until or ^C.
Result<std::string> eventTime(const std::string& v) {
  TRY_ASSIGN(int64_t ns, parseUntil(v, nowNanos()));
  return fmt::format("{}.{:09d}", ns / 1000000000, ns % 1000000000);
}

int cmdEvents(Context& ctx, const FlagSet& f, const std::vector<std::string>&) {
  Query q;
  for (const char* k : {"since", "until"}) {
    if (f.getString(k).empty()) continue;
    auto t = eventTime(f.getString(k));
    if (!t) return reportError(ctx, t.error());
    q.add(k, *t);
  }
  if (!f.getList("filter").empty()) {
    auto fj = filtersJson(f.getList("filter"));
    if (!fj) return reportError(ctx, fj.error());
    q.add("filters", *fj);
  }
  std::optional<format::Template> tmpl;
  if (std::string fs = f.getString("format"); !fs.empty()) {
    auto t = format::Template::parse(format::prepareFormat(fs));
    if (!t) {
      err(ctx, "template parsing error: " + t.error().message + "\n");
      return kExitFailure;
    }
    tmpl = std::move(*t);
  }
  auto conn = openGetStream(ctx, "/events" + q.str(), "/events");
  if (!conn) return kExitFailure;
  for (;;) {
    auto line = conn->readBodyLine();
    if (!line) return reportError(ctx, line.error());
    if (!*line) return 0;
    auto ev = json::parse(**line, nullptr, false);
    if (!ev.is_object()) continue;
    if (tmpl) {
      auto text = tmpl->execute(ev);
      if (!text) {
        err(ctx, "template parsing error: " + text.error().message + "\n");
        return kExitFailure;
      }
      out(ctx, *text + "\n");
      continue;
    }
    // docker's default line: TIME TYPE ACTION ID (k=v, ...), attributes sorted
    json actor = ev.value("Actor", json::object());
    std::string attrs;
    if (actor.contains("Attributes") && actor["Attributes"].is_object())
      for (auto& [k, v] : actor["Attributes"].items())
        attrs += (attrs.empty() ? "" : ", ") + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
    std::string line2 = formatRfc3339Nano(ev.value("timeNano", int64_t(0))) + " " + ev.value("Type", "") + " " +
                        ev.value("Action", "") + " " + actor.value("ID", "");
    if (!attrs.empty()) line2 += " (" + attrs + ")";
    out(ctx, line2 + "\n");
  }
}

// ------------------------------------------------------------ flags

void flagsStop(FlagSet& f) {
  f.addString("signal", 's', "Signal to send to the container");
  f.addInt("timeout", 't', "Seconds to wait before killing the container");
  f.addInt("time", 0, "Seconds to wait before killing the container (deprecated: use --timeout)");
  f.hide("time");
}
void flagsEvents(FlagSet& f) {
  f.addList("filter", 'f', "Filter output based on conditions provided", "filter");
  f.addString("format", 0, formatFlagHelp(false));
  f.addString("since", 0, "Show all events created since timestamp");
  f.addString("until", 0, "Stream events until this timestamp");
}
void flagsContainerPrune(FlagSet& f) {
  f.addList("filter", 0, "Provide filter values (e.g. \"until=<timestamp>\")", "filter");
  f.addBool("force", 'f', "Do not prompt for confirmation");
}
void flagsKill(FlagSet& f) { f.addString("signal", 's', "Signal to send to the container"); }
void flagsRm(FlagSet& f) {
  f.addBool("force", 'f', "Force the removal of a running container (uses SIGKILL)");
  f.addBool("link", 'l', "Remove the specified link");
  f.addBool("volumes", 'v', "Remove anonymous volumes associated with the container");
}
void flagsLogs(FlagSet& f) {
  f.addBool("details", 0, "Show extra details provided to logs");
  f.addBool("follow", 'f', "Follow log output");
  f.addString("since", 0,
              "Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)");
  f.addString("tail", 'n', "Number of lines to show from the end of the logs", "all");
  f.addBool("timestamps", 't', "Show timestamps");
  f.addString("until", 0,
              "Show logs before a timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)");
}
void flagsPs(FlagSet& f) {
  f.addBool("all", 'a', "Show all containers (default shows just running)");
  f.addList("filter", 'f', "Filter output based on conditions provided", "filter");
  f.addString("format", 0, formatFlagHelp(true));
  f.addInt("last", 'n', "Show n last created containers (includes all states)", -1);
  f.addBool("latest", 'l', "Show the latest created container (includes all states)");
  f.addBool("no-trunc", 0, "Don't truncate output");
  f.addBool("quiet", 'q', "Only display container IDs");
  f.addBool("size", 's', "Display total file sizes");
}
void flagsContainerInspect(FlagSet& f) {
  f.addString("format", 'f', formatFlagHelp(false));
  f.addBool("size", 's', "Display total file sizes");
}
void flagsInspect(FlagSet& f) {
  f.addString("format", 'f', formatFlagHelp(false));
  f.addBool("size", 's', "Display total file sizes if the type is container");
  f.addString("type", 0, "Only inspect objects of the given type");
}

}  // namespace

std::vector<Command> containerCommands() {
  std::vector<Command> v = runCommands();
  for (auto& c : cpCommands()) v.push_back(std::move(c));
  v.push_back({"container", {"ls", "list", "ps"}, {"ps"}, "[OPTIONS]", "List containers", ArgRule::None, 0, 0,
               true, flagsPs, cmdPs});
  v.push_back({"container", {"stop"}, {"stop"}, "[OPTIONS] CONTAINER [CONTAINER...]",
               "Stop one or more running containers", ArgRule::Min, 1, 0, true, flagsStop, cmdStop});
  v.push_back({"container", {"restart"}, {"restart"}, "[OPTIONS] CONTAINER [CONTAINER...]",
               "Restart one or more containers", ArgRule::Min, 1, 0, true, flagsStop, cmdRestart});
  v.push_back({"container", {"kill"}, {"kill"}, "[OPTIONS] CONTAINER [CONTAINER...]",
               "Kill one or more running containers", ArgRule::Min, 1, 0, true, flagsKill, cmdKill});
  v.push_back({"container", {"rm", "remove"}, {"rm"}, "[OPTIONS] CONTAINER [CONTAINER...]",
               "Remove one or more containers", ArgRule::Min, 1, 0, true, flagsRm, cmdRm});
  v.push_back({"container", {"rename"}, {"rename"}, "CONTAINER NEW_NAME", "Rename a container", ArgRule::Exact, 2,
               0, true, nullptr, cmdRename});
  v.push_back({"container", {"wait"}, {"wait"}, "CONTAINER [CONTAINER...]",
               "Block until one or more containers stop, then print their exit codes", ArgRule::Min, 1, 0, true,
               nullptr, cmdWait});
  v.push_back({"system", {"events"}, {"events"}, "[OPTIONS]", "Get real time events from the server", ArgRule::None,
               0, 0, true, flagsEvents, cmdEvents});
  v.push_back({"container", {"prune"}, {}, "[OPTIONS]", "Remove all stopped containers", ArgRule::None, 0, 0, true,
               flagsContainerPrune, cmdContainerPrune});
  v.push_back({"container", {"port"}, {"port"}, "CONTAINER [PRIVATE_PORT[/PROTO]]",
               "List port mappings or a specific mapping for the container", ArgRule::Range, 1, 2, true, nullptr,
               cmdPort});
  v.push_back({"container", {"logs"}, {"logs"}, "[OPTIONS] CONTAINER", "Fetch the logs of a container",
               ArgRule::Exact, 1, 0, true, flagsLogs, cmdLogs});
  v.push_back({"container", {"inspect"}, {}, "[OPTIONS] CONTAINER [CONTAINER...]",
               "Display detailed information on one or more containers", ArgRule::Min, 1, 0, true,
               flagsContainerInspect, cmdContainerInspect});
  v.push_back({"", {"inspect"}, {}, "[OPTIONS] NAME|ID [NAME|ID...]",
               "Return low-level information on berth objects", ArgRule::Min, 1, 0, true, flagsInspect,
               cmdInspect});
  return v;
}

}  // namespace berth::cli
