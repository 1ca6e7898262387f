// Registries: login, logout, search (the daemon talks to the registry;
// credentials live in the docker CLI's config.json, cli/registry_auth.h).

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/format/table.h"
#include "cli/registry_auth.h"
#include "common/util.h"

namespace berth::cli {

namespace {

using json = nlohmann::json;

// "https://index.docker.io/v1/" and friends -> "docker.io"; else the host.
std::string serverDomain(const std::string& server) {
  std::string s = server;
  if (auto p = s.find("://"); p != std::string::npos) s = s.substr(p + 3);
  s = s.substr(0, s.find('/'));
  if (s.empty() || s == "index.docker.io" || s == "registry-1.docker.io" || s == "docker.io") return "docker.io";
  return s;
}

int cmdLogin(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  std::string server = args.empty() ? "" : args[0];
  std::string domain = serverDomain(server);
  std::string user = f.getString("username"), pass = f.getString("password");
  if (!pass.empty()) err(ctx, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
  if (f.getBool("password-stdin")) {
    if (!pass.empty()) {
      err(ctx, "--password and --password-stdin are mutually exclusive\n");
      return kExitFailure;
    }
    if (user.empty()) {
      err(ctx, "Must provide --username with --password-stdin\n");
      return kExitFailure;
    }
    char buf[4096];
    ssize_t n;
    while ((n = ::read(ctx.in, buf, sizeof buf)) > 0) pass.append(buf, size_t(n));
    while (!pass.empty() && (pass.back() == '\n' || pass.back() == '\r')) pass.pop_back();
  }
  if (user.empty() || pass.empty()) {
    StoredAuth a = loadAuth(domain);
    if (user.empty()) user = a.username;
    if (pass.empty() && user == a.username) pass = a.password;
  }
  if (user.empty() || pass.empty()) {
    err(ctx, "Error: Cannot perform an interactive login from a non TTY device\n");
    return kExitFailure;
  }
  json body = {{"username", user}, {"password", pass}, {"serveraddress", authKey(domain)}};
  auto r = ctx.client.callOk("POST", "/auth", body.dump(), "application/json");
  if (!r) return reportError(ctx, r.error());
  auto saved = saveAuth(domain, user, pass);
  if (!saved) {
    err(ctx, "Error saving credentials: " + saved.error().message + "\n");
    return kExitFailure;
  }
  if (!saved->empty())
    err(ctx, "WARNING! Your credentials are stored unencrypted in '" + *saved +
                 "'.\nConfigure a credential helper to remove this warning. See\n"
                 "https://docs.docker.com/go/credential-store/\n\n");
  out(ctx, "Login Succeeded\n");
  return 0;
}

int cmdLogout(Context& ctx, const FlagSet&, const std::vector<std::string>& args) {
  std::string domain = serverDomain(args.empty() ? "" : args[0]);
  std::string key = authKey(domain);
  auto r = eraseAuth(domain);
  if (!r && r.error().code == Code::NotFound) {
    out(ctx, "Not logged in to " + key + "\n");
    return 0;
  }
  if (!r) return reportError(ctx, r.error());
  out(ctx, "Removing login credentials for " + key + "\n");
  return 0;
}

int cmdSearch(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  Query q;
  q.add("term", args[0]);
  int64_t limit = f.getInt("limit");
  if (limit != 0) q.add("limit", std::to_string(limit));
  if (!f.getList("filter").empty()) {
    auto fj = filtersJson(f.getList("filter"));
    if (!fj) return reportError(ctx, fj.error());
    q.add("filters", *fj);
  }
  auto r = ctx.client.callOk("GET", "/images/search" + q.str());
  if (!r) return reportError(ctx, r.error());
  json j = json::parse(r->body, nullptr, false);
  format::Table t;
  t.addRow({"NAME", "DESCRIPTION", "STARS", "OFFICIAL"});
  if (j.is_array()) {
    for (auto& e : j) {
      std::string desc = e.value("description", "");
      if (!f.getBool("no-trunc") && format::runeCount(desc) > 45) desc = desc.substr(0, 44) + "…";
      t.addRow({e.value("name", ""), desc, std::to_string(e.value("star_count", 0)),
                e.value("is_official", false) ? "[OK]" : ""});
    }
  }
  out(ctx, t.render());
  return 0;
}

void flagsLogin(FlagSet& f) {
  f.addString("password", 'p', "Password or Personal Access Token (PAT)");
  f.addBool("password-stdin", 0, "Take the Password or Personal Access Token (PAT) from stdin");
  f.addString("username", 'u', "Username");
}
void flagsSearch(FlagSet& f) {
  f.addList("filter", 'f', "Filter output based on conditions provided", "filter");
  f.addString("format", 0, "Pretty-print search using a Go template");
  f.addInt("limit", 0, "Max number of search results", 0);
  f.addBool("no-trunc", 0, "Don't truncate output");
}

}  // namespace

std::vector<Command> registryCommands() {
  std::vector<Command> v;
  v.push_back({"", {"login"}, {}, "[OPTIONS] [SERVER]",
               "Authenticate to a registry.\nDefaults to Docker Hub if no server is specified.", ArgRule::Range, 0, 1,
               true, flagsLogin, cmdLogin});
  v.push_back({"", {"logout"}, {}, "[SERVER]",
               "Log out from a registry.\nIf no server is specified, the default is defined by the daemon.",
               ArgRule::Range, 0, 1, true, nullptr, cmdLogout});
  v.push_back({"", {"search"}, {}, "[OPTIONS] TERM", "Search Docker Hub for images", ArgRule::Exact, 1, 0, true,
               flagsSearch, cmdSearch});
  return v;
}

}  // namespace berth::cli
