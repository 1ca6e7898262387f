#include "cli/run_config.h"

#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <map>

#include "cli/client.h"
#include "cli/format/human.h"
#include "cli/mount_opts.h"
#include "cli/run_network.h"
#include "common/number.h"
#include "common/sha256.h"
#include "common/until.h"
#include "common/util.h"
#include "image/reference.h"

namespace berth::cli {

namespace {

struct FlagRow {
  const char* shorthand;
  const char* name;
  char kind;  // B bool, S string, I int, L list
  const char* type;
  const char* usage;
  const char* def;  // as docker prints it inside "(default ...)"
  bool runOnly;
};

// Generated from `docker run --help` (docker CLI 28.2.2), same texts.
const FlagRow kRunFlags[] = {
    {"", "add-host", 'L', "list", "Add a custom host-to-IP mapping (host:ip)", "", false},
    {"", "annotation", 'L', "map", "Add an annotation to the container (passed through to the OCI runtime)", "map[]", false},
    {"a", "attach", 'L', "list", "Attach to STDIN, STDOUT or STDERR", "", false},
    {"", "blkio-weight", 'S', "uint16", "Block IO (relative weight), between 10 and 1000, or 0 to disable", "0", false},
    {"", "blkio-weight-device", 'L', "list", "Block IO weight (relative device weight)", "[]", false},
    {"", "cap-add", 'L', "list", "Add Linux capabilities", "", false},
    {"", "cap-drop", 'L', "list", "Drop Linux capabilities", "", false},
    {"", "cgroup-parent", 'S', "string", "Optional parent cgroup for the container", "", false},
    {"", "cgroupns", 'S', "string", "Cgroup namespace to use (host|private)\n'host':    Run the container in the berth host's cgroup namespace\n'private': Run the container in its own private cgroup namespace\n'':        Use the cgroup namespace as configured by the\n           default-cgroupns-mode option on the daemon (default)", "", false},
    {"", "cidfile", 'S', "string", "Write the container ID to the file", "", false},
    {"", "cpu-count", 'I', "int", "CPU count (Windows only)", "", false},
    {"", "cpu-percent", 'I', "int", "CPU percent (Windows only)", "", false},
    {"", "cpu-period", 'I', "int", "Limit CPU CFS (Completely Fair Scheduler) period", "", false},
    {"", "cpu-quota", 'I', "int", "Limit CPU CFS (Completely Fair Scheduler) quota", "", false},
    {"", "cpu-rt-period", 'I', "int", "Limit CPU real-time period in microseconds", "", false},
    {"", "cpu-rt-runtime", 'I', "int", "Limit CPU real-time runtime in microseconds", "", false},
    {"c", "cpu-shares", 'I', "int", "CPU shares (relative weight)", "", false},
    {"", "cpus", 'S', "decimal", "Number of CPUs", "", false},
    {"", "cpuset-cpus", 'S', "string", "CPUs in which to allow execution (0-3, 0,1)", "", false},
    {"", "cpuset-mems", 'S', "string", "MEMs in which to allow execution (0-3, 0,1)", "", false},
    {"d", "detach", 'B', "", "Run container in background and print container ID", "", true},
    {"", "detach-keys", 'S', "string", "Override the key sequence for detaching a container", "", true},
    {"", "device", 'L', "list", "Add a host device to the container", "", false},
    {"", "device-cgroup-rule", 'L', "list", "Add a rule to the cgroup allowed devices list", "", false},
    {"", "device-read-bps", 'L', "list", "Limit read rate (bytes per second) from a device", "[]", false},
    {"", "device-read-iops", 'L', "list", "Limit read rate (IO per second) from a device", "[]", false},
    {"", "device-write-bps", 'L', "list", "Limit write rate (bytes per second) to a device", "[]", false},
    {"", "device-write-iops", 'L', "list", "Limit write rate (IO per second) to a device", "[]", false},
    {"", "disable-content-trust", 'B', "", "Skip image verification", "true", false},
    {"", "dns", 'L', "list", "Set custom DNS servers", "", false},
    {"", "dns-option", 'L', "list", "Set DNS options", "", false},
    {"", "dns-search", 'L', "list", "Set custom DNS search domains", "", false},
    {"", "domainname", 'S', "string", "Container NIS domain name", "", false},
    {"", "entrypoint", 'S', "string", "Overwrite the default ENTRYPOINT of the image", "", false},
    {"e", "env", 'L', "list", "Set environment variables", "", false},
    {"", "env-file", 'L', "list", "Read in a file of environment variables", "", false},
    {"", "expose", 'L', "list", "Expose a port or a range of ports", "", false},
    {"", "gpus", 'S', "gpu-request", "GPU devices to add to the container ('all' to pass all GPUs)", "", false},
    {"", "group-add", 'L', "list", "Add additional groups to join", "", false},
    {"", "health-cmd", 'S', "string", "Command to run to check health", "", false},
    {"", "health-interval", 'S', "duration", "Time between running the check (ms|s|m|h)", "0s", false},
    {"", "health-retries", 'I', "int", "Consecutive failures needed to report unhealthy", "", false},
    {"", "health-start-interval", 'S', "duration", "Time between running the check during the start period (ms|s|m|h)", "0s", false},
    {"", "health-start-period", 'S', "duration", "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h)", "0s", false},
    {"", "health-timeout", 'S', "duration", "Maximum time to allow one check to run (ms|s|m|h)", "0s", false},
    {"", "help", 'B', "", "Print usage", "", false},
    {"h", "hostname", 'S', "string", "Container host name", "", false},
    {"", "init", 'B', "", "Run an init inside the container that forwards signals and reaps processes", "", false},
    {"i", "interactive", 'B', "", "Keep STDIN open even if not attached", "", false},
    {"", "io-maxbandwidth", 'S', "bytes", "Maximum IO bandwidth limit for the system drive (Windows only)", "", false},
    {"", "io-maxiops", 'S', "uint", "Maximum IOps limit for the system drive (Windows only)", "", false},
    {"", "ip", 'S', "string", "IPv4 address (e.g., 172.30.100.104)", "", false},
    {"", "ip6", 'S', "string", "IPv6 address (e.g., 2001:db8::33)", "", false},
    {"", "ipc", 'S', "string", "IPC mode to use", "", false},
    {"", "isolation", 'S', "string", "Container isolation technology", "", false},
    {"", "kernel-memory", 'S', "bytes", "Kernel memory limit", "", false},
    {"l", "label", 'L', "list", "Set meta data on a container", "", false},
    {"", "label-file", 'L', "list", "Read in a line delimited file of labels", "", false},
    {"", "link", 'L', "list", "Add link to another container", "", false},
    {"", "link-local-ip", 'L', "list", "Container IPv4/IPv6 link-local addresses", "", false},
    {"", "log-driver", 'S', "string", "Logging driver for the container", "", false},
    {"", "log-opt", 'L', "list", "Log driver options", "", false},
    {"", "mac-address", 'S', "string", "Container MAC address (e.g., 92:d0:c6:0a:29:33)", "", false},
    {"m", "memory", 'S', "bytes", "Memory limit", "", false},
    {"", "memory-reservation", 'S', "bytes", "Memory soft limit", "", false},
    {"", "memory-swap", 'S', "bytes", "Swap limit equal to memory plus swap: '-1' to enable unlimited swap", "", false},
    {"", "memory-swappiness", 'I', "int", "Tune container memory swappiness (0 to 100)", "-1", false},
    {"", "mount", 'L', "mount", "Attach a filesystem mount to the container", "", false},
    {"", "name", 'S', "string", "Assign a name to the container", "", false},
    {"", "network", 'L', "network", "Connect a container to a network", "", false},
    {"", "network-alias", 'L', "list", "Add network-scoped alias for the container", "", false},
    {"", "no-healthcheck", 'B', "", "Disable any container-specified HEALTHCHECK", "", false},
    {"", "oom-kill-disable", 'B', "", "Disable OOM Killer", "", false},
    {"", "oom-score-adj", 'I', "int", "Tune host's OOM preferences (-1000 to 1000)", "", false},
    {"", "pid", 'S', "string", "PID namespace to use", "", false},
    {"", "pids-limit", 'I', "int", "Tune container pids limit (set -1 for unlimited)", "", false},
    {"", "platform", 'S', "string", "Set platform if server is multi-platform capable", "", false},
    {"", "privileged", 'B', "", "Give extended privileges to this container", "", false},
    {"p", "publish", 'L', "list", "Publish a container's port(s) to the host", "", false},
    {"P", "publish-all", 'B', "", "Publish all exposed ports to random ports", "", false},
    {"", "pull", 'S', "string", "Pull image before running (\"always\", \"missing\", \"never\")", "\"missing\"", false},
    {"q", "quiet", 'B', "", "Suppress the pull output", "", false},
    {"", "read-only", 'B', "", "Mount the container's root filesystem as read only", "", false},
    {"", "restart", 'S', "string", "Restart policy to apply when a container exits", "\"no\"", false},
    {"", "rm", 'B', "", "Automatically remove the container and its associated anonymous volumes when it exits", "", false},
    {"", "runtime", 'S', "string", "Runtime to use for this container", "", false},
    {"", "security-opt", 'L', "list", "Security Options", "", false},
    {"", "shm-size", 'S', "bytes", "Size of /dev/shm", "", false},
    {"", "sig-proxy", 'B', "", "Proxy received signals to the process", "true", true},
    {"", "stop-signal", 'S', "string", "Signal to stop the container", "", false},
    {"", "stop-timeout", 'I', "int", "Timeout (in seconds) to stop a container", "", false},
    {"", "storage-opt", 'L', "list", "Storage driver options for the container", "", false},
    {"", "sysctl", 'L', "map", "Sysctl options", "map[]", false},
    {"", "tmpfs", 'L', "list", "Mount a tmpfs directory", "", false},
    {"t", "tty", 'B', "", "Allocate a pseudo-TTY", "", false},
    {"", "ulimit", 'L', "ulimit", "Ulimit options", "[]", false},
    {"", "use-api-socket", 'B', "", "Bind mount Docker API socket and required auth", "", false},
    {"u", "user", 'S', "string", "Username or UID (format: <name|uid>[:<group|gid>])", "", false},
    {"", "userns", 'S', "string", "User namespace to use", "", false},
    {"", "uts", 'S', "string", "UTS namespace to use", "", false},
    {"v", "volume", 'L', "list", "Bind mount a volume", "", false},
    {"", "volume-driver", 'S', "string", "Optional volume driver for the container", "", false},
    {"", "volumes-from", 'L', "list", "Mount volumes from the specified container(s)", "", false},
    {"w", "workdir", 'S', "string", "Working directory inside the container", "", false},
};

using ojson = nlohmann::ordered_json;

std::pair<std::string, std::string> splitKV(const std::string& s) {
  auto eq = s.find('=');
  if (eq == std::string::npos) return {s, ""};
  return {s.substr(0, eq), s.substr(eq + 1)};
}

std::string lookupEnv(const std::vector<std::string>& environ, const std::string& key, bool* found) {
  for (auto& e : environ) {
    if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=') {
      *found = true;
      return e.substr(key.size() + 1);
    }
  }
  *found = false;
  return "";
}

// docker's opts.ParseEnvFile / ValidateEnv.
Result<std::vector<std::string>> readKeyValueFile(const std::string& path,
                                                  const std::vector<std::string>& environ, bool env) {
  auto data = readFile(path);
  if (!data) return errorf(Code::InvalidArgument, "open {}: no such file or directory", path);
  std::vector<std::string> out;
  for (std::string line : split(*data, '\n')) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    if (line.find('=') == std::string::npos && env) {
      bool found;
      std::string v = lookupEnv(environ, t, &found);
      if (found) out.push_back(t + "=" + v);
      continue;
    }
    out.push_back(line);
  }
  return out;
}

