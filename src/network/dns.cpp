#include "network/dns.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/fd.h"
#include "common/number.h"
#include "common/util.h"

extern char** environ;

namespace berth::network {

using nlohmann::json;

namespace {

constexpr int kStartWaitMs = 2000;  // for the pid file after spawn
constexpr int kTermWaitMs = 2000;   // after SIGTERM, before SIGKILL
constexpr off_t kLogKeepBytes = 1 << 20;

Result<> checkNetworkId(const std::string& id) {
  if (id.empty() || id == "." || id == ".." || id.find('/') != std::string::npos ||
      id.find('\0') != std::string::npos)
    return errorf(Code::InvalidArgument, "invalid network id for DNS: '{}'", id);
  return {};
}

std::string configPath(const std::string& dir, const std::string& id) { return dir + "/" + id + ".json"; }
std::string pidPath(const std::string& dir, const std::string& id) { return dir + "/" + id + ".pid"; }
std::string logPath(const std::string& dir, const std::string& id) { return dir + "/" + id + ".log"; }

void sleepMs(int ms) {
  timespec ts{ms / 1000, long(ms % 1000) * 1000000L};
  while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

pid_t readPid(const std::string& path) {
  auto text = readFile(path);
  if (!text) return 0;
  auto pid = parseNumber<int>(trim(*text));
  return pid && *pid > 0 ? pid_t(*pid) : 0;
}

// Reaps pid if it is our child and has ended (a no-op otherwise: berthd
// ignores SIGCHLD, so the kernel reaps its children itself).
void reapIfChild(pid_t pid) { ::waitpid(pid, nullptr, WNOHANG); }

// True while pid exists and is not a zombie.
bool alive(pid_t pid) {
  reapIfChild(pid);
  auto stat = readFile(fmt::format("/proc/{}/stat", pid));
  if (!stat) return false;
  auto close = stat->rfind(')');
  return close != std::string::npos && close + 2 < stat->size() && (*stat)[close + 2] != 'Z';
}

// True when pid is a live berth-dns serving `cfg` (its cmdline names it):
// a pid file may outlive its process and the pid be reused by another.
bool isResolverFor(pid_t pid, const std::string& cfg) {
  if (pid <= 0) return false;
  auto cmdline = readFile(fmt::format("/proc/{}/cmdline", pid));
  if (!cmdline || cmdline->empty()) return false;  // gone, or a zombie
  std::vector<std::string> argv = split(*cmdline, '\0');
  std::string_view arg0 = argv[0];
  auto slash = arg0.rfind('/');
  if (slash != std::string_view::npos) arg0.remove_prefix(slash + 1);
  if (!startsWith(arg0, "berth-dns")) return false;
  for (size_t i = 0; i + 1 < argv.size(); i++)
    if (argv[i] == "--config" && argv[i + 1] == cfg) return true;
  return false;
}

// A live berth-dns serving `cfg` found by its command line, for when its pid
// file is gone (the directory was cleaned while it ran); 0 when none.
pid_t findResolver(const std::string& cfg) {
  DIR* d = ::opendir("/proc");
  if (!d) return 0;
  pid_t found = 0;
  while (dirent* e = ::readdir(d)) {
    auto pid = parseNumber<int>(e->d_name);
    if (pid && *pid > 1 && isResolverFor(pid_t(*pid), cfg)) {
      found = pid_t(*pid);
      break;
    }
  }
  ::closedir(d);
  return found;
}

off_t fileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : 0;
}

// The last line the log got after `from`, without the time and level when
// it is one of berth-dns's own lines (time="…" level=… msg="…").
std::string lastLogLine(const std::string& path, off_t from) {
  auto text = readFile(path);
  if (!text || size_t(from) >= text->size()) return "";
  std::string t = trim(std::string_view(*text).substr(size_t(from)));
  auto nl = t.rfind('\n');
  std::string line = nl == std::string::npos ? t : t.substr(nl + 1);
  auto msg = line.find(" msg=\"");
  if (msg != std::string::npos && line.size() > msg + 7 && line.back() == '"')
    return line.substr(msg + 6, line.size() - msg - 7);
  return line;
}

// Serialises writes, ensure and stop on one directory (berthd's threads,
// or two processes sharing it): an flock on the directory itself (each call
// opens it anew, so threads of one process exclude each other too).
Result<UniqueFd> lockDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return sysError(errno, "open {}", dir);
  while (::flock(fd.get(), LOCK_EX) != 0)
    if (errno != EINTR) return sysError(errno, "lock {}", dir);
  return fd;
}

Result<std::vector<std::string>> stringList(const json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_array()) return errorf(Code::InvalidArgument, "{}: not an array", key);
  for (auto& v : *it) {
    if (!v.is_string()) return errorf(Code::InvalidArgument, "{}: not a string", key);
    out.push_back(v.get<std::string>());
  }
  return out;
}

