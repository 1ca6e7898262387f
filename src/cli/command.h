#pragma once
// What every berth command is: its place in docker's grammar (management
// group + short forms), flags, argument rule and run function; and the
// context the dispatcher hands it. Command tables are plain values returned
// by containerCommands() & co. and assembled in app.cpp (no static
// registries, STYLE.md 4).

#include <cstdint>
#include <string>
#include <vector>

#include "cli/client.h"
#include "cli/endpoint.h"
#include "cli/exit_code.h"
#include "cli/flags.h"
#include "common/result.h"

namespace berth::cli {

// Exit statuses shared by the commands.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;       // "Error response from daemon: ..."
inline constexpr int kExitRunError = 125;  // run/create daemon or flag errors

struct Context {
  Client& client;
  int in = 0, out = 1, err = 2;
  std::string path;  // the invoked command path: "berth run", "berth container ls"
  std::string prog = "berth";
  int64_t nowSeconds = 0;
  // Where the daemon was chosen from (cli/endpoint.h): the context in use,
  // the config directory (--config, $DOCKER_CONFIG, ~/.docker) and the
  // global inputs, for the context commands. endpoint is never null when
  // the dispatcher built the Context.
  std::string contextName = "default";
  std::string configDir;
  const EndpointInputs* endpoint = nullptr;
};

enum class ArgRule { Any, None, Exact, Min, Range };

struct Command;
using RunFn = int (*)(Context&, const FlagSet&, const std::vector<std::string>& args);
using FlagsFn = void (*)(FlagSet&);

struct Command {
  std::string group;                  // "container", "image", "system", or "" (top level only)
  std::vector<std::string> names;     // names inside the group; [0] is canonical
  std::vector<std::string> topLevel;  // short forms at the top level ("ps", "rmi")
  std::string use;                    // "[OPTIONS] IMAGE [COMMAND] [ARG...]"
  std::string shortHelp;
  ArgRule rule = ArgRule::Any;
  int nargs = 0, maxArgs = 0;
  bool interspersed = true;
  FlagsFn flags = nullptr;
  RunFn run = nullptr;
  bool common = false;  // listed under "Common Commands" at the top level
  bool hidden = false;  // left out of the group's help (system dial-stdio)
};

std::vector<Command> containerCommands();  // includes runCommands()
std::vector<Command> runCommands();
std::vector<Command> imageCommands();
std::vector<Command> systemCommands();
std::vector<Command> changesCommands();  // diff, commit, export, system df
std::vector<Command> volumeCommands();   // volume create, ls, inspect, rm, prune
std::vector<Command> networkCommands();  // network create, ls, inspect, rm, prune, connect, disconnect
std::vector<Command> registryCommands();  // login, logout, search
std::vector<Command> cpCommands();       // cp (cmd_cp.cpp)
std::vector<Command> manifestCommands();  // manifest inspect, create, annotate, push, rm
std::vector<Command> resourceCommands();  // stats, top, pause, unpause, update
std::vector<Command> buildCommands();     // build (image build), builder prune (cmd_build.cpp)
std::vector<Command> contextCommands();   // context create, ls, use, rm, inspect, show (cmd_context.cpp)
std::vector<Command> dialStdioCommands(); // system dial-stdio (cmd_dial_stdio.cpp)

// Shared helpers for command implementations.
// Prints "Error response from daemon: <msg>" (or the bare message for
// transport errors) to ctx.err.
void printError(Context& ctx, const Error& e);
// printError, then the exit status for e (cli/exit_code.h).
int reportError(Context& ctx, const Error& e, ExitContext context = ExitContext::Command);
// GET path on its own connection for a streamed body (logs, export). A
// transport error or a non-200 answer is printed like docker does and
// nullptr comes back.
std::unique_ptr<Connection> openGetStream(Context& ctx, const std::string& path, std::string_view what);
// The docker --format help text.
std::string formatFlagHelp(bool withTable);
// POST /images/create?fromImage=&tag= and renders the JSON-lines progress
// to progressFd like docker on a non-terminal. Errors: the daemon's HTTP
// error ("Error response from daemon: ...") or an in-stream error message.
Result<> pullImage(Context& ctx, const std::string& image, int progressFd, bool quiet);
// docker's PromptForConfirmation: prints "<warning>\nAre you sure you want
// to continue? [y/N] " to ctx.out and reads one line from ctx.in; true for
// "y" or "yes" (any case). EOF or anything else is a no.
bool confirm(Context& ctx, std::string_view warning);
// The same with --platform ("" = the daemon's) and --all-tags.
Result<> pullImage(Context& ctx, const std::string& image, int progressFd, bool quiet, const std::string& platform,
                   bool allTags);
// Filter flags "k=v" into the API's map form {"k":{"v":true}} (keys
// lowercased, as docker's filters.NewArgs). InvalidArgument "bad format of
// filter (expected name=value)" for an entry without "=".
Result<std::string> filtersJson(const std::vector<std::string>& filters);
// The same as a query string: "" for no filters, else "?filters=<json>".
Result<std::string> filtersQuery(const std::vector<std::string>& filters);
// Prints inspect results like docker: an indented JSON array (format ""
// or "json"), or the template executed once per object. 1 on a template
// error, else 0.
int printInspect(Context& ctx, const std::vector<std::string>& raws, const std::string& format);
// GET each of paths and print the objects found with printInspect, then
// each failed GET's message on stderr (1 when one failed).
int inspectPaths(Context& ctx, const std::vector<std::string>& paths, const std::string& format);
// Writes a string to ctx.out.
void out(Context& ctx, std::string_view s);
void err(Context& ctx, std::string_view s);

}  // namespace berth::cli
