// stats, top, pause / unpause, update: the container's cgroup seen from the
// daemon (cgroup_info.h).

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "common/fd.h"
#include "common/number.h"
#include "common/util.h"
#include "container/cgroup_info.h"
#include "container/security.h"
#include "container/service_impl.h"

extern char** environ;

namespace berth::container {

namespace {

uint64_t hostMemoryBytes() {
  auto text = readFile("/proc/meminfo");
  if (!text) return 0;
  for (const auto& l : split(*text, '\n'))
    if (startsWith(l, "MemTotal:")) {
      std::string kb = trim(l.substr(9));
      return numberOr<uint64_t>(std::string_view(kb).substr(0, kb.find(' ')), 0) * 1024;  // "16384 kB"
    }
  return 0;
}

uint64_t systemNow() { return systemCpuNs(readFile("/proc/stat").value_or("")); }

int onlineCpus() { return int(::sysconf(_SC_NPROCESSORS_ONLN)); }

// /proc/PID/net/dev of the container's init, Docker's "networks" map.
json networksOf(int pid) {
  json out = json::object();
  if (pid <= 0) return out;
  auto text = readFile("/proc/" + std::to_string(pid) + "/net/dev");
  if (!text) return out;
  for (const auto& line : split(*text, '\n')) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = trim(line.substr(0, colon));
    if (name == "lo" || name.empty()) continue;
    std::vector<uint64_t> v;
    for (const auto& f : split(line.substr(colon + 1), ' '))
      if (!f.empty()) v.push_back(numberOr<uint64_t>(f, 0));
    if (v.size() < 12) continue;
    out[name] = {{"rx_bytes", v[0]}, {"rx_packets", v[1]}, {"rx_errors", v[2]}, {"rx_dropped", v[3]},
                 {"tx_bytes", v[8]}, {"tx_packets", v[9]}, {"tx_errors", v[10]}, {"tx_dropped", v[11]}};
  }
  return out;
}

// Runs /bin/ps ARGS; stdout, or an error with its stderr.
Result<std::string> runPs(const std::vector<std::string>& args) {
  int outp[2], errp[2];
  if (::pipe2(outp, O_CLOEXEC) != 0) return sysError(errno, "pipe");
  UniqueFd outR(outp[0]), outW(outp[1]);
  if (::pipe2(errp, O_CLOEXEC) != 0) return sysError(errno, "pipe");
  UniqueFd errR(errp[0]), errW(errp[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, outW.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, errW.get(), 2);
  std::vector<std::string> argv = {"ps"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargs;
  for (auto& a : argv) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawnp(&pid, "ps", &fa, nullptr, cargs.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return errorf(Code::Internal, "Error running ps: {}", std::strerror(rc));
  outW.reset();
  errW.reset();
  std::string out, err;
  pollfd p[2] = {{outR.get(), POLLIN, 0}, {errR.get(), POLLIN, 0}};
  int open = 2;
  char buf[8192];
  while (open > 0) {
    if (::poll(p, 2, 10000) <= 0) break;
    for (int i = 0; i < 2; i++) {
      if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP))) continue;
      ssize_t n = ::read(p[i].fd, buf, sizeof buf);
      if (n <= 0) {
        p[i].fd = -1;
        open--;
      } else {
        (i == 0 ? out : err).append(buf, size_t(n));
      }
    }
  }
  if (out.empty()) return errorf(Code::Internal, "Error running ps: {}", trim(err));
  return out;
}

}  // namespace

std::string ServiceImpl::cgroupPathOf(const Entry& e) const {
  if (!e.cgroupsPath.empty()) return e.cgroupsPath;
  if (auto text = readFile(dirOf(e.c.id) + "/config.json")) {
    auto j = json::parse(*text, nullptr, false);
    if (j.is_object() && j.contains("linux") && j["linux"].is_object())
      if (auto p = j["linux"].value("cgroupsPath", ""); !p.empty()) return p;
  }
  std::string parent = e.c.hostConfig.value("CgroupParent", "");
  return "/" + (parent.empty() ? cfg_.cgroupParent : parent) + "/" + e.c.id;
}