// docker's CLI makes a relative bind source ("./dir:/x") absolute against
// the current directory; only sources starting with '.' are paths.
std::string relativeBindToAbsolute(const std::string& bind) {
  auto colon = bind.find(':');
  std::string host = bind.substr(0, colon);
  if (host.empty() || host[0] != '.') return bind;
  char buf[4096];
  if (!::getcwd(buf, sizeof buf)) return bind;
  std::string abs = buf;
  for (auto& part : split(host, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      auto slash = abs.rfind('/');
      abs = slash == 0 || slash == std::string::npos ? "/" : abs.substr(0, slash);
    } else {
      abs += (abs == "/" ? "" : "/") + part;
    }
  }
  return abs + bind.substr(colon);
}

// --mount values -> HostConfig.Mounts (cli/mount_opts.h).
Result<> addMountFlags(const FlagSet& f, ojson& h) {
  if (f.getList("mount").empty()) return {};
  ojson mounts = ojson::array();
  for (const std::string& m : f.getList("mount")) {
    TRY_ASSIGN(ojson one, parseMountFlag(m));
    mounts.push_back(std::move(one));
  }
  h["Mounts"] = mounts;
  return {};
}

Result<int64_t> parseBytesFlag(const FlagSet& f, const std::string& name) {
  if (!f.changed(name)) return 0;
  std::string v = f.getString(name);
  if (v == "-1") return -1;
  auto r = format::ramInBytes(v);
  if (!r)
    return errorf(Code::InvalidArgument, "invalid argument \"{}\" for \"{}\" flag: {}", v,
                  name == "memory" ? "-m, --memory" : "--" + name, r.error().message);
  return *r;
}

