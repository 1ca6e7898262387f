#include "cli/app.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/format/template.h"
#include "cli/stdio.h"
#include "common/util.h"

namespace berth::cli {

namespace {

struct Group {
  std::string name;
  std::string shortHelp;
  std::string longHelp = "";  // the group's own help page when it differs from shortHelp
};

// docker's section for a command it marks experimental (`manifest`),
// with the command's path ("berth manifest create").
std::string experimentalSection(const std::string& path) {
  return fmt::format(
      "\nEXPERIMENTAL:\n  {} is an experimental feature.\n"
      "  Experimental features provide early access to product functionality. These\n"
      "  features may change between releases without warning, or can be removed from a\n"
      "  future release. Learn more about experimental features in our documentation:\n"
      "  https://docs.docker.com/go/experimental/\n",
      path);
}

const std::vector<Group>& groups() {
  static const std::vector<Group> kGroups = {
      {"builder", "Manage builds"},
      {"container", "Manage containers"},
      {"context", "Manage contexts"},
      {"image", "Manage images"},
      {"manifest", "Manage Docker image manifests and manifest lists",
       "The **{0} manifest** command has subcommands for managing image manifests and\n"
       "manifest lists. A manifest list allows you to use one name to refer to the same image\n"
       "built for multiple architectures.\n\n"
       "To see help for a subcommand, use:\n\n"
       "    {0} manifest CMD --help\n\n"
       "For full details on using {0} manifest lists, see the registry v2 specification."},
      {"network", "Manage networks"},
      {"system", "Manage berth"},
      {"volume", "Manage volumes"},
  };
  return kGroups;
}

// docker's cli.Wrap width: terminal width of stdin minus one, or 79.
int helpColumns() {
  winsize ws{};
  if (::ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col - 1;
  return 79;
}

std::string plural(int n) { return n == 1 ? "argument" : "arguments"; }

std::string commandHelp(const Command& c, const std::string& path, const FlagSet& flags,
                        const std::string& prog) {
  std::string s = fmt::format("Usage:  {}{}{}\n\n{}\n", path, c.use.empty() ? "" : " ", c.use, c.shortHelp);
  if (c.group == "manifest") s += experimentalSection(path);
  std::vector<std::string> aliases;
  if (!c.group.empty())
    for (auto& n : c.names) aliases.push_back(fmt::format("{} {} {}", prog, c.group, n));
  for (auto& t : c.topLevel) aliases.push_back(fmt::format("{} {}", prog, t));
  if (aliases.size() > 1) {
    s += "\nAliases:\n  ";
    for (size_t i = 0; i < aliases.size(); ++i) s += (i ? ", " : "") + aliases[i];
    s += "\n";
  }
  if (!flags.empty()) s += "\nOptions:\n" + flags.usages(helpColumns());
  return s;
}

// cobra's Short of a command whose help text has several lines (docker's
// Long, "Authenticate to a registry.\nDefaults to ..."): its first line
// without the final period, as command lists show it.
std::string listedHelp(const std::string& help) {
  auto nl = help.find('\n');
  if (nl == std::string::npos) return help;
  std::string first = help.substr(0, nl);
  if (!first.empty() && first.back() == '.') first.pop_back();
  return first;
}

std::string rootUsage(const std::vector<Command>& cmds, const std::string& prog) {
  std::string s = fmt::format("Usage:  {} [OPTIONS] COMMAND\n\nA self-sufficient runtime for containers\n",
                              prog);
  auto line = [](const std::string& name, const std::string& help) {
    return fmt::format("  {:<11} {}\n", name, listedHelp(help));
  };
  s += "\nCommon Commands:\n";
  // docker's order (cli/command/commands: the "category-top" annotations)
  static const char* kCommon[] = {"run",   "exec",   "ps",     "build",   "pull", "push",
                                  "images", "login", "logout", "search", "version", "info"};
  for (const char* name : kCommon)
    for (auto& c : cmds)
      if (std::find(c.topLevel.begin(), c.topLevel.end(), name) != c.topLevel.end() ||
          (c.group.empty() && c.names[0] == name))
        s += line(name, c.shortHelp);
  s += "\nManagement Commands:\n";
  for (auto& g : groups()) s += line(g.name, g.shortHelp);
  s += "\nCommands:\n";
  std::vector<std::pair<std::string, std::string>> rest;
  for (auto& c : cmds) {
    auto names = c.topLevel;
    if (c.group.empty()) names.push_back(c.names[0]);
    for (auto& n : names) {
      bool common = false;
      for (const char* k : kCommon) common |= n == k;
      if (!common) rest.emplace_back(n, c.shortHelp);
    }
  }
  std::sort(rest.begin(), rest.end());
  for (auto& [n, h] : rest) s += line(n, h);
  s += "\nGlobal Options:\n";
  FlagSet g;
  g.addString("config", 0, "Location of client config files", "");
  g.addString("context", 'c',
              "Name of the context to use to connect to the daemon (overrides DOCKER_HOST env var and default "
              "context set with \"berth context use\")");
  g.addBool("debug", 'D', "Enable debug mode");
  g.addList("host", 'H', "Daemon socket to connect to");
  g.addString("log-level", 'l',
              "Set the logging level (\"debug\", \"info\", \"warn\", \"error\", \"fatal\")", "info");
  g.addBool("version", 'v', "Print version information and quit");
  s += g.usages(helpColumns());
  s += fmt::format("\nRun '{} COMMAND --help' for more information on a command.\n", prog);
  return s;
}

std::string groupUsage(const Group& g, const std::vector<Command>& cmds, const std::string& prog) {
  std::string text = g.longHelp.empty() ? g.shortHelp : fmt::format(fmt::runtime(g.longHelp), prog);
  std::string s = fmt::format("Usage:  {} {} COMMAND\n\n{}\n", prog, g.name, text);
  if (g.name == "manifest") s += experimentalSection(prog + " manifest");
  s += "\nCommands:\n";
  std::vector<std::pair<std::string, std::string>> subs;
  for (auto& c : cmds)
    if (c.group == g.name && !c.hidden) subs.emplace_back(c.names[0], listedHelp(c.shortHelp));
  std::sort(subs.begin(), subs.end());
  for (auto& [n, h] : subs) s += fmt::format("  {:<11} {}\n", n, h);
  s += fmt::format("\nRun '{} {} COMMAND --help' for more information on a command.\n", prog, g.name);
  return s;
}

// What runCommand needs besides the command line: the global inputs of
// the endpoint choice and the config directory.
struct Globals {
  EndpointInputs endpoint;
  std::string configDir;
};

int runCommand(const Command& c, const std::string& path, const std::vector<std::string>& args,
               const AppEnv& env, const Globals& g, const std::string& prog) {
  FlagSet flags;
  flags.setInterspersed(c.interspersed);
  if (c.flags) c.flags(flags);
  auto usageLine = fmt::format("Usage:  {}{}{}", path, c.use.empty() ? "" : " ", c.use);
  auto parsed = flags.parse(args);
  if (!parsed) {
    writeFd(env.err, fmt::format("{}\n\n{}\n\nRun '{} --help' for more information\n",
                                 parsed.error().message, usageLine, path));
    return kExitRunFailure;
  }
  if (flags.helpRequested()) {
    writeFd(env.out, commandHelp(c, path, flags, prog));
    return 0;
  }
  const auto& pos = *parsed;
  int n = int(pos.size());
  std::string argErr;
  const char* verb = "See";
  switch (c.rule) {
    case ArgRule::Any: break;
    case ArgRule::None:
      if (n != 0) argErr = "accepts no arguments", verb = "Run";
      break;
    case ArgRule::Exact:
      if (n != c.nargs) argErr = fmt::format("requires {} {}", c.nargs, plural(c.nargs)), verb = "Run";
      break;
    case ArgRule::Min:
      if (n < c.nargs) argErr = fmt::format("requires at least {} {}", c.nargs, plural(c.nargs));
      break;
    case ArgRule::Range:
      if (n < c.nargs || n > c.maxArgs)
        argErr = fmt::format("requires at least {} and at most {} {}", c.nargs, c.maxArgs,
                             plural(c.maxArgs));
      break;
  }
  if (!argErr.empty()) {
    writeFd(env.err, fmt::format("{}: '{}' {}\n\n{}\n\n{} '{} --help' for more information\n", prog,
                                 path, argErr, usageLine, verb, path));
    return kExitFailure;
  }
  // The context commands work on the store whatever the current context
  // is (a broken one must stay fixable): they never resolve the endpoint.
  ContextStore store(g.configDir);
  Endpoint ep{kDefaultContextName, defaultContextHost(g.endpoint), g.endpoint.tls};
  if (c.group != "context") {
    auto r = resolveEndpoint(g.endpoint, store);
    if (!r) {
      bool conflict = r.error().code == Code::InvalidArgument && !g.endpoint.contextFlag.empty() &&
                      !g.endpoint.hosts.empty();
      writeFd(env.err, (conflict ? "" : "Failed to initialize: unable to resolve docker endpoint: ") +
                           r.error().message + "\n");
      return kExitFailure;
    }
    ep = std::move(*r);
  }
  auto client = Client::create(ep.host, ep.tls);
  if (!client) {
    writeFd(env.err, client.error().message + "\n");
    return kExitFailure;
  }
  Context ctx{*client, env.in, env.out, env.err, path, prog, int64_t(::time(nullptr))};
  ctx.contextName = ep.contextName;
  ctx.configDir = g.configDir;
  ctx.endpoint = &g.endpoint;
  return c.run(ctx, flags, pos);
}

}  // namespace

int runApp(const AppEnv& env) {
  const std::string prog = "berth";
  std::vector<Command> cmds = containerCommands();
  for (auto&& v : {imageCommands(), systemCommands(), changesCommands(), volumeCommands(), networkCommands(),
                         registryCommands(), resourceCommands(), manifestCommands(), buildCommands(),
                         contextCommands(), dialStdioCommands()}) cmds.insert(cmds.end(), v.begin(), v.end());

  FlagSet global;
  global.setInterspersed(false);
  global.addString("config", 0, "Location of client config files");
  global.addString("context", 'c', "Name of the context to use to connect to the daemon");
  global.addBool("debug", 'D', "Enable debug mode");
  global.addList("host", 'H', "Daemon socket to connect to");
  global.addString("log-level", 'l', "Set the logging level", "info");
  global.addBool("tls", 0, "Use TLS; implied by --tlsverify");
  global.addString("tlscacert", 0, "Trust certs signed only by this CA");
  global.addString("tlscert", 0, "Path to TLS certificate file");
  global.addString("tlskey", 0, "Path to TLS key file");
  global.addBool("tlsverify", 0, "Use TLS and verify the remote");
  global.addBool("version", 'v', "Print version information and quit");
  auto parsed = global.parse(env.args);
  if (!parsed) {
    writeFd(env.err, fmt::format("{}\n\nUsage:  {} [OPTIONS] COMMAND\n\nRun '{} --help' for more information\n",
                                 parsed.error().message, prog, prog));
    return kExitRunFailure;
  }
  if (global.helpRequested()) {
    writeFd(env.out, rootUsage(cmds, prog));
    return 0;
  }
  if (global.getBool("version")) {
    writeFd(env.out, "berth version 0.1.0, build berth\n");
    return 0;
  }
  Globals gl;
  gl.endpoint.hosts = global.getList("host");
  gl.endpoint.contextFlag = global.getString("context");
  gl.endpoint.envHost = !env.berthHost.empty() ? env.berthHost : env.dockerHost;
  gl.endpoint.envContext = env.dockerContext;
  gl.configDir = !global.getString("config").empty() ? global.getString("config")
                : !env.dockerConfig.empty()        ? env.dockerConfig
                                                   : env.home + "/.docker";
  // TLS as the docker CLI reads it (used for tcp:// hosts only).
  TlsClientOptions& tls = gl.endpoint.tls;
  tls.verify = global.getBool("tlsverify") || (!global.changed("tlsverify") && !env.dockerTlsVerify.empty());
  tls.tls = global.getBool("tls") || tls.verify;
  std::string certDir = !env.dockerCertPath.empty() ? env.dockerCertPath : env.home + "/.docker";
  auto certFlag = [&](const char* name, const char* file) {
    std::string v = global.getString(name);
    return v.empty() ? certDir + "/" + file : v;
  };
  tls.caFile = certFlag("tlscacert", "ca.pem");
  tls.certFile = certFlag("tlscert", "cert.pem");
  tls.keyFile = certFlag("tlskey", "key.pem");

  std::vector<std::string> rest = *parsed;
  if (rest.empty()) {
    writeFd(env.err, rootUsage(cmds, prog));
    return 0;
  }
  const std::string word = rest[0];
  for (auto& g : groups()) {
    if (g.name != word) continue;
    if (rest.size() == 1) {
      writeFd(env.err, groupUsage(g, cmds, prog));
      return 0;
    }
    const std::string& sub = rest[1];
    if (sub == "--help" || sub == "-h") {
      writeFd(env.out, groupUsage(g, cmds, prog));
      return 0;
    }
    for (auto& c : cmds) {
      if (c.group != g.name) continue;
      if (std::find(c.names.begin(), c.names.end(), sub) != c.names.end())
        return runCommand(c, fmt::format("{} {} {}", prog, g.name, sub),
                          std::vector<std::string>(rest.begin() + 2, rest.end()), env, gl, prog);
    }
    writeFd(env.err, fmt::format("{}: unknown command: {} {} {}\n\nUsage:  {} {}\n\nRun '{} {} --help' "
                                 "for more information\n",
                                 prog, prog, g.name, sub, prog, g.name, prog, g.name));
    return kExitFailure;
  }
  if (word == "help") {
    writeFd(env.out, rootUsage(cmds, prog));
    return 0;
  }
  for (auto& c : cmds) {
    bool match = std::find(c.topLevel.begin(), c.topLevel.end(), word) != c.topLevel.end() ||
                 (c.group.empty() && c.names[0] == word);
    if (match)
      return runCommand(c, fmt::format("{} {}", prog, word),
                        std::vector<std::string>(rest.begin() + 1, rest.end()), env, gl, prog);
  }
  writeFd(env.err, fmt::format("{}: unknown command: {} {}\n\nRun '{} --help' for more information\n",
                               prog, prog, word, prog));
  return kExitFailure;
}

// ------------------------------------------------------------ shared helpers

void printError(Context& ctx, const Error& e) { writeFd(ctx.err, e.message + "\n"); }

int reportError(Context& ctx, const Error& e, ExitContext context) {
  printError(ctx, e);
  return exitCodeFor(e, context);
}

std::unique_ptr<Connection> openGetStream(Context& ctx, const std::string& path, std::string_view what) {
  auto s = ctx.client.stream("GET", path);
  if (!s) {
    printError(ctx, s.error());
    return nullptr;
  }
  auto& [conn, head] = *s;
  if (head.status != 200) {
    auto b = conn->readAllBody();
    head.body = b ? *b : "";
    err(ctx, "Error response from daemon: " + daemonMessage(head, "GET", what) + "\n");
    return nullptr;
  }
  return std::move(conn);
}

bool confirm(Context& ctx, std::string_view warning) {
  out(ctx, std::string(warning) + "\nAre you sure you want to continue? [y/N] ");
  std::string line;
  char c;
  while (line.size() < 64 && ::read(ctx.in, &c, 1) == 1 && c != '\n') line.push_back(c);
  auto answer = toLower(trim(line));
  return answer == "y" || answer == "yes";
}

Result<std::string> filtersJson(const std::vector<std::string>& filters) {
  nlohmann::json m = nlohmann::json::object();
  for (const auto& fl : filters) {
    auto eq = fl.find('=');
    if (eq == std::string::npos)
      return errorf(Code::InvalidArgument, "bad format of filter (expected name=value)");
    m[trim(toLower(fl.substr(0, eq)))][fl.substr(eq + 1)] = true;
  }
  return m.dump();
}

Result<std::string> filtersQuery(const std::vector<std::string>& filters) {
  if (filters.empty()) return std::string();
  TRY_ASSIGN(std::string fj, filtersJson(filters));
  return Query().add("filters", fj).str();
}

int inspectPaths(Context& ctx, const std::vector<std::string>& paths, const std::string& format) {
  std::vector<std::string> raws, errors;
  for (const auto& p : paths) {
    auto r = ctx.client.callOk("GET", p);
    if (r) raws.push_back(r->body);
    else errors.push_back(r.error().message);
  }
  int rc = printInspect(ctx, raws, format);
  for (auto& e : errors) err(ctx, e + "\n");
  return errors.empty() ? rc : 1;
}

int printInspect(Context& ctx, const std::vector<std::string>& raws, const std::string& fmtIn) {
  std::string fmtStr = fmtIn;
  if (fmtStr.empty() || fmtStr == "json") {
    nlohmann::ordered_json arr = nlohmann::ordered_json::array();
    for (auto& r : raws) arr.push_back(nlohmann::ordered_json::parse(r, nullptr, false));
    out(ctx, arr.dump(4, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    return 0;
  }
  auto t = format::Template::parse(format::prepareFormat(fmtStr));
  if (!t) {
    err(ctx, "template parsing error: " + t.error().message + "\n");
    return kExitFailure;
  }
  for (auto& r : raws) {
    auto j = nlohmann::json::parse(r, nullptr, false);
    auto s = t->execute(j);
    if (!s) return reportError(ctx, s.error());
    out(ctx, *s + "\n");
  }
  return 0;
}

void out(Context& ctx, std::string_view s) { writeFd(ctx.out, s); }
void err(Context& ctx, std::string_view s) { writeFd(ctx.err, s); }

std::string formatFlagHelp(bool withTable) {
  std::string s = "Format output using a custom template:\n";
  if (withTable)
    s +=
        "'table':            Print output in table format with column headers (default)\n"
        "'table TEMPLATE':   Print output in table format using the given Go template\n";
  s +=
      "'json':             Print in JSON format\n"
      "'TEMPLATE':         Print output using the given Go template.\n"
      "Refer to https://docs.docker.com/go/formatting/ for more information about formatting "
      "output with templates";
  return s;
}

}  // namespace berth::cli
