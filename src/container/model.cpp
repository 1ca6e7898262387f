#include "container/model.h"

#include "common/util.h"

namespace berth::container {

const char* stateName(State s) {
  switch (s) {
    case State::Created: return "created";
    case State::Running: return "running";
    case State::Paused: return "paused";
    case State::Restarting: return "restarting";
    case State::Removing: return "removing";
    case State::Exited: return "exited";
    case State::Dead: return "dead";
  }
  return "dead";
}

Result<State> parseState(std::string_view s) {
  for (State st : {State::Created, State::Running, State::Paused, State::Restarting, State::Removing,
                   State::Exited, State::Dead})
    if (s == stateName(st)) return st;
  return errorf(Code::InvalidArgument, "unknown container state {}", s);
}

bool canTransition(State from, State to) {
  switch (to) {
    case State::Running:
      return from == State::Created || from == State::Exited || from == State::Restarting || from == State::Paused;
    case State::Paused: return from == State::Running;
    case State::Restarting: return from == State::Running || from == State::Paused || from == State::Exited;
    case State::Exited: return from == State::Running || from == State::Paused || from == State::Restarting;
    case State::Removing: return from == State::Created || from == State::Exited || from == State::Dead;
    case State::Dead: return from == State::Removing;
    case State::Created: return false;
  }
  return false;
}

Result<> transition(ContainerState& s, State to) {
  if (!canTransition(s.status, to))
    return errorf(Code::Conflict, "cannot move container from {} to {}", stateName(s.status), stateName(to));
  s.status = to;
  return {};
}

json ContainerState::toJson() const {
  return json{{"Status", stateName(status)}, {"Pid", pid},           {"MonitorPid", monitorPid},
              {"ExitCode", exitCode},        {"Error", error},       {"OOMKilled", oomKilled},
              {"StartedAt", startedAt},      {"FinishedAt", finishedAt}, {"RestartCount", restartCount},
              {"StoppedByUser", stoppedByUser}, {"SandboxKey", sandboxKey}, {"CommitFreeze", commitFreeze},
              {"Health", health}};
}

ContainerState ContainerState::fromJson(const json& j) {
  ContainerState s;
  auto st = parseState(j.value("Status", "created"));
  s.status = st ? *st : State::Dead;
  s.pid = j.value("Pid", 0);
  s.monitorPid = j.value("MonitorPid", 0);
  s.exitCode = j.value("ExitCode", 0);
  s.error = j.value("Error", "");
  s.oomKilled = j.value("OOMKilled", false);
  s.startedAt = j.value("StartedAt", int64_t(0));
  s.finishedAt = j.value("FinishedAt", int64_t(0));
  s.restartCount = j.value("RestartCount", 0);
  s.stoppedByUser = j.value("StoppedByUser", false);
  s.sandboxKey = j.value("SandboxKey", "");
  s.commitFreeze = j.value("CommitFreeze", false);
  s.health = j.value("Health", json(nullptr));
  return s;
}

json Container::configDoc() const {
  json doc{{"Config", config}, {"HostConfig", hostConfig}, {"Path", path}, {"Args", args}};
  if (!mountPoints.empty()) doc["MountPoints"] = mountPoints;
  if (!networks.empty()) doc["Networks"] = networks;
  if (!netnsPath.empty()) doc["NetnsPath"] = netnsPath;
  return doc;
}

Result<Container> Container::fromRow(const std::string& id, const std::string& name, const std::string& imageId,
                                     int64_t created, const std::string& configText,
                                     const std::string& stateText) {
  Container c;
  c.id = id;
  c.name = name;
  c.imageId = imageId;
  c.created = created;
  try {
    json cfg = json::parse(configText);
    c.config = cfg.value("Config", json::object());
    c.hostConfig = cfg.value("HostConfig", json::object());
    c.path = cfg.value("Path", "");
    c.args = cfg.value("Args", std::vector<std::string>{});
    c.mountPoints = cfg.value("MountPoints", json::array());
    c.networks = cfg.value("Networks", json::object());
    c.netnsPath = cfg.value("NetnsPath", "");
    c.state = ContainerState::fromJson(json::parse(stateText));
  } catch (const std::exception& e) {
    return errorf(Code::Internal, "container {}: corrupt record: {}", id, e.what());
  }
  return c;
}

std::string humanDuration(int64_t seconds) { return humanDurationNanos(seconds * 1000000000LL); }

std::string statusText(const ContainerState& s, int64_t now) {
  auto ago = [&](int64_t t) { return humanDuration((now - t) / 1000000000); };
  switch (s.status) {
    case State::Created: return "Created";
    case State::Running:
      if (s.health.is_object()) {
        std::string h = s.health.value("Status", "starting");
        return "Up " + ago(s.startedAt) + " (" + (h == "starting" ? "health: starting" : h) + ")";
      }
      return "Up " + ago(s.startedAt);
    case State::Paused: return "Up " + ago(s.startedAt) + " (Paused)";
    case State::Restarting: return "Restarting (" + std::to_string(s.exitCode) + ") " + ago(s.finishedAt) + " ago";
    case State::Removing: return "Removal In Progress";
    case State::Exited:
      if (s.finishedAt == 0) return "Created";
      return "Exited (" + std::to_string(s.exitCode) + ") " + ago(s.finishedAt) + " ago";
    case State::Dead: return "Dead";
  }
  return "";
}

}  // namespace berth::container