Result<ojson> parseRestart(const std::string& v) {
  ojson rp = {{"Name", ""}, {"MaximumRetryCount", 0}};
  if (v.empty()) return rp;
  auto colon = v.find(':');
  std::string name = v.substr(0, colon);
  int count = 0;
  if (colon != std::string::npos) {
    if (name != "on-failure")
      return errorf(Code::InvalidArgument, "invalid restart policy format: maximum retry count can only be used with 'on-failure'");
    auto n = parseNumber<int>(std::string_view(v).substr(colon + 1));
    if (!n) return errorf(Code::InvalidArgument, "invalid restart policy format: maximum retry count must be an integer");
    count = *n;
  }
  rp["Name"] = name;
  rp["MaximumRetryCount"] = count;
  return rp;
}

// docker's parseSecurityOpts: seccomp=FILE is sent as the file's compact JSON.
Result<ojson> securityOpts(const std::vector<std::string>& in) {
  if (in.empty()) return ojson(nullptr);
  ojson out = ojson::array();
  for (const std::string& opt : in) {
    auto sep = opt.find('=');
    if (sep == std::string::npos && opt != "no-new-privileges") sep = opt.find(':');
    bool ok = sep != std::string::npos && sep + 1 < opt.size();
    if (!ok && opt != "no-new-privileges") return errorf(Code::InvalidArgument, "Invalid --security-opt: \"{}\"", opt);
    std::string key = ok ? opt.substr(0, sep) : opt, val = ok ? opt.substr(sep + 1) : "";
    if (key == "seccomp" && val != "builtin" && val != "unconfined") {
      auto data = readFile(val);
      if (!data) return errorf(Code::InvalidArgument, "opening seccomp profile ({}) failed: open {}: no such file or directory", val, val);
      auto j = ojson::parse(*data, nullptr, false);
      if (j.is_discarded())
        return errorf(Code::InvalidArgument, "compacting json for seccomp profile ({}) failed: invalid character in JSON", val);
      out.push_back("seccomp=" + j.dump());
      continue;
    }
    out.push_back(opt);
  }
  return out;
}

}  // namespace

