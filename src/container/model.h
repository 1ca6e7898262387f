#pragma once
// The container model: one explicit state machine (STYLE.md 12) and the
// record persisted in SQLite (containers table: config + state JSON).

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::container {

using json = nlohmann::json;

enum class State { Created, Running, Paused, Restarting, Removing, Exited, Dead };

const char* stateName(State s);  // Docker's State.Status strings
Result<State> parseState(std::string_view s);
// The transition table: exactly the moves the container service makes.
//   Created    -> Running, Removing
//   Running    -> Paused, Restarting, Exited
//   Paused     -> Running, Restarting, Exited
//   Restarting -> Running, Exited
//   Exited     -> Running, Restarting, Removing
//   Removing   -> Dead
//   Dead       -> Removing
bool canTransition(State from, State to);

struct ContainerState;
// The one way a container's status changes: sets s.status = to, or answers
// Conflict ("cannot move container from X to Y") and leaves s unchanged.
Result<> transition(ContainerState& s, State to);

struct ContainerState {
  State status = State::Created;
  int pid = 0;
  int monitorPid = 0;
  int exitCode = 0;
  std::string error;
  bool oomKilled = false;
  int64_t startedAt = 0;   // unix nanos, 0 = never
  int64_t finishedAt = 0;
  int restartCount = 0;
  bool stoppedByUser = false;  // a manual stop: restart policies must not undo it
  std::string sandboxKey;      // the network namespace's path while it exists ("" = none)
  // Paused by berth for a commit, not by the user: berthd's restore thaws
  // it (a crash in the middle of a commit must not leave it frozen).
  bool commitFreeze = false;
  json health;                 // container/health.h Health::toRecord(); null = no healthcheck

  json toJson() const;
  static ContainerState fromJson(const json& j);
};

struct Container {
  std::string id;        // 64 hex
  std::string name;      // without the leading '/'
  std::string imageId;   // sha256:...
  int64_t created = 0;   // unix nanos
  std::string path;      // entrypoint/cmd head
  std::vector<std::string> args;
  json config;           // Docker's Config, image defaults merged
  json hostConfig;       // Docker's HostConfig, defaults filled
  json mountPoints = json::array();  // container/mounts.h MountPoint::toJson() each
  // The networks asked for (container/networking.h): network name ->
  // Docker's EndpointSettings with NetworkID. Kept while stopped; the live
  // endpoints belong to the network service.
  json networks = json::object();
  // A network namespace to join by path instead of making one (the CRI's pod
  // sandboxes: a namespace pinned before the pause starts, CNI running
  // meanwhile). Only with NetworkMode "none"; "" = none. Set only through
  // CreateRequest::netnsPath, never from an Engine API body; persisted as
  // "NetnsPath" beside (not inside) HostConfig.
  std::string netnsPath;
  ContainerState state;
  std::vector<std::string> execIds;

  std::string shortId() const { return id.substr(0, 12); }
  bool tty() const { return config.value("Tty", false); }
  // The persisted "config" column (everything but state).
  json configDoc() const;
  static Result<Container> fromRow(const std::string& id, const std::string& name, const std::string& imageId,
                                   int64_t created, const std::string& configText, const std::string& stateText);
};

// Docker's ps STATUS text ("Up 3 minutes", "Exited (0) 26 seconds ago", ...).
std::string statusText(const ContainerState& s, int64_t nowNanos);
// go-units HumanDuration.
std::string humanDuration(int64_t seconds);

}  // namespace berth::container
