#include "cli/registry_auth.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/fd.h"
#include "common/util.h"

extern char** environ;

namespace berth::cli {

using json = nlohmann::json;

namespace {

std::string configDir() {
  if (const char* d = std::getenv("DOCKER_CONFIG"); d && *d) return d;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/root") + "/.docker";
}

std::string configPath() { return configDir() + "/config.json"; }

json loadConfig() {
  auto text = readFile(configPath());
  if (!text) return json::object();
  json j = json::parse(*text, nullptr, false);
  return j.is_object() ? j : json::object();
}

}  // namespace

std::string configString(const std::string& key) {
  json cfg = loadConfig();
  auto it = cfg.find(key);
  return it != cfg.end() && it->is_string() ? it->get<std::string>() : std::string();
}

namespace {

// The helper configured for key, or "".
std::string helperFor(const json& cfg, const std::string& key) {
  if (cfg.contains("credHelpers") && cfg["credHelpers"].is_object() && cfg["credHelpers"].contains(key) &&
      cfg["credHelpers"][key].is_string())
    return cfg["credHelpers"][key].get<std::string>();
  if (cfg.contains("credsStore") && cfg["credsStore"].is_string()) return cfg["credsStore"].get<std::string>();
  return "";
}

// Runs docker-credential-<helper> <action> with input on stdin; its stdout.
Result<std::string> runHelper(const std::string& helper, const std::string& action, const std::string& input) {
  std::string prog = "docker-credential-" + helper;
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) return sysError(errno, "pipe");
  UniqueFd inR(in[0]), inW(in[1]), outR(out[0]), outW(out[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, inR.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, outW.get(), 1);
  char* argv[] = {prog.data(), const_cast<char*>(action.c_str()), nullptr};
  pid_t pid;
  int rc = posix_spawnp(&pid, prog.c_str(), &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return sysError(rc, "exec {}", prog);
  inR.reset();
  outW.reset();
  (void)!::write(inW.get(), input.data(), input.size());
  inW.reset();
  std::string result;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(outR.get(), buf, sizeof buf);
    if (n <= 0) break;
    result.append(buf, size_t(n));
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return errorf(Code::Internal, "{} {}: {}", prog, action, trim(result));
  return result;
}

}  // namespace

std::string authKey(const std::string& domain) {
  return domain == "docker.io" || domain == "index.docker.io" ? "https://index.docker.io/v1/" : domain;
}

StoredAuth loadAuth(const std::string& domain) {
  StoredAuth a;
  const std::string key = authKey(domain);
  a.serverAddress = key;
  json cfg = loadConfig();
  if (std::string h = helperFor(cfg, key); !h.empty()) {
    if (auto out = runHelper(h, "get", key)) {
      json j = json::parse(*out, nullptr, false);
      if (j.is_object()) {
        a.username = j.value("Username", "");
        a.password = j.value("Secret", "");
      }
    }
    return a;
  }
  if (cfg.contains("auths") && cfg["auths"].is_object() && cfg["auths"].contains(key) &&
      cfg["auths"][key].is_object()) {
    const json& e = cfg["auths"][key];
    if (auto up = base64Decode(e.value("auth", ""))) {
      auto c = up->find(':');
      if (c != std::string::npos) {
        a.username = up->substr(0, c);
        a.password = up->substr(c + 1);
      }
    }
  }
  return a;
}

std::string registryAuthHeader(const std::string& domain) {
  StoredAuth a = loadAuth(domain);
  if (a.username.empty() && a.password.empty()) return "e30=";
  json j = {{"username", a.username}, {"password", a.password}, {"serveraddress", a.serverAddress}};
  std::string b = base64Encode(j.dump());
  for (auto& c : b) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return b;
}

Result<std::string> saveAuth(const std::string& domain, const std::string& username, const std::string& password) {
  const std::string key = authKey(domain);
  json cfg = loadConfig();
  if (std::string h = helperFor(cfg, key); !h.empty()) {
    json in = {{"ServerURL", key}, {"Username", username}, {"Secret", password}};
    TRY(runHelper(h, "store", in.dump()));
    return std::string();
  }
  if (!cfg.contains("auths") || !cfg["auths"].is_object()) cfg["auths"] = json::object();
  cfg["auths"][key] = {{"auth", base64Encode(username + ":" + password)}};
  TRY(mkdirAll(configDir(), 0700));
  TRY(writeFileAtomic(configPath(), cfg.dump(1, '\t') + "\n", 0600));
  return configPath();
}

Result<> eraseAuth(const std::string& domain) {
  const std::string key = authKey(domain);
  json cfg = loadConfig();
  bool had = cfg.contains("auths") && cfg["auths"].is_object() && cfg["auths"].contains(key);
  if (std::string h = helperFor(cfg, key); !h.empty()) {
    auto r = runHelper(h, "erase", key);
    if (!r && !had) return makeError(Code::NotFound, "not logged in");
  } else if (!had) {
    return makeError(Code::NotFound, "not logged in");
  }
  if (had) {
    cfg["auths"].erase(key);
    TRY(writeFileAtomic(configPath(), cfg.dump(1, '\t') + "\n", 0600));
  }
  return {};
}

}  // namespace berth::cli