void addContainerCreateFlags(FlagSet& f, bool forRun) {
  for (const FlagRow& r : kRunFlags) {
    if (r.runOnly && !forRun) continue;
    std::string name = r.name;
    if (name == "help") continue;
    char sh = r.shorthand[0];
    std::string def = r.def;
    std::string usage = r.usage;
    if (!forRun && name == "pull") usage = "Pull image before creating (\"always\", \"|missing\", \"never\")";
    switch (r.kind) {
      case 'B': f.addBool(name, sh, usage, def == "true"); break;
      case 'I': f.addInt(name, sh, usage, def.empty() ? 0 : numberOr<int64_t>(def, 0), r.type); break;
      case 'L':
        f.addList(name, sh, usage, r.type);
        if (!def.empty()) f.setDefaultText(name, def);
        break;
      default:
        if (def.size() >= 2 && def.front() == '"') {
          f.addString(name, sh, usage, def.substr(1, def.size() - 2), r.type);
        } else {
          f.addString(name, sh, usage, "", r.type);
          if (!def.empty()) f.setDefaultText(name, def);
        }
    }
  }
  f.addBool("help", 0, "Print usage");
  // docker's hidden second names
  f.addAlias("net", "network");
  f.addAlias("net-alias", "network-alias");
  f.addAlias("dns-opt", "dns-option");
  f.setInterspersed(false);
}

std::string CreateRequest::query() const {
  Query q;
  q.addIf(!name.empty(), "name", name);
  q.addIf(!platform.empty(), "platform", platform);
  return q.str();
}

