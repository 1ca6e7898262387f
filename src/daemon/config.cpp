#include "daemon/config.h"

#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

#include "common/number.h"
#include "common/util.h"

namespace berth::daemon {

namespace {

const char* kUsage =
    "Usage:\tberthd [OPTIONS]\n\n"
    "A self-sufficient runtime for containers, Docker Engine API compatible.\n\n"
    "Options:\n"
    "      --build-context-max-size bytes  Largest build context (file data) POST /build accepts, 0 = no limit (default 10g)\n"
    "      --cgroup-parent string   Set parent cgroup for all containers (default \"berth\")\n"
    "      --config-file string     Daemon configuration file (default \"/etc/berth/daemon.json\")\n"
    "      --data-root string       Root directory of persistent state (default \"/var/lib/berth\")\n"
    "      --exec-root string       Root directory for execution state files (default \"/run/berth\")\n"
    "  -H, --host string            Daemon socket to connect to (default unix:///run/berth/berth.sock)\n"
    "  -l, --log-level string       Set the logging level (\"debug\"|\"info\"|\"warn\"|\"error\"|\"fatal\") (default \"info\")\n"
    "  -p, --pidfile string         Path to use for daemon PID file (default \"/run/berth/berthd.pid\")\n"
    "  -v, --version                Print version information and quit\n";

// "10g", "512m", "1048576": bytes with an optional k/m/g/t (1024-based)
// suffix, as docker's RAMInBytes reads sizes.
std::optional<uint64_t> parseSize(std::string v) {
  v = toLower(trim(v));
  if (endsWith(v, "b") && v.size() > 1 && !std::isdigit(static_cast<unsigned char>(v[v.size() - 2]))) v.pop_back();
  uint64_t mult = 1;
  if (!v.empty()) {
    switch (v.back()) {
      case 'k': mult = 1ull << 10; break;
      case 'm': mult = 1ull << 20; break;
      case 'g': mult = 1ull << 30; break;
      case 't': mult = 1ull << 40; break;
      default: break;
    }
    if (mult != 1) v.pop_back();
  }
  auto n = parseNumber<uint64_t>(v);
  if (!n || (mult > 1 && *n > UINT64_MAX / mult)) return std::nullopt;
  return *n * mult;
}

}  // namespace

Result<Config> parseArgs(int argc, char** argv) {
  Config c;
  bool configSet = false, hostSet = false, dataSet = false, execSet = false, pidSet = false, cgSet = false,
       levelSet = false, mirrorsSet = false, insecureSet = false, downloadsSet = false, uploadsSet = false;
  std::string level;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    std::string val;
    bool hasVal = false;
    if (auto eq = a.find('='); startsWith(a, "--") && eq != std::string::npos) {
      val = a.substr(eq + 1);
      a = a.substr(0, eq);
      hasVal = true;
    }
    auto take = [&](std::string& out, bool& set) -> Result<> {
      if (!hasVal) {
        if (i + 1 >= argc) return errorf(Code::InvalidArgument, "flag needs an argument: {}", a);
        val = argv[++i];
      }
      out = val;
      set = true;
      return {};
    };
    if (a == "-h" || a == "--help") {
      fputs(kUsage, stdout);
      return makeError(Code::Cancelled, "");
    } else if (a == "-v" || a == "--version") {
      puts("berthd version 0.1.0");
      return makeError(Code::Cancelled, "");
    } else if (a == "-H" || a == "--host") {
      TRY(take(c.host, hostSet));
    } else if (a == "--data-root" || a == "-g" || a == "--graph") {
      TRY(take(c.dataRoot, dataSet));
    } else if (a == "--exec-root") {
      TRY(take(c.execRoot, execSet));
    } else if (a == "-p" || a == "--pidfile") {
      TRY(take(c.pidfile, pidSet));
    } else if (a == "--config-file") {
      TRY(take(c.configFile, configSet));
    } else if (a == "--cgroup-parent") {
      TRY(take(c.cgroupParent, cgSet));
    } else if (a == "-l" || a == "--log-level") {
      TRY(take(level, levelSet));
    } else if (a == "--registry-mirror" || a == "--insecure-registry") {
      std::string v;
      bool set = false;
      TRY(take(v, set));
      (a == "--registry-mirror" ? c.registryMirrors : c.insecureRegistries).push_back(v);
      (a == "--registry-mirror" ? mirrorsSet : insecureSet) = true;
    } else if (a == "--max-concurrent-downloads" || a == "--max-concurrent-uploads") {
      std::string v;
      bool set = false;
      TRY(take(v, set));
      auto n = parseNumber<int>(v);
      if (!n || *n < 1 || std::to_string(*n) != v)
        return errorf(Code::InvalidArgument, "invalid value {:?} for {}", v, a);
      (a == "--max-concurrent-downloads" ? c.maxConcurrentDownloads : c.maxConcurrentUploads) = *n;
      (a == "--max-concurrent-downloads" ? downloadsSet : uploadsSet) = true;
    } else if (a == "--build-context-max-size") {
      std::string v;
      bool set = false;
      TRY(take(v, set));
      auto n = parseSize(v);
      if (!n) return errorf(Code::InvalidArgument, "invalid value {:?} for {}", v, a);
      c.buildContextMaxSize = *n;
    } else if (a == "-D" || a == "--debug") {
      level = "debug";
      levelSet = true;
    } else {
      return errorf(Code::InvalidArgument, "unknown flag: {}\n{}", a, kUsage);
    }
  }
  // daemon.json: flags win; a key given both ways is an error in dockerd, here flags simply override.
  if (access(c.configFile.c_str(), R_OK) == 0) {
    auto text = readFile(c.configFile);
    if (!text) return std::unexpected(text.error());
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(*text);
    } catch (const std::exception& e) {
      return errorf(Code::InvalidArgument, "unable to configure the daemon with file {}: {}", c.configFile, e.what());
    }
    if (!j.is_object()) return errorf(Code::InvalidArgument, "{}: not a JSON object", c.configFile);
    auto str = [&](const char* key, std::string& out, bool set) {
      if (!set && j.contains(key) && j[key].is_string()) out = j[key].get<std::string>();
    };
    str("data-root", c.dataRoot, dataSet);
    str("exec-root", c.execRoot, execSet);
    str("pidfile", c.pidfile, pidSet);
    str("cgroup-parent", c.cgroupParent, cgSet);
    str("log-level", level, levelSet);
    auto list = [&](const char* key, std::vector<std::string>& out, bool set) -> Result<> {
      if (set || !j.contains(key)) return {};
      if (!j[key].is_array()) return errorf(Code::InvalidArgument, "{}: {} must be a list of strings", c.configFile, key);
      for (auto& v : j[key]) {
        if (!v.is_string()) return errorf(Code::InvalidArgument, "{}: {} must be a list of strings", c.configFile, key);
        out.push_back(v.get<std::string>());
      }
      return {};
    };
    TRY(list("registry-mirrors", c.registryMirrors, mirrorsSet));
    TRY(list("insecure-registries", c.insecureRegistries, insecureSet));
    auto num = [&](const char* key, int& out, bool set) -> Result<> {
      if (set || !j.contains(key)) return {};
      if (!j[key].is_number_integer() || j[key].get<int64_t>() < 1 || j[key].get<int64_t>() > 1000)
        return errorf(Code::InvalidArgument, "{}: {} must be a positive integer", c.configFile, key);
      out = j[key].get<int>();
      return {};
    };
    TRY(num("max-concurrent-downloads", c.maxConcurrentDownloads, downloadsSet));
    TRY(num("max-concurrent-uploads", c.maxConcurrentUploads, uploadsSet));
    if (j.contains("runtimes") && j["runtimes"].is_object()) {
      for (auto& [name, rt] : j["runtimes"].items()) {
        if (!rt.is_object() || !rt.contains("path") || !rt["path"].is_string() || rt["path"].get<std::string>().empty())
          return errorf(Code::InvalidArgument, "unable to configure the daemon with file {}: runtime {}: path is required",
                        c.configFile, name);
        if (name == "berth")
          return errorf(Code::InvalidArgument, "unable to configure the daemon with file {}: runtime name 'berth' is reserved",
                        c.configFile);
        c.runtimes[name] = rt["path"].get<std::string>();
      }
    }
    if (!hostSet && j.contains("hosts") && j["hosts"].is_array() && !j["hosts"].empty())
      c.host = j["hosts"][0].get<std::string>();
  } else if (configSet) {
    return errorf(Code::InvalidArgument, "unable to configure the daemon with file {}: no such file", c.configFile);
  }
  if (!level.empty() && !log::parseLevel(level, c.logLevel))
    return errorf(Code::InvalidArgument, "unable to parse logging level: {}", level);
  if (!startsWith(c.host, "unix://") && c.host[0] != '/')
    return errorf(Code::InvalidArgument, "unsupported host {}: only unix:// sockets are served so far", c.host);
  while (c.cgroupParent.size() > 1 && c.cgroupParent[0] == '/') c.cgroupParent = c.cgroupParent.substr(1);
  return c;
}

}  // namespace berth::daemon
