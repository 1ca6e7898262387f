// version and info (engine-api.md §2).

#include <sys/utsname.h>

#include <ctime>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/format/human.h"
#include "cli/format/template.h"
#include "common/util.h"

namespace berth::cli {

namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

constexpr const char* kClientVersion = "0.1.0";
constexpr const char* kClientApiVersion = "1.41";

std::string jstr(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) return "";
  const json& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

// Go's time.ANSIC ("Mon Jan _2 15:04:05 2006") of an RFC 3339 build time.
std::string ansicTime(const std::string& rfc3339) {
  auto ns = parseRfc3339(rfc3339);
  if (!ns) return rfc3339;
  time_t t = time_t(*ns / 1000000000);
  tm lt;
  localtime_r(&t, &lt);
  char buf[64];
  strftime(buf, sizeof buf, "%a %b %e %H:%M:%S %Y", &lt);
  return buf;
}

std::string osArch() {
  utsname u{};
  ::uname(&u);
  std::string m = u.machine;
  if (m == "x86_64") m = "amd64";
  if (m == "aarch64") m = "arm64";
  return "linux/" + m;
}

ojson clientInfo() {
  ojson c;
  c["Platform"] = {{"Name", ""}};
  c["Version"] = kClientVersion;
  c["ApiVersion"] = kClientApiVersion;
  c["DefaultAPIVersion"] = kClientApiVersion;
  c["GitCommit"] = "";
  c["GoVersion"] = "";
  std::string oa = osArch();
  c["Os"] = "linux";
  c["Arch"] = oa.substr(6);
  c["BuildTime"] = __DATE__ " " __TIME__;
  c["Context"] = "default";
  return c;
}

int cmdVersion(Context& ctx, const FlagSet& f, const std::vector<std::string>&) {
  auto r = ctx.client.callOk("GET", "/version");
  json server = r ? json::parse(r->body, nullptr, false) : json(nullptr);
  std::string fmtStr = f.getString("format");
  if (!fmtStr.empty()) {
    ojson dot;
    dot["Client"] = clientInfo();
    dot["Server"] = server.is_discarded() ? ojson(nullptr) : ojson::parse(server.dump());
    auto t = format::Template::parse(format::prepareFormat(fmtStr));
    if (!t) {
      err(ctx, "template parsing error: " + t.error().message + "\n");
      return kExitFailure;
    }
    auto s = t->execute(dot);
    if (!s) return reportError(ctx, s.error());
    out(ctx, *s + "\n");
    if (!r) return reportError(ctx, r.error());
    return 0;
  }
  std::string s;
  s += "Client:\n";
  s += fmt::format(" {:<19}{}\n", "Version:", kClientVersion);
  s += fmt::format(" {:<19}{}\n", "API version:", kClientApiVersion);
  s += fmt::format(" {:<19}{}\n", "Built:", __DATE__ " " __TIME__);
  s += fmt::format(" {:<19}{}\n", "OS/Arch:", osArch());
  s += fmt::format(" {:<19}{}\n", "Context:", "default");
  out(ctx, s);
  if (!r) {
    out(ctx, "\n");
    return reportError(ctx, r.error());
  }
  s = "\n";
  std::string platform = server.contains("Platform") ? jstr(server["Platform"], "Name") : "";
  s += "Server:" + (platform.empty() ? "" : " " + platform) + "\n";
  if (server.contains("Components") && server["Components"].is_array()) {
    for (auto& c : server["Components"]) {
      std::string name = jstr(c, "Name");
      s += " " + name + ":\n";
      const json& d = c.contains("Details") ? c["Details"] : json::object();
      if (name == "Engine") {
        s += fmt::format("  {:<18}{}\n", "Version:", jstr(c, "Version"));
        s += fmt::format("  {:<18}{} (minimum version {})\n", "API version:", jstr(d, "ApiVersion"),
                         jstr(d, "MinAPIVersion"));
        s += fmt::format("  {:<18}{}\n", "Go version:", jstr(d, "GoVersion"));
        s += fmt::format("  {:<18}{}\n", "Git commit:", jstr(d, "GitCommit"));
        s += fmt::format("  {:<18}{}\n", "Built:", ansicTime(jstr(d, "BuildTime")));
        s += fmt::format("  {:<18}{}/{}\n", "OS/Arch:", jstr(d, "Os"), jstr(d, "Arch"));
        s += fmt::format("  {:<18}{}\n", "Experimental:", jstr(d, "Experimental"));
      } else {
        s += fmt::format("  {:<18}{}\n", "Version:", jstr(c, "Version"));
        if (d.is_object())
          for (auto& [k, v] : d.items())
            s += fmt::format("  {:<18}{}\n", k + ":", v.is_string() ? v.get<std::string>() : v.dump());
      }
    }
  } else {
    s += " Engine:\n";
    s += fmt::format("  {:<18}{}\n", "Version:", jstr(server, "Version"));
    s += fmt::format("  {:<18}{} (minimum version {})\n", "API version:", jstr(server, "ApiVersion"),
                     jstr(server, "MinAPIVersion"));
    s += fmt::format("  {:<18}{}/{}\n", "OS/Arch:", jstr(server, "Os"), jstr(server, "Arch"));
  }
  out(ctx, s);
  return 0;
}

int cmdInfo(Context& ctx, const FlagSet& f, const std::vector<std::string>&) {
  auto r = ctx.client.callOk("GET", "/info");
  if (!r) return reportError(ctx, r.error());
  json i = json::parse(r->body, nullptr, false);
  if (!i.is_object()) i = json::object();
  std::string fmtStr = f.getString("format");
  if (!fmtStr.empty()) {
    auto t = format::Template::parse(format::prepareFormat(fmtStr));
    if (!t) {
      err(ctx, "template parsing error: " + t.error().message + "\n");
      return kExitFailure;
    }
    auto s = t->execute(i);
    if (!s) return reportError(ctx, s.error());
    out(ctx, *s + "\n");
    return 0;
  }
  auto num = [&](const char* k) { return i.contains(k) && i[k].is_number() ? i[k].dump() : std::string("0"); };
  std::string s;
  s += "Client:\n";
  s += fmt::format(" Version:    {}\n Context:    default\n Debug Mode: false\n", kClientVersion);
  s += "\nServer:\n";
  s += " Containers: " + num("Containers") + "\n";
  s += "  Running: " + num("ContainersRunning") + "\n";
  s += "  Paused: " + num("ContainersPaused") + "\n";
  s += "  Stopped: " + num("ContainersStopped") + "\n";
  s += " Images: " + num("Images") + "\n";
  s += " Server Version: " + jstr(i, "ServerVersion") + "\n";
  s += " Storage Driver: " + jstr(i, "Driver") + "\n";
  if (i.contains("DriverStatus") && i["DriverStatus"].is_array())
    for (auto& p : i["DriverStatus"])
      if (p.is_array() && p.size() == 2) s += "  " + jstr(json{{"a", p[0]}}, "a") + ": " + jstr(json{{"a", p[1]}}, "a") + "\n";
  s += " Logging Driver: " + jstr(i, "LoggingDriver") + "\n";
  s += " Cgroup Driver: " + jstr(i, "CgroupDriver") + "\n";
  s += " Cgroup Version: " + jstr(i, "CgroupVersion") + "\n";
  if (i.contains("Plugins") && i["Plugins"].is_object()) {
    s += " Plugins:\n";
    for (const char* k : {"Volume", "Network", "Log"}) {
      if (!i["Plugins"].contains(k) || !i["Plugins"][k].is_array()) continue;
      std::string line;
      for (auto& p : i["Plugins"][k]) line += (line.empty() ? "" : " ") + (p.is_string() ? p.get<std::string>() : "");
      s += fmt::format("  {}: {}\n", k, line);
    }
  }
  std::string swarm = i.contains("Swarm") ? jstr(i["Swarm"], "LocalNodeState") : "inactive";
  s += " Swarm: " + (swarm.empty() ? "inactive" : swarm) + "\n";
  if (i.contains("Runtimes") && i["Runtimes"].is_object()) {
    std::string rt;
    for (auto& [k, _] : i["Runtimes"].items()) rt += (rt.empty() ? "" : " ") + k;
    s += " Runtimes: " + rt + "\n";
  }
  s += " Default Runtime: " + jstr(i, "DefaultRuntime") + "\n";
  s += " Init Binary: " + jstr(i, "InitBinary") + "\n";
  if (i.contains("SecurityOptions") && i["SecurityOptions"].is_array() && !i["SecurityOptions"].empty()) {
    s += " Security Options:\n";
    for (auto& o : i["SecurityOptions"]) {
      std::string opt = o.is_string() ? o.get<std::string>() : "";
      for (const std::string& kv : split(opt, ',')) {
        auto eq = kv.find('=');
        std::string k = kv.substr(0, eq), v = eq == std::string::npos ? "" : kv.substr(eq + 1);
        if (k == "name")
          s += "  " + v + "\n";
        else
          s += "   " + std::string(1, char(std::toupper(k[0]))) + k.substr(1) + ": " + v + "\n";
      }
    }
  }
  s += " Kernel Version: " + jstr(i, "KernelVersion") + "\n";
  s += " Operating System: " + jstr(i, "OperatingSystem") + "\n";
  s += " OSType: " + jstr(i, "OSType") + "\n";
  s += " Architecture: " + jstr(i, "Architecture") + "\n";
  s += " CPUs: " + num("NCPU") + "\n";
  s += " Total Memory: " + format::bytesSize(i.value("MemTotal", 0.0)) + "\n";
  s += " Name: " + jstr(i, "Name") + "\n";
  s += " ID: " + jstr(i, "ID") + "\n";
  s += " Docker Root Dir: " + jstr(i, "DockerRootDir") + "\n";
  s += fmt::format(" Debug Mode: {}\n", i.value("Debug", false));
  s += fmt::format(" Experimental: {}\n", i.value("ExperimentalBuild", false));
  if (i.contains("RegistryConfig") && i["RegistryConfig"].is_object() &&
      i["RegistryConfig"].contains("InsecureRegistryCIDRs") && i["RegistryConfig"]["InsecureRegistryCIDRs"].is_array()) {
    s += " Insecure Registries:\n";
    for (auto& c : i["RegistryConfig"]["InsecureRegistryCIDRs"])
      if (c.is_string()) s += "  " + c.get<std::string>() + "\n";
  }
  s += fmt::format(" Live Restore Enabled: {}\n", i.value("LiveRestoreEnabled", false));
  out(ctx, s);
  if (i.contains("Warnings") && i["Warnings"].is_array())
    for (auto& w : i["Warnings"])
      if (w.is_string()) err(ctx, w.get<std::string>() + "\n");
  return 0;
}

void flagsVersion(FlagSet& f) { f.addString("format", 'f', formatFlagHelp(false)); }

// berth system check [--repair] (berth-only; docs/crash-safety.md): one line
// per problem, "KIND OBJECT: DETAIL" (+ " [repaired]"), then "N problems".
// Exit 0 when there is none or all were repaired, 1 otherwise.
int cmdCheck(Context& ctx, const FlagSet& f, const std::vector<std::string>&) {
  bool repair = f.getBool("repair");
  auto r = ctx.client.callOk("POST", std::string("/system/check?repair=") + (repair ? "1" : "0"));
  if (!r) return reportError(ctx, r.error());
  auto j = json::parse(r->body, nullptr, false);
  if (!j.is_object() || !j.contains("Problems") || !j["Problems"].is_array()) {
    err(ctx, "Error: unexpected answer from the daemon\n");
    return kExitError;
  }
  std::string s;
  size_t unrepaired = 0;
  for (auto& p : j["Problems"]) {
    if (!p.is_object()) continue;
    bool repaired = p.value("Repaired", false);
    if (!repaired) unrepaired++;
    s += fmt::format("{} {}: {}{}\n", p.value("Kind", ""), p.value("Object", ""), p.value("Detail", ""),
                     repaired ? " [repaired]" : "");
  }
  s += fmt::format("{} problems\n", j["Problems"].size());
  out(ctx, s);
  return unrepaired == 0 ? kExitOk : kExitError;
}

void flagsCheck(FlagSet& f) { f.addBool("repair", 0, "Remove orphans, kill strays, mark lost containers dead"); }

}  // namespace

std::vector<Command> systemCommands() {
  std::vector<Command> v;
  v.push_back({"", {"version"}, {}, "[OPTIONS]", "Show the berth version information", ArgRule::None, 0, 0, true,
               flagsVersion, cmdVersion});
  v.push_back({"system", {"info"}, {"info"}, "[OPTIONS]", "Display system-wide information", ArgRule::None, 0, 0,
               true, flagsVersion, cmdInfo});
  v.push_back({"system", {"check"}, {}, "[OPTIONS]", "Check berth's stores for inconsistencies (berth only)",
               ArgRule::None, 0, 0, true, flagsCheck, cmdCheck});
  return v;
}

}  // namespace berth::cli