Result<CreateRequest> buildCreateRequest(const FlagSet& f, const std::vector<std::string>& args,
                                         const CreateOptions& opts) {
  CreateRequest req;
  req.image = args.at(0);
  req.name = f.getString("name");
  req.platform = f.getString("platform");
  // A full image id is not a name, but create takes it (ParseAnyReference).
  if (!(req.image.size() == 64 && isHex(req.image))) TRY(normalizeRef(req.image));

  bool tty = f.getBool("tty");
  bool stdinOpen = f.getBool("interactive");
  bool attachOut = opts.attachStdout, attachErr = opts.attachStdout, attachIn = stdinOpen && opts.attachStdout;
  if (f.changed("attach")) {
    attachOut = attachErr = attachIn = false;
    for (const std::string& a : f.getList("attach")) {
      std::string l = toLower(a);
      if (l == "stdin") attachIn = true;
      else if (l == "stdout") attachOut = true;
      else if (l == "stderr") attachErr = true;
      else return errorf(Code::InvalidArgument, "valid streams are STDIN, STDOUT and STDERR");
    }
  }

  std::vector<std::string> env;
  for (const std::string& file : f.getList("env-file")) {
    TRY_ASSIGN(auto lines, readKeyValueFile(file, opts.environ, true));
    env.insert(env.end(), lines.begin(), lines.end());
  }
  for (const std::string& e : f.getList("env")) {
    if (e.find('=') == std::string::npos) {
      bool found;
      std::string v = lookupEnv(opts.environ, e, &found);
      env.push_back(found ? e + "=" + v : e);
    } else {
      env.push_back(e);
    }
  }
  ojson labels = ojson::object();
  for (const std::string& file : f.getList("label-file")) {
    TRY_ASSIGN(auto lines, readKeyValueFile(file, opts.environ, false));
    for (auto& l : lines) {
      auto [k, v] = splitKV(l);
      labels[k] = v;
    }
  }
  for (const std::string& l : f.getList("label")) {
    auto [k, v] = splitKV(l);
    labels[k] = v;
  }

  TRY_ASSIGN(NetworkingParts net, networkingParts(f));
  req.warnings = net.warnings;
  ojson volumes = ojson::object();
  ojson binds = ojson::array();
  for (const std::string& v : f.getList("volume")) {
    if (v.find(':') == std::string::npos)
      volumes[v] = ojson::object();
    else
      binds.push_back(relativeBindToAbsolute(v));
  }

  ojson cmd = nullptr;
  if (args.size() > 1) cmd = ojson(std::vector<std::string>(args.begin() + 1, args.end()));
  ojson entrypoint = nullptr;
  if (f.changed("entrypoint")) entrypoint = ojson::array({f.getString("entrypoint")});

  ojson& b = req.body;
  b["Hostname"] = f.getString("hostname");
  b["Domainname"] = f.getString("domainname");
  b["User"] = f.getString("user");
  b["AttachStdin"] = attachIn;
  b["AttachStdout"] = attachOut;
  b["AttachStderr"] = attachErr;
  if (!net.exposedPorts.is_null()) b["ExposedPorts"] = net.exposedPorts;
  b["Tty"] = tty;
  b["OpenStdin"] = stdinOpen;
  b["StdinOnce"] = stdinOpen && attachIn;
  b["Env"] = env;
  b["Cmd"] = cmd;
  b["Image"] = req.image;
  b["Volumes"] = volumes;
  b["WorkingDir"] = f.getString("workdir");
  b["Entrypoint"] = entrypoint;
  b["OnBuild"] = nullptr;
  b["Labels"] = labels;
  if (f.changed("stop-signal")) b["StopSignal"] = f.getString("stop-signal");
  if (f.changed("stop-timeout")) b["StopTimeout"] = f.getInt("stop-timeout");
  {
    // The docker CLI's healthcheck options: durations as Go's ParseDuration.
    std::map<std::string, int64_t> d;
    for (const char* n : {"health-interval", "health-timeout", "health-start-period", "health-start-interval"}) {
      std::string v = f.getString(n);
      if (v.empty()) v = "0s";
      auto ns = parseGoDuration(v);
      if (!ns) return errorf(Code::InvalidArgument, "invalid argument \"{}\" for \"--{}\" flag: {}", v, n, ns.error().message);
      d[n] = *ns;
    }
    int retries = f.changed("health-retries") ? int(f.getInt("health-retries")) : 0;
    std::string hcmd = f.getString("health-cmd");
    bool have = !hcmd.empty() || retries != 0;
    for (auto& [n, v] : d) have = have || v != 0;
    if (f.getBool("no-healthcheck")) {
      if (have) return makeError(Code::InvalidArgument, "--no-healthcheck conflicts with --health-* options");
      b["Healthcheck"] = {{"Test", {"NONE"}}};
    } else if (have) {
      for (const char* n : {"health-interval", "health-timeout", "health-start-period", "health-start-interval"})
        if (d[n] < 0) return errorf(Code::InvalidArgument, "--{} cannot be negative", n);
      if (retries < 0) return makeError(Code::InvalidArgument, "--health-retries cannot be negative");
      ojson hc;
      hc["Test"] = hcmd.empty() ? ojson(nullptr) : ojson({"CMD-SHELL", hcmd});
      hc["Interval"] = d["health-interval"];
      hc["Timeout"] = d["health-timeout"];
      hc["StartPeriod"] = d["health-start-period"];
      hc["StartInterval"] = d["health-start-interval"];
      hc["Retries"] = retries;
      b["Healthcheck"] = hc;
    }
  }

  ojson h;
  h["Binds"] = binds;
  h["ContainerIDFile"] = f.getString("cidfile");
  ojson logCfg = ojson::object();
  for (const std::string& o : f.getList("log-opt")) {
    auto [k, v] = splitKV(o);
    logCfg[k] = v;
  }
  h["LogConfig"] = {{"Type", f.getString("log-driver")}, {"Config", logCfg}};
  h["NetworkMode"] = net.networkMode;
  h["PortBindings"] = net.portBindings;
  TRY_ASSIGN(h["RestartPolicy"], parseRestart(f.getString("restart")));
  h["AutoRemove"] = f.getBool("rm");
  h["VolumeDriver"] = f.getString("volume-driver");
  h["VolumesFrom"] = f.getList("volumes-from").empty() ? ojson(nullptr) : ojson(f.getList("volumes-from"));
  h["ConsoleSize"] = {tty ? opts.consoleSize.first : 0, tty ? opts.consoleSize.second : 0};
  auto listOrNull = [&](const char* name) {
    return f.getList(name).empty() ? ojson(nullptr) : ojson(f.getList(name));
  };
  h["CapAdd"] = listOrNull("cap-add");
  h["CapDrop"] = listOrNull("cap-drop");
  if (std::string m = f.getString("cgroupns"); !m.empty() && m != "host" && m != "private")
    return makeError(Code::InvalidArgument, "--cgroupns: invalid CGROUP mode");
  h["CgroupnsMode"] = f.getString("cgroupns");
  h["Dns"] = net.dns;
  h["DnsOptions"] = net.dnsOptions;
  h["DnsSearch"] = net.dnsSearch;
  h["ExtraHosts"] = net.extraHosts;
  h["GroupAdd"] = listOrNull("group-add");
  h["IpcMode"] = f.getString("ipc");
  h["Cgroup"] = "";
  h["Links"] = net.links;
  h["OomScoreAdj"] = f.getInt("oom-score-adj");
  h["PidMode"] = f.getString("pid");
  h["Privileged"] = f.getBool("privileged");
  h["PublishAllPorts"] = f.getBool("publish-all");
  h["ReadonlyRootfs"] = f.getBool("read-only");
  TRY_ASSIGN(h["SecurityOpt"], securityOpts(f.getList("security-opt")));
  ojson tmpfs = ojson::object();
  for (const std::string& t : f.getList("tmpfs")) {
    auto colon = t.find(':');
    tmpfs[t.substr(0, colon)] = colon == std::string::npos ? "" : t.substr(colon + 1);
  }
  if (!tmpfs.empty()) h["Tmpfs"] = tmpfs;
  TRY(addMountFlags(f, h));
  h["UTSMode"] = f.getString("uts");
  h["UsernsMode"] = f.getString("userns");
  TRY_ASSIGN(h["ShmSize"], parseBytesFlag(f, "shm-size"));
  ojson sysctls = ojson::object();
  for (const std::string& s : f.getList("sysctl")) {
    auto [k, v] = splitKV(s);
    // docker's opts.ValidateSysctl: only namespaced keys
    static const char* kAllowed[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                                     "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
    bool ok = startsWith(k, "fs.mqueue.") || startsWith(k, "net.");
    for (const char* a : kAllowed) ok |= k == a;
    if (!ok || s.find('=') == std::string::npos)
      return errorf(Code::InvalidArgument, "invalid argument \"{}\" for \"--sysctl\" flag: sysctl '{}' is not allowed", s, s);
    sysctls[k] = v;
  }
  if (!sysctls.empty()) h["Sysctls"] = sysctls;
  h["Runtime"] = f.getString("runtime");
  h["Isolation"] = f.getString("isolation");
  h["CpuShares"] = f.getInt("cpu-shares");
  TRY_ASSIGN(h["Memory"], parseBytesFlag(f, "memory"));
  int64_t nanoCpus = 0;
  if (f.changed("cpus")) {
    TRY_ASSIGN(double cpus, parseCpusFlag(f.getString("cpus")));
    nanoCpus = int64_t(cpus * 1e9 + 0.5);
  }
  h["NanoCpus"] = nanoCpus;
  h["CgroupParent"] = f.getString("cgroup-parent");
  h["BlkioWeight"] = 0;
  if (f.changed("blkio-weight")) {
    TRY_ASSIGN(h["BlkioWeight"], parseUint16Flag(f.getString("blkio-weight"), "blkio-weight"));
  }
  h["CpuPeriod"] = f.getInt("cpu-period");
  h["CpuQuota"] = f.getInt("cpu-quota");
  h["CpuRealtimePeriod"] = f.getInt("cpu-rt-period");
  h["CpuRealtimeRuntime"] = f.getInt("cpu-rt-runtime");
  h["CpusetCpus"] = f.getString("cpuset-cpus");
  h["CpusetMems"] = f.getString("cpuset-mems");
  ojson devices = ojson::array();
  for (const std::string& d : f.getList("device")) {
    auto parts = split(d, ':');
    std::string host = parts[0], cont = parts.size() > 1 ? parts[1] : parts[0];
    std::string perms = parts.size() > 2 ? parts[2] : "rwm";
    if (parts.size() == 2 && parts[1].find_first_not_of("rwm") == std::string::npos) {
      cont = host;
      perms = parts[1];
    }
    devices.push_back({{"PathOnHost", host}, {"PathInContainer", cont}, {"CgroupPermissions", perms}});
  }
  h["Devices"] = devices;
  h["DeviceCgroupRules"] = listOrNull("device-cgroup-rule");
  TRY_ASSIGN(h["MemoryReservation"], parseBytesFlag(f, "memory-reservation"));
  TRY_ASSIGN(h["MemorySwap"], parseBytesFlag(f, "memory-swap"));
  h["MemorySwappiness"] = f.getInt("memory-swappiness");
  h["OomKillDisable"] = f.getBool("oom-kill-disable");
  h["PidsLimit"] = f.getInt("pids-limit");
  ojson ulimits = ojson::array();
  for (const std::string& u : f.getList("ulimit")) {
    auto [name, lim] = splitKV(u);
    auto colon = lim.find(':');
    TRY_ASSIGN(int64_t soft, parseInt64FlagValue(lim.substr(0, colon), u, "ulimit"));
    int64_t hard = soft;
    if (colon != std::string::npos) {
      TRY_ASSIGN(hard, parseInt64FlagValue(lim.substr(colon + 1), u, "ulimit"));
    }
    ulimits.push_back({{"Name", name}, {"Hard", hard}, {"Soft", soft}});
  }
  h["Ulimits"] = ulimits;
  if (f.getBool("init")) h["Init"] = true;
  h["MaskedPaths"] = nullptr;
  h["ReadonlyPaths"] = nullptr;
  b["HostConfig"] = h;

  b["NetworkingConfig"] = {{"EndpointsConfig", net.endpoints}};
  return req;
}

Result<ImageRef> normalizeRef(std::string_view ref) {
  TRY_ASSIGN(image::Reference r, image::parseReference(ref));
  return ImageRef{r.name(), !r.digest.empty() ? r.digest : !r.tag.empty() ? r.tag : "latest"};
}

std::string familiarName(std::string_view name) {
  std::string s(name);
  if (startsWith(s, "docker.io/library/")) return s.substr(18);
  if (startsWith(s, "docker.io/")) return s.substr(10);
  return s;
}

}  // namespace berth::cli