Result<> ServiceImpl::stats(const std::string& ref, bool stream, bool oneShot, StreamWriter& out) {
  std::string id, name, cgPath;
  bool running;
  int pid;
  {
    std::lock_guard lk(mu_);
    TRY_ASSIGN(auto e, getLocked(ref));
    id = e->c.id;
    name = e->c.name;
    running = e->c.state.status == State::Running || e->c.state.status == State::Paused;
    pid = e->c.state.pid;
    cgPath = cgroupPathOf(*e);
  }
  CgroupInfo cg(cfg_.cgroupRoot, cgPath);
  uint64_t hostMem = hostMemoryBytes();
  auto sampleNow = [&](CgroupSample& s, uint64_t& sys, int64_t& at) {
    at = nowNanos();
    sys = systemNow();
    auto r = cg.sample();
    if (r) s = std::move(*r);
    return bool(r);
  };
  auto emit = [&](const CgroupSample& cur, uint64_t sys, int64_t at, const CgroupSample* pre, uint64_t psys,
                  int64_t pat) {
    json doc = statsJson(id, name, cur, sys, at, pre, psys, pat, onlineCpus(), hostMem, cg.v2());
    doc["networks"] = networksOf(pid);
    return out.writeJsonLine(doc);
  };
  if (!running) {
    // Docker answers a stopped container with one zeroed document.
    CgroupSample zero;
    json doc = statsJson(id, name, zero, 0, 0, nullptr, 0, 0, 0, 0, cg.v2());
    doc["memory_stats"] = json::object();
    out.writeJsonLine(doc);
    return {};
  }
  CgroupSample pre, cur;
  uint64_t psys = 0, sys = 0;
  int64_t pat = 0, at = 0;
  bool havePre = sampleNow(pre, psys, pat);
  if (!stream && oneShot) {
    emit(pre, psys, pat, nullptr, 0, 0);
    return {};
  }
  if (stream && !emit(pre, psys, pat, nullptr, 0, 0)) return {};
  for (;;) {
    for (int i = 0; i < 10; i++) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (out.clientGone()) return {};
    }
    if (!sampleNow(cur, sys, at)) {
      // The container is gone: a last zeroed document like Docker's end of stream.
      return {};
    }
    if (!emit(cur, sys, at, havePre ? &pre : nullptr, psys, pat)) return {};
    if (!stream) return {};
    pre = std::move(cur);
    psys = sys;
    pat = at;
    havePre = true;
    std::lock_guard lk(mu_);
    auto e = findLocked(id);
    if (!e || (e->c.state.status != State::Running && e->c.state.status != State::Paused)) return {};
  }
}

Result<TopResult> ServiceImpl::top(const std::string& ref, const std::string& psArgs) {
  std::string id, cgPath;
  {
    std::lock_guard lk(mu_);
    TRY_ASSIGN(auto e, getLocked(ref));
    id = e->c.id;
    if (e->c.state.status != State::Running && e->c.state.status != State::Paused)
      return errorf(Code::Conflict, "Container {} is not running", id);
    cgPath = cgroupPathOf(*e);
  }
  CgroupInfo cg(cfg_.cgroupRoot, cgPath);
  TRY_ASSIGN(auto pids, cg.pids());
  std::vector<std::string> args;
  for (const auto& a : split(psArgs.empty() ? std::string("-ef") : psArgs, ' '))
    if (!a.empty()) args.push_back(a);
  TRY_ASSIGN(std::string text, runPs(args));
  auto lines = split(text, '\n');
  if (lines.empty()) return makeError(Code::Internal, "Error running ps: no output");
  std::vector<std::string> titles;
  for (const auto& t : split(lines[0], ' '))
    if (!t.empty()) titles.push_back(t);
  int pidCol = -1;
  for (size_t i = 0; i < titles.size(); i++)
    if (titles[i] == "PID") pidCol = int(i);
  if (pidCol < 0) return makeError(Code::Internal, "Couldn't find PID field in ps output");
  TopResult out;
  out.titles = titles;
  for (size_t li = 1; li < lines.size(); li++) {
    const std::string& line = lines[li];
    if (trim(line).empty()) continue;
    // the last column (the command) keeps its spaces
    std::vector<std::string> fields;
    size_t pos = 0;
    while (fields.size() + 1 < titles.size()) {
      while (pos < line.size() && line[pos] == ' ') pos++;
      size_t end = line.find(' ', pos);
      if (end == std::string::npos) end = line.size();
      fields.push_back(line.substr(pos, end - pos));
      pos = end;
    }
    while (pos < line.size() && line[pos] == ' ') pos++;
    fields.push_back(line.substr(std::min(pos, line.size())));
    if (int(fields.size()) <= pidCol) continue;
    auto p = parseNumber<pid_t>(fields[size_t(pidCol)]);
    if (!p || std::find(pids.begin(), pids.end(), *p) == pids.end()) continue;
    out.processes.push_back(std::move(fields));
  }
  return out;
}

Result<> ServiceImpl::setPaused(const std::string& ref, bool pause, bool forCommit) {
  std::unique_lock lk(mu_);
  TRY_ASSIGN(auto e, getLocked(ref));
  std::string id = e->c.id;
  State st = e->c.state.status;
  if (pause) {
    if (st == State::Paused) return errorf(Code::Conflict, "Container {} is already paused", id);
    if (st != State::Running) return errorf(Code::Conflict, "Container {} is not running", id);
  } else {
    if (st != State::Paused) return errorf(Code::Conflict, "Container {} is not paused", id);
  }
  CgroupInfo cg(cfg_.cgroupRoot, cgroupPathOf(*e));
  if (pause && forCommit) {
    // Recorded before the freeze: a crash from here on is thawed by restore.
    e->c.state.commitFreeze = true;
    (void)saveLocked(*e);
  }
  if (auto r = cg.freeze(pause); !r) {
    if (e->c.state.commitFreeze && pause) {
      e->c.state.commitFreeze = false;
      (void)saveLocked(*e);
    }
    return r;
  }
  recordLocked(*e, pause ? State::Paused : State::Running);
  if (!pause) e->c.state.commitFreeze = false;
  (void)saveLocked(*e);
  json attrs = eventAttrs(*e);
  lk.unlock();
  emit_("container", pause ? "pause" : "unpause", id, attrs);
  return {};
}