json recordsJson(const std::vector<DnsRecord>& recs) {
  json records = json::array();
  for (auto& r : recs) {
    json rj = {{"name", toLower(r.name)}, {"ipv4", r.ipv4}, {"ipv6", r.ipv6}};
    if (!r.ptr.empty()) rj["ptr"] = r.ptr;
    records.push_back(std::move(rj));
  }
  return records;
}

Result<std::vector<DnsRecord>> parseRecords(const json& j, const char* key) {
  std::vector<DnsRecord> out;
  auto recs = j.find(key);
  if (recs == j.end() || recs->is_null()) return out;
  if (!recs->is_array()) return errorf(Code::InvalidArgument, "{}: not an array", key);
  for (auto& rj : *recs) {
    if (!rj.is_object() || !rj.contains("name") || !rj["name"].is_string())
      return errorf(Code::InvalidArgument, "{}: an entry without a name", key);
    DnsRecord r;
    r.name = toLower(rj["name"].get<std::string>());
    auto v4 = stringList(rj, "ipv4");
    if (!v4) return std::unexpected(v4.error());
    auto v6 = stringList(rj, "ipv6");
    if (!v6) return std::unexpected(v6.error());
    r.ipv4 = std::move(*v4);
    r.ipv6 = std::move(*v6);
    if (auto ptr = rj.find("ptr"); ptr != rj.end() && !ptr->is_null()) {
      if (!ptr->is_string()) return errorf(Code::InvalidArgument, "{}: ptr: not a string", key);
      r.ptr = ptr->get<std::string>();
    }
    out.push_back(std::move(r));
  }
  return out;
}

Result<pid_t> spawnResolver(const std::vector<std::string>& argv, const std::string& log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0640);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &all);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, argv[0].c_str(), &fa, &at, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  if (rc != 0) return sysError(rc, "spawn {}", argv[0]);
  return pid;
}

// SIGTERM, then SIGKILL after kTermWaitMs; true once pid is gone.
bool terminate(pid_t pid) {
  ::kill(pid, SIGTERM);
  for (int waited = 0; waited < kTermWaitMs; waited += 5) {
    if (!alive(pid)) return true;
    sleepMs(5);
  }
  ::kill(pid, SIGKILL);
  for (int waited = 0; waited < 1000; waited += 5) {
    if (!alive(pid)) return true;
    sleepMs(5);
  }
  return false;
}

Result<> removeIfExists(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return sysError(errno, "remove {}", path);
  return {};
}

}  // namespace

Result<> writeDnsConfig(const std::string& dir, const DnsConfig& cfg) {
  TRY(checkNetworkId(cfg.networkId));
  TRY(mkdirAll(dir, 0755));
  // Two writers of one file would share its temp name (path + pid).
  TRY_ASSIGN(UniqueFd lock, lockDir(dir));
  json j = {{"networkId", cfg.networkId},
            {"listen", cfg.listen},
            {"upstreams", cfg.upstreams},
            {"searchDomains", cfg.searchDomains},
            {"records", recordsJson(cfg.records)}};
  if (!cfg.clients.empty()) {
    json clients = json::array();
    for (auto& c : cfg.clients)
      clients.push_back(
          {{"address", c.address}, {"upstreams", c.upstreams}, {"extraRecords", recordsJson(c.extraRecords)}});
    j["clients"] = std::move(clients);
  }
  auto r = writeFileAtomic(configPath(dir, cfg.networkId), j.dump() + "\n", 0644);
  if (!r) return std::unexpected(r.error().wrap("write DNS config"));
  return {};
}

