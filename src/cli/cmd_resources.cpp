// stats, top, pause, unpause, update.

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <map>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/format/human.h"
#include "cli/format/table.h"
#include "cli/format/template.h"
#include "cli/stdio.h"
#include "common/number.h"
#include "common/util.h"

namespace berth::cli {

using json = nlohmann::json;
using Value = format::Value;

namespace {

// ------------------------------------------------------------ stats

struct StatsRow {
  std::string id, name;
  double cpu = 0, memPerc = 0;
  double mem = 0, memLimit = 0;
  double netRx = 0, netTx = 0, blkRead = 0, blkWrite = 0;
  uint64_t pids = 0;
  bool valid = false;
};

uint64_t u64(const json& j, std::initializer_list<const char*> path) {
  const json* cur = &j;
  for (const char* k : path) {
    if (!cur->is_object() || !cur->contains(k)) return 0;
    cur = &(*cur)[k];
  }
  return cur->is_number() ? cur->get<uint64_t>() : 0;
}

// The docker CLI's calculations (cli/command/container/stats_helpers.go).
StatsRow rowFrom(const json& s, const std::string& fallbackId) {
  StatsRow r;
  r.id = s.value("id", fallbackId);
  r.name = s.value("name", "");
  if (!r.name.empty() && r.name[0] == '/') r.name = r.name.substr(1);
  double cpuDelta = double(u64(s, {"cpu_stats", "cpu_usage", "total_usage"})) -
                    double(u64(s, {"precpu_stats", "cpu_usage", "total_usage"}));
  double sysDelta = double(u64(s, {"cpu_stats", "system_cpu_usage"})) -
                    double(u64(s, {"precpu_stats", "system_cpu_usage"}));
  double online = double(u64(s, {"cpu_stats", "online_cpus"}));
  if (online == 0 && s.contains("cpu_stats") && s["cpu_stats"].contains("cpu_usage") &&
      s["cpu_stats"]["cpu_usage"].contains("percpu_usage") && s["cpu_stats"]["cpu_usage"]["percpu_usage"].is_array())
    online = double(s["cpu_stats"]["cpu_usage"]["percpu_usage"].size());
  if (sysDelta > 0 && cpuDelta > 0) r.cpu = cpuDelta / sysDelta * online * 100.0;
  double usage = double(u64(s, {"memory_stats", "usage"}));
  // usage minus the inactive page cache: total_inactive_file (v1), inactive_file (v2)
  double inactive = double(u64(s, {"memory_stats", "stats", "total_inactive_file"}));
  if (inactive == 0) inactive = double(u64(s, {"memory_stats", "stats", "inactive_file"}));
  if (inactive < usage) usage -= inactive;
  r.mem = usage;
  r.memLimit = double(u64(s, {"memory_stats", "limit"}));
  if (r.memLimit != 0) r.memPerc = r.mem / r.memLimit * 100.0;
  if (s.contains("networks") && s["networks"].is_object())
    for (auto& [k, n] : s["networks"].items()) {
      r.netRx += double(n.value("rx_bytes", uint64_t(0)));
      r.netTx += double(n.value("tx_bytes", uint64_t(0)));
    }
  if (s.contains("blkio_stats") && s["blkio_stats"].contains("io_service_bytes_recursive") &&
      s["blkio_stats"]["io_service_bytes_recursive"].is_array())
    for (auto& e : s["blkio_stats"]["io_service_bytes_recursive"]) {
      std::string op = toLower(e.value("op", ""));
      if (op == "read") r.blkRead += double(e.value("value", uint64_t(0)));
      if (op == "write") r.blkWrite += double(e.value("value", uint64_t(0)));
    }
  r.pids = u64(s, {"pids_stats", "current"});
  r.valid = true;
  return r;
}

Value statsItem(const StatsRow& r, const std::string& container, bool noTrunc) {
  Value v = Value::object();
  v["Container"] = container;
  v["ID"] = noTrunc ? r.id : format::truncateId(r.id);
  v["Name"] = r.name.empty() ? std::string("--") : r.name;
  if (!r.valid) {
    for (const char* k : {"CPUPerc", "MemUsage", "MemPerc", "NetIO", "BlockIO", "PIDs"}) v[k] = std::string("--");
    return v;
  }
  v["CPUPerc"] = fmt::format("{:.2f}%", r.cpu);
  v["MemUsage"] = format::bytesSize(r.mem) + " / " + format::bytesSize(r.memLimit);
  v["MemPerc"] = fmt::format("{:.2f}%", r.memPerc);
  v["NetIO"] = format::humanSizeWithPrecision(r.netRx, 3) + " / " + format::humanSizeWithPrecision(r.netTx, 3);
  v["BlockIO"] = format::humanSizeWithPrecision(r.blkRead, 3) + " / " + format::humanSizeWithPrecision(r.blkWrite, 3);
  v["PIDs"] = std::to_string(r.pids);
  return v;
}

const char* kStatsTable = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

int cmdStats(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  std::vector<std::string> names = args;
  if (names.empty()) {
    auto r = ctx.client.callOk("GET", std::string("/containers/json") + (f.getBool("all") ? "?all=1" : ""));
    if (!r) return reportError(ctx, r.error());
    auto list = json::parse(r->body, nullptr, false);
    if (list.is_array())
      for (auto& c : list) names.push_back(c.value("Id", ""));
  }
  std::string fmtStr = f.getString("format");
  if (fmtStr.empty() || fmtStr == "table") fmtStr = kStatsTable;
  bool noTrunc = f.getBool("no-trunc");
  bool stream = !f.getBool("no-stream");
  std::vector<std::unique_ptr<Connection>> conns;
  std::vector<StatsRow> rows(names.size());
  int rc = 0;
  for (size_t i = 0; i < names.size(); i++) {
    auto conn = openGetStream(ctx, "/containers/" + urlEncode(names[i]) + "/stats?stream=" + (stream ? "1" : "0"),
                              "stats");
    if (!conn) {
      rc = 1;
      conns.push_back(nullptr);
      continue;
    }
    conns.push_back(std::move(conn));
  }
  if (rc != 0 && !stream) return rc;
  bool clear = stream && isTerminal(ctx.out);
  for (;;) {
    bool any = false;
    for (size_t i = 0; i < conns.size(); i++) {
      if (!conns[i]) continue;
      auto line = conns[i]->readBodyLine();
      if (!line || !*line) {
        conns[i].reset();
        rows[i].valid = false;
        continue;
      }
      auto j = json::parse(**line, nullptr, false);
      if (j.is_object()) {
        rows[i] = rowFrom(j, names[i]);
        any = true;
      }
    }
    std::vector<Value> items;
    for (size_t i = 0; i < names.size(); i++) {
      if (stream && !conns[i] && !rows[i].valid) continue;
      items.push_back(statsItem(rows[i], names[i], noTrunc));
    }
    auto text = format::formatList(fmtStr, items, format::statsHeaders());
    if (!text) return reportError(ctx, text.error());
    out(ctx, (clear ? "\033[2J\033[H" : "") + *text);
    if (!stream || !any) break;
  }
  return rc;
}

// ------------------------------------------------------------ top

int cmdTop(Context& ctx, const FlagSet&, const std::vector<std::string>& args) {
  std::string psArgs;
  for (size_t i = 1; i < args.size(); i++) psArgs += (i > 1 ? " " : "") + args[i];
  Query q;
  q.addIf(!psArgs.empty(), "ps_args", psArgs);
  auto r = ctx.client.callOk("GET", "/containers/" + urlEncode(args[0]) + "/top" + q.str());
  if (!r) return reportError(ctx, r.error());
  auto j = json::parse(r->body, nullptr, false);
  if (!j.is_object()) return kExitFailure;
  std::string text;
  std::string sep;
  for (auto& t : j.value("Titles", json::array())) {
    text += sep + t.get<std::string>();
    sep = "\t";
  }
  text += "\n";
  for (auto& p : j.value("Processes", json::array())) {
    sep.clear();
    for (auto& c : p) {
      text += sep + (c.is_string() ? c.get<std::string>() : c.dump());
      sep = "\t";
    }
    text += "\n";
  }
  out(ctx, format::tabwrite(text, {20, 3, ' '}));
  return 0;
}

// ------------------------------------------------------------ pause / unpause

int eachContainer(Context& ctx, const std::vector<std::string>& args, const char* action) {
  int rc = 0;
  for (const auto& a : args) {
    auto r = ctx.client.callOk("POST", "/containers/" + urlEncode(a) + "/" + action);
    if (!r) {
      printError(ctx, r.error());
      rc = 1;
      continue;
    }
    out(ctx, a + "\n");
  }
  return rc;
}

int cmdPause(Context& ctx, const FlagSet&, const std::vector<std::string>& args) { return eachContainer(ctx, args, "pause"); }
int cmdUnpause(Context& ctx, const FlagSet&, const std::vector<std::string>& args) {
  return eachContainer(ctx, args, "unpause");
}

// ------------------------------------------------------------ update

Result<int64_t> bytesFlag(const FlagSet& f, const std::string& name) {
  if (!f.changed(name)) return 0;
  std::string v = f.getString(name);
  if (v == "-1") return -1;
  auto r = format::ramInBytes(v);
  if (!r)
    return errorf(Code::InvalidArgument, "invalid argument \"{}\" for \"{}\" flag: {}", v,
                  name == "memory" ? "-m, --memory" : "--" + name, r.error().message);
  return *r;
}

int cmdUpdate(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  static const char* kFlags[] = {"blkio-weight", "cpu-period", "cpu-quota", "cpu-rt-period", "cpu-rt-runtime",
                                 "cpu-shares",   "cpus",       "cpuset-cpus", "cpuset-mems", "memory",
                                 "memory-reservation", "memory-swap", "pids-limit", "restart", "kernel-memory"};
  bool any = false;
  for (const char* k : kFlags) any |= f.changed(k);
  if (!any) {
    err(ctx, "you must provide one or more flags when using this command\n");
    return kExitFailure;
  }
  json b = json::object();
  auto bytes = [&](const char* flag, const char* key) -> bool {
    auto v = bytesFlag(f, flag);
    if (!v) {
      err(ctx, v.error().message + "\nSee '" + ctx.prog + " update --help'.\n");
      return false;
    }
    if (f.changed(flag)) b[key] = *v;
    return true;
  };
  if (!bytes("memory", "Memory") || !bytes("memory-reservation", "MemoryReservation") ||
      !bytes("memory-swap", "MemorySwap"))
    return kExitRunFailure;
  if (f.changed("blkio-weight")) {
    auto w = parseUint16Flag(f.getString("blkio-weight"), "blkio-weight");
    if (!w) {
      err(ctx, w.error().message + "\nSee '" + ctx.prog + " update --help'.\n");
      return kExitRunFailure;
    }
    b["BlkioWeight"] = *w;
  }
  if (f.changed("cpu-period")) b["CpuPeriod"] = f.getInt("cpu-period");
  if (f.changed("cpu-quota")) b["CpuQuota"] = f.getInt("cpu-quota");
  if (f.changed("cpu-shares")) b["CpuShares"] = f.getInt("cpu-shares");
  if (f.changed("cpuset-cpus")) b["CpusetCpus"] = f.getString("cpuset-cpus");
  if (f.changed("cpuset-mems")) b["CpusetMems"] = f.getString("cpuset-mems");
  if (f.changed("pids-limit")) b["PidsLimit"] = f.getInt("pids-limit");
  if (f.changed("cpus")) {
    auto cpus = parseCpusFlag(f.getString("cpus"));
    if (!cpus) {
      err(ctx, cpus.error().message + "\n");
      return kExitRunFailure;
    }
    b["NanoCpus"] = int64_t(std::llround(*cpus * 1e9));
  }
  if (f.changed("restart")) {
    std::string v = f.getString("restart");
    auto colon = v.find(':');
    b["RestartPolicy"] = {{"Name", v.substr(0, colon)},
                          {"MaximumRetryCount", colon == std::string::npos ? 0 : numberOr<int>(v.substr(colon + 1), 0)}};
  }
  int rc = 0;
  for (const auto& a : args) {
    auto r = ctx.client.callOk("POST", "/containers/" + urlEncode(a) + "/update", b.dump(), "application/json");
    if (!r) {
      printError(ctx, r.error());
      rc = 1;
      continue;
    }
    out(ctx, a + "\n");
  }
  return rc;
}

void flagsStats(FlagSet& f) {
  f.addBool("all", 'a', "Show all containers (default shows just running)");
  f.addString("format", 0, formatFlagHelp(true));
  f.addBool("no-stream", 0, "Disable streaming stats and only pull the first result");
  f.addBool("no-trunc", 0, "Do not truncate output");
}

void flagsUpdate(FlagSet& f) {
  f.addString("blkio-weight", 0, "Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)", "", "uint16");
  f.addInt("cpu-period", 0, "Limit CPU CFS (Completely Fair Scheduler) period", 0);
  f.addInt("cpu-quota", 0, "Limit CPU CFS (Completely Fair Scheduler) quota", 0);
  f.addInt("cpu-rt-period", 0, "Limit the CPU real-time period in microseconds", 0);
  f.addInt("cpu-rt-runtime", 0, "Limit the CPU real-time runtime in microseconds", 0);
  f.addInt("cpu-shares", 'c', "CPU shares (relative weight)", 0);
  f.addString("cpus", 0, "Number of CPUs", "", "decimal");
  f.addString("cpuset-cpus", 0, "CPUs in which to allow execution (0-3, 0,1)");
  f.addString("cpuset-mems", 0, "MEMs in which to allow execution (0-3, 0,1)");
  f.addString("kernel-memory", 0, "Kernel memory limit (deprecated)", "", "bytes");
  f.addString("memory", 'm', "Memory limit", "", "bytes");
  f.addString("memory-reservation", 0, "Memory soft limit", "", "bytes");
  f.addString("memory-swap", 0, "Swap limit equal to memory plus swap: -1 to enable unlimited swap", "", "bytes");
  f.addInt("pids-limit", 0, "Tune container pids limit (set -1 for unlimited)", 0);
  f.addString("restart", 0, "Restart policy to apply when a container exits");
}

}  // namespace

std::vector<Command> resourceCommands() {
  std::vector<Command> v;
  v.push_back({"container", {"stats"}, {"stats"}, "[OPTIONS] [CONTAINER...]",
               "Display a live stream of container(s) resource usage statistics", ArgRule::Any, 0, 0, true, flagsStats,
               cmdStats});
  v.push_back({"container", {"top"}, {"top"}, "CONTAINER [ps OPTIONS]", "Display the running processes of a container",
               ArgRule::Min, 1, 0, false, nullptr, cmdTop});
  v.push_back({"container", {"pause"}, {"pause"}, "CONTAINER [CONTAINER...]",
               "Pause all processes within one or more containers", ArgRule::Min, 1, 0, true, nullptr, cmdPause});
  v.push_back({"container", {"unpause"}, {"unpause"}, "CONTAINER [CONTAINER...]",
               "Unpause all processes within one or more containers", ArgRule::Min, 1, 0, true, nullptr, cmdUnpause});
  v.push_back({"container", {"update"}, {"update"}, "[OPTIONS] CONTAINER [CONTAINER...]",
               "Update configuration of one or more containers", ArgRule::Min, 1, 0, true, flagsUpdate, cmdUpdate});
  return v;
}

}  // namespace berth::cli