Result<> ServiceImpl::pause(const std::string& ref) { return setPaused(ref, true); }
Result<> ServiceImpl::unpause(const std::string& ref) { return setPaused(ref, false); }

void ServiceImpl::thawIfPausedLocked(Entry& e) {
  if (e.c.state.status != State::Paused) return;
  CgroupInfo cg(cfg_.cgroupRoot, cgroupPathOf(e));
  if (cg.freeze(false)) {
    recordLocked(e, State::Running);
    e.c.state.commitFreeze = false;
  }
}

Result<UpdateResult> ServiceImpl::update(const std::string& ref, const UpdateRequest& req) {
  const json& body = req.body;
  if (!body.is_object()) return makeError(Code::InvalidArgument, "invalid update body");
  std::unique_lock lk(mu_);
  TRY_ASSIGN(auto e, getLocked(ref));
  dropWarmLocked(lk, *e);  // set up with the old limits
  if (e->removed) return errorf(Code::NotFound, "No such container: {}", ref);
  json hc = e->c.hostConfig;
  static const char* kFields[] = {"Memory",   "MemorySwap", "MemoryReservation", "NanoCpus",   "CpuShares",
                                  "CpuPeriod", "CpuQuota",  "CpusetCpus",        "CpusetMems", "PidsLimit",
                                  "BlkioWeight"};
  json changed = json::object();
  for (const char* k : kFields) {
    auto it = body.find(k);
    if (it == body.end() || it->is_null()) continue;
    // The docker CLI sends zero for flags not given: zero keeps the current value.
    if (it->is_number_integer() && it->get<int64_t>() == 0) continue;
    if (it->is_string() && it->get<std::string>().empty()) continue;
    hc[k] = *it;
    changed[k] = *it;
  }
  if (auto rp = body.find("RestartPolicy"); rp != body.end() && rp->is_object() && !rp->value("Name", "").empty())
    hc["RestartPolicy"] = *rp;
  if (changed.contains("Memory") && !changed.contains("MemorySwap") && hc.value("MemorySwap", int64_t(0)) > 0 &&
      hc.value("MemorySwap", int64_t(0)) < hc.value("Memory", int64_t(0)))
    return makeError(Code::InvalidArgument,
                     "Cannot update container: Memory limit should be smaller than already set memoryswap limit, "
                     "update the memoryswap at the same time");
  if (changed.contains("NanoCpus")) {
    hc["CpuPeriod"] = 0;
    hc["CpuQuota"] = 0;
  }
  TRY(validateHostConfig(hc, onlineCpus()));
  bool running = e->c.state.status == State::Running || e->c.state.status == State::Paused;
  if (running && !changed.empty()) {
    json res = resourcesFor(hc);
    // Only the fields asked for: rewriting the others could fail for no reason.
    json only = json::object();
    if (changed.contains("Memory") || changed.contains("MemorySwap")) {
      if (res.contains("memory")) {
        only["memory"] = res["memory"];
        only["memory"].erase("reservation");
      }
    }
    if (changed.contains("MemoryReservation") && res.contains("memory")) only["memory"]["reservation"] = res["memory"]["reservation"];
    if (changed.contains("NanoCpus") || changed.contains("CpuQuota") || changed.contains("CpuPeriod")) {
      if (res.contains("cpu") && res["cpu"].contains("quota")) only["cpu"]["quota"] = res["cpu"]["quota"];
      if (res.contains("cpu") && res["cpu"].contains("period")) only["cpu"]["period"] = res["cpu"]["period"];
    }
    if (changed.contains("CpuShares") && res.contains("cpu")) only["cpu"]["shares"] = res["cpu"]["shares"];
    if (changed.contains("CpusetCpus") && res.contains("cpu")) only["cpu"]["cpus"] = res["cpu"]["cpus"];
    if (changed.contains("PidsLimit") && res.contains("pids")) only["pids"] = res["pids"];
    if (changed.contains("BlkioWeight") && res.contains("blockIO")) only["blockIO"] = res["blockIO"];
    CgroupInfo cg(cfg_.cgroupRoot, cgroupPathOf(*e));
    if (auto r = cg.update(only); !r)
      return errorf(Code::InvalidArgument, "Cannot update container {}: {}", e->c.id, r.error().message);
  }
  e->c.hostConfig = hc;
  TRY(saveLocked(*e));
  json attrs = eventAttrs(*e);
  std::string id = e->c.id;
  lk.unlock();
  emit_("container", "update", id, attrs);
  return UpdateResult{};
}

}  // namespace berth::container