Result<DnsConfig> readDnsConfig(const std::string& path) {
  TRY_ASSIGN(std::string text, readFile(path));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return errorf(Code::InvalidArgument, "{}: not a JSON object", path);
  auto fail = [&](const Error& e) { return std::unexpected(e.wrap(path)); };
  DnsConfig cfg;
  auto id = j.find("networkId");
  if (id != j.end() && id->is_string()) cfg.networkId = id->get<std::string>();
  auto listen = stringList(j, "listen");
  if (!listen) return fail(listen.error());
  auto upstreams = stringList(j, "upstreams");
  if (!upstreams) return fail(upstreams.error());
  auto search = stringList(j, "searchDomains");
  if (!search) return fail(search.error());
  cfg.listen = std::move(*listen);
  cfg.upstreams = std::move(*upstreams);
  cfg.searchDomains = std::move(*search);
  auto recs = parseRecords(j, "records");
  if (!recs) return fail(recs.error());
  cfg.records = std::move(*recs);
  auto clients = j.find("clients");
  if (clients != j.end() && !clients->is_null()) {
    if (!clients->is_array()) return errorf(Code::InvalidArgument, "{}: clients: not an array", path);
    for (auto& cj : *clients) {
      if (!cj.is_object() || !cj.contains("address") || !cj["address"].is_string())
        return errorf(Code::InvalidArgument, "{}: clients: an entry without an address", path);
      DnsClient c;
      c.address = cj["address"].get<std::string>();
      auto ups = stringList(cj, "upstreams");
      if (!ups) return fail(ups.error());
      c.upstreams = std::move(*ups);
      auto extra = parseRecords(cj, "extraRecords");
      if (!extra) return fail(extra.error());
      c.extraRecords = std::move(*extra);
      cfg.clients.push_back(std::move(c));
    }
  }
  return cfg;
}

Result<> ensureResolver(const std::string& dnsBin, const std::string& dir, const std::string& networkId) {
  TRY(checkNetworkId(networkId));
  TRY(mkdirAll(dir, 0755));
  TRY_ASSIGN(UniqueFd lock, lockDir(dir));
  std::string cfg = configPath(dir, networkId), pidFile = pidPath(dir, networkId), log = logPath(dir, networkId);
  struct stat st;
  if (::stat(cfg.c_str(), &st) != 0)
    return errorf(Code::FailedPrecondition, "DNS for network {}: no config {} (write it first)", networkId, cfg);
  if (isResolverFor(readPid(pidFile), cfg)) return {};
  if (pid_t running = findResolver(cfg)) {  // alive, its pid file lost: adopt it
    TRY(writeFileAtomic(pidFile, fmt::format("{}\n", running), 0644));
    return {};
  }
  TRY(removeIfExists(pidFile));

  if (fileSize(log) > kLogKeepBytes) (void)::truncate(log.c_str(), 0);
  off_t logFrom = fileSize(log);
  TRY_ASSIGN(pid_t pid, spawnResolver({dnsBin, "--config", cfg, "--pid-file", pidFile}, log));
  for (int waited = 0;; waited += 2) {
    if (readPid(pidFile) == pid) return {};
    if (!alive(pid)) break;
    if (waited >= kStartWaitMs) {
      terminate(pid);
      std::string last = lastLogLine(log, logFrom);
      return errorf(Code::Unavailable, "berth-dns for network {} did not start within {} ms{}{}", networkId,
                    kStartWaitMs, last.empty() ? "" : ": ", last);
    }
    sleepMs(2);
  }
  std::string last = lastLogLine(log, logFrom);
  return errorf(Code::Unavailable, "berth-dns for network {} exited at start{}{}", networkId,
                last.empty() ? " (no message)" : ": ", last);
}

Result<> stopResolver(const std::string& dir, const std::string& networkId) {
  TRY(checkNetworkId(networkId));
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return {};  // nothing was ever started here
  TRY_ASSIGN(UniqueFd lock, lockDir(dir));
  std::string cfg = configPath(dir, networkId), pidFile = pidPath(dir, networkId);
  pid_t pid = readPid(pidFile);
  if (!isResolverFor(pid, cfg)) pid = findResolver(cfg);
  if (pid > 0 && !terminate(pid))
    return errorf(Code::Internal, "berth-dns for network {} (pid {}) did not exit", networkId, pid);
  TRY(removeIfExists(pidFile));
  TRY(removeIfExists(cfg));
  TRY(removeIfExists(logPath(dir, networkId)));
  return {};
}

}  // namespace berth::network
