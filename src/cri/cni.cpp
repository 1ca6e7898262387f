#include "cri/cni.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "common/trace.h"
#include "common/fd.h"
#include "common/json_limits.h"
#include "common/log.h"
#include "common/util.h"

extern char** environ;

namespace berth::cri::cni {

using json = nlohmann::json;

namespace {

// "0.4.0" >= "0.3.1" and so on; "" reads as 0.1.0.
std::tuple<int, int, int> versionOf(const std::string& v) {
  int p[3] = {0, 1, 0};
  if (!v.empty()) {
    auto parts = split(v, '.');
    for (size_t i = 0; i < 3; i++) {
      p[i] = 0;
      if (i < parts.size())
        for (char c : parts[i]) {
          if (c < '0' || c > '9') break;
          p[i] = p[i] * 10 + (c - '0');
          if (p[i] > 100000) break;
        }
    }
  }
  return {p[0], p[1], p[2]};
}

bool atLeast(const std::string& v, int a, int b) { return versionOf(v) >= std::tuple{a, b, 0}; }

std::string stripPrefix(const std::string& cidr) { return cidr.substr(0, cidr.find('/')); }

bool isIpv4(const std::string& ip) {
  in_addr a;
  return ::inet_pton(AF_INET, ip.c_str(), &a) == 1;
}

bool isIpAddress(const std::string& ip) {
  in6_addr a6;
  return isIpv4(ip) || ::inet_pton(AF_INET6, ip.c_str(), &a6) == 1;
}

// A plugin's error document as the message: "msg; details" (libcni's words).
std::string errorText(const std::string& out, const std::string& err, int status) {
  json j = json::parse(out, nullptr, false);
  if (j.is_object() && j.contains("msg") && j["msg"].is_string()) {
    std::string m = j["msg"].get<std::string>();
    if (j.contains("details") && j["details"].is_string() && !j["details"].get<std::string>().empty())
      m += "; " + j["details"].get<std::string>();
    return m;
  }
  std::string t = trim(err.empty() ? out : err);
  if (t.empty()) t = fmt::format("exit status {}", status);
  return t;
}

int64_t monoMillis() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

Result<NetworkList> parseNetworkList(std::string_view text, bool conflist, const std::string& path) {
  auto parsed = parseJsonBounded(text);
  if (!parsed) return errorf(Code::InvalidArgument, "{}: {}", path, parsed.error().message);
  json j = std::move(*parsed);
  if (!j.is_object()) return errorf(Code::InvalidArgument, "{}: not a JSON object", path);
  NetworkList l;
  l.path = path;
  auto str = [&](const json& o, const char* k) {
    auto it = o.find(k);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  l.name = str(j, "name");
  l.cniVersion = str(j, "cniVersion");
  if (l.name.empty()) return errorf(Code::InvalidArgument, "{}: no network name", path);
  if (conflist) {
    if (auto d = j.find("disableCheck"); d != j.end()) {
      if (d->is_boolean()) l.disableCheck = d->get<bool>();
      else if (d->is_string()) l.disableCheck = d->get<std::string>() == "true";
    }
    auto p = j.find("plugins");
    if (p == j.end() || !p->is_array() || p->empty())
      return errorf(Code::InvalidArgument, "{}: no plugins in the list", path);
    for (const auto& pl : *p) {
      if (!pl.is_object() || str(pl, "type").empty())
        return errorf(Code::InvalidArgument, "{}: a plugin without a type", path);
      l.plugins.push_back(pl);
    }
  } else {
    if (str(j, "type").empty()) return errorf(Code::InvalidArgument, "{}: no plugin type", path);
    l.plugins.push_back(j);
  }
  return l;
}

std::vector<std::pair<std::string, std::string>> podArgs(const PodMetadata& m, const std::string& sandboxId) {
  return {{"K8S_POD_NAMESPACE", m.ns},
          {"K8S_POD_NAME", m.name},
          {"K8S_POD_INFRA_CONTAINER_ID", sandboxId},
          {"K8S_POD_UID", m.uid}};
}

json pluginStdin(const NetworkList& list, size_t i, const json& prevResult, const Attachment& a) {
  json conf = list.plugins.at(i);
  conf["name"] = list.name;
  conf["cniVersion"] = list.cniVersion;
  if (!prevResult.is_null() && atLeast(list.cniVersion, 0, 3)) conf["prevResult"] = prevResult;
  else conf.erase("prevResult");
  json rc = json::object();
  if (auto caps = conf.find("capabilities"); caps != conf.end() && caps->is_object()) {
    auto wants = [&](const char* k) {
      auto it = caps->find(k);
      return it != caps->end() && it->is_boolean() && it->get<bool>();
    };
    if (wants("portMappings")) {
      json pm = json::array();
      for (const auto& p : a.portMappings) {
        if (p.hostPort <= 0) continue;
        json e = {{"hostPort", p.hostPort}, {"containerPort", p.containerPort}, {"protocol", toLower(p.protocol)}};
        if (!p.hostIp.empty()) e["hostIP"] = p.hostIp;
        pm.push_back(e);
      }
      if (!pm.empty()) rc["portMappings"] = pm;
    }
  }
  if (!rc.empty()) conf["runtimeConfig"] = rc;
  return conf;
}

std::vector<std::string> pluginEnv(std::string_view command, const Attachment& a,
                                   const std::vector<std::string>& binDirs) {
  std::string args = "IgnoreUnknown=1";
  for (const auto& [k, v] : a.args) args += ";" + k + "=" + v;
  std::string cniPath;
  for (const auto& d : binDirs) cniPath += (cniPath.empty() ? "" : ":") + d;
  const char* path = ::getenv("PATH");
  return {std::string("CNI_COMMAND=") + std::string(command),
          "CNI_CONTAINERID=" + a.containerId,
          "CNI_NETNS=" + a.netns,
          "CNI_IFNAME=" + a.ifName,
          "CNI_ARGS=" + args,
          "CNI_PATH=" + cniPath,
          std::string("PATH=") + (path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")};
}

Result<PodIps> podIps(const json& result, const std::string& ifName) {
  std::vector<std::string> ips;
  if (!result.is_object()) return errorf(Code::InvalidArgument, "CNI result: not an object");
  if (auto list = result.find("ips"); list != result.end() && list->is_array()) {
    // The sandbox's interface indexes (0.3.0 and later).
    const json* ifaces = nullptr;
    if (auto it = result.find("interfaces"); it != result.end() && it->is_array()) ifaces = &*it;
    for (const auto& e : *list) {
      if (!e.is_object() || !e.contains("address") || !e["address"].is_string()) continue;
      if (ifaces && e.contains("interface") && e["interface"].is_number_integer()) {
        int64_t idx = e["interface"].get<int64_t>();
        if (idx < 0 || size_t(idx) >= ifaces->size()) continue;
        const json& itf = (*ifaces)[size_t(idx)];
        if (!itf.is_object()) continue;
        // Only addresses of the pod's interface (inside a sandbox).
        if (itf.value("sandbox", "").empty() || itf.value("name", "") != ifName) continue;
      }
      std::string ip = stripPrefix(e["address"].get<std::string>());
      if (isIpAddress(ip) && std::find(ips.begin(), ips.end(), ip) == ips.end()) ips.push_back(ip);
    }
  } else {
    // 0.1.0 / 0.2.0: {"ip4": {"ip": CIDR}, "ip6": {...}}.
    for (const char* k : {"ip4", "ip6"}) {
      auto it = result.find(k);
      if (it == result.end() || !it->is_object() || !it->contains("ip") || !(*it)["ip"].is_string()) continue;
      std::string ip = stripPrefix((*it)["ip"].get<std::string>());
      if (isIpAddress(ip)) ips.push_back(ip);
    }
  }
  if (ips.empty()) return errorf(Code::InvalidArgument, "CNI result has no IP address for {}", ifName);
  PodIps out;
  auto v4 = std::find_if(ips.begin(), ips.end(), isIpv4);
  auto first = v4 != ips.end() ? v4 : ips.begin();
  out.ip = *first;
  for (auto it = ips.begin(); it != ips.end(); ++it)
    if (it != first) out.additional.push_back(*it);
  return out;
}

Cni::Cni(std::string confDir, std::vector<std::string> binDirs, int timeoutSeconds)
    : confDir_(std::move(confDir)), binDirs_(std::move(binDirs)), timeoutSeconds_(timeoutSeconds) {}

Result<NetworkList> Cni::config() {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(confDir_.c_str())) {
    while (auto* ent = ::readdir(d)) {
      std::string n = ent->d_name;
      if (endsWith(n, ".conf") || endsWith(n, ".conflist") || endsWith(n, ".json")) names.push_back(n);
    }
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    std::string path = confDir_ + "/" + n;
    struct stat st;
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    int64_t mtime = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    {
      std::lock_guard g(mu_);
      if (cache_ && cache_->path == path && cache_->mtimeNs == mtime && cache_->size == st.st_size)
        return cache_->list;
    }
    if (st.st_size > (1 << 20)) continue;
    auto text = readFile(path);
    if (!text) continue;
    // A .json may hold either form, as libcni reads it.
    bool conflist = endsWith(n, ".conflist");
    if (endsWith(n, ".json")) {
      json probe = json::parse(*text, nullptr, false);
      conflist = probe.is_object() && probe.contains("plugins");
    }
    auto l = parseNetworkList(*text, conflist, path);
    if (!l) {
      log::warn("cri: skipping CNI config {}", l.error().message);
      continue;
    }
    std::lock_guard g(mu_);
    cache_ = Cached{path, mtime, int64_t(st.st_size), *l};
    return *l;
  }
  {
    std::lock_guard g(mu_);
    cache_.reset();
  }
  return errorf(Code::NotFound, "no network config found in {}", confDir_);
}

Result<std::string> Cni::findPlugin(const std::string& type) const {
  if (type.empty() || type.find('/') != std::string::npos || type == "." || type == "..")
    return errorf(Code::InvalidArgument, "invalid CNI plugin type {:?}", type);
  for (const auto& d : binDirs_) {
    std::string p = d + "/" + type;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  std::string dirs;
  for (const auto& d : binDirs_) dirs += (dirs.empty() ? "" : " ") + d;
  return errorf(Code::NotFound, "failed to find plugin {:?} in path [{}]", type, dirs);
}

Result<json> Cni::exec(const NetworkList& list, size_t i, std::string_view command, const Attachment& a,
                       const json& prevResult) {
  const std::string type = list.plugins[i].value("type", "");
  auto fail = [&](Code code, const std::string& msg) {
    return std::unexpected(Error{code, 0,
                                 fmt::format("plugin type={:?} name={:?} failed ({}): {}", type, list.name,
                                             toLower(command), msg)});
  };
  auto bin = findPlugin(type);
  if (!bin) return fail(bin.error().code, bin.error().message);
  std::string input = pluginStdin(list, i, prevResult, a).dump();
  std::vector<std::string> env = pluginEnv(command, a, binDirs_);

  int inp[2], outp[2], errp[2];
  if (::pipe2(inp, O_CLOEXEC) != 0) return sysError(errno, "pipe");
  UniqueFd inR(inp[0]), inW(inp[1]);
  if (::pipe2(outp, O_CLOEXEC) != 0) return sysError(errno, "pipe");
  UniqueFd outR(outp[0]), outW(outp[1]);
  if (::pipe2(errp, O_CLOEXEC) != 0) return sysError(errno, "pipe");
  UniqueFd errR(errp[0]), errW(errp[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, inR.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, outW.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, errW.get(), 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> argv = {bin->data(), nullptr};
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid;
  int rc = ::posix_spawn(&pid, bin->c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return fail(codeForErrno(rc), fmt::format("exec {}: {}", *bin, std::strerror(rc)));
  inR.reset();
  outW.reset();
  errW.reset();
  ::fcntl(inW.get(), F_SETFL, O_NONBLOCK);

  std::string out, err;
  size_t written = 0;
  const int64_t deadline = monoMillis() + int64_t(timeoutSeconds_) * 1000;
  bool timedOut = false;
  char buf[16384];
  while (outR || errR) {
    pollfd p[3];
    int n = 0;
    int idxIn = -1, idxOut = -1, idxErr = -1;
    if (inW) idxIn = n, p[n++] = {inW.get(), POLLOUT, 0};
    if (outR) idxOut = n, p[n++] = {outR.get(), POLLIN, 0};
    if (errR) idxErr = n, p[n++] = {errR.get(), POLLIN, 0};
    int64_t left = deadline - monoMillis();
    if (left <= 0) {
      timedOut = true;
      break;
    }
    int r = ::poll(p, nfds_t(n), int(std::min<int64_t>(left, 1000)));
    if (r < 0 && errno != EINTR) break;
    if (r <= 0) continue;
    if (idxIn >= 0 && p[idxIn].revents) {
      if (p[idxIn].revents & (POLLERR | POLLHUP)) {
        inW.reset();
      } else {
        ssize_t w = ::write(inW.get(), input.data() + written, input.size() - written);
        if (w > 0) written += size_t(w);
        else if (w < 0 && errno != EAGAIN && errno != EINTR) inW.reset();
        if (written == input.size()) inW.reset();
      }
    }
    for (auto [idx, fd, sink] : {std::tuple{idxOut, &outR, &out}, std::tuple{idxErr, &errR, &err}}) {
      if (idx < 0 || !p[idx].revents) continue;
      ssize_t got = ::read(fd->get(), buf, sizeof buf);
      if (got > 0) {
        if (sink->size() < (8u << 20)) sink->append(buf, size_t(got));
      } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
        fd->reset();
      }
    }
  }
  if (timedOut) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timedOut) return fail(Code::Unavailable, fmt::format("timed out after {} s", timeoutSeconds_));
  if (!err.empty()) log::debug("cri: CNI {} {} stderr: {}", type, command, trim(err));
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (code != 0) return fail(Code::Internal, errorText(out, err, code));
  if (trim(out).empty()) return json();
  json res = json::parse(out, nullptr, false);
  if (res.is_discarded() || !res.is_object()) return fail(Code::Internal, "the plugin's result is not JSON: " + trim(out));
  return res;
}

Result<AddResult> Cni::add(const Attachment& a) {
  TRY_ASSIGN(auto list, config());
  json prev;
  for (size_t i = 0; i < list.plugins.size(); i++) {
    const int64_t t = trace::on() ? trace::now() : 0;
    auto ran = exec(list, i, "ADD", a, prev);
    if (t) trace::record(a.containerId, "cni: ADD " + list.plugins[i].value("type", ""), t, trace::now());
    TRY_ASSIGN(json r, std::move(ran));
    if (!r.is_null()) prev = std::move(r);
  }
  if (prev.is_null())
    return errorf(Code::Internal, "CNI network {:?}: the plugins returned no result", list.name);
  TRY_ASSIGN(auto ips, podIps(prev, a.ifName));
  return AddResult{std::move(prev), std::move(ips)};
}

Result<> Cni::del(const Attachment& a, const json& prevResult) {
  TRY_ASSIGN(auto list, config());
  json prev = atLeast(list.cniVersion, 0, 4) ? prevResult : json();
  for (size_t i = list.plugins.size(); i-- > 0;) {
    auto r = exec(list, i, "DEL", a, prev);
    if (!r) return std::unexpected(r.error());
  }
  return {};
}

Result<> Cni::check(const Attachment& a, const json& prevResult) {
  TRY_ASSIGN(auto list, config());
  if (!atLeast(list.cniVersion, 0, 4) || list.disableCheck) return {};
  for (size_t i = 0; i < list.plugins.size(); i++) TRY(exec(list, i, "CHECK", a, prevResult));
  return {};
}

}  // namespace berth::cri::cni
