// context create, ls, use, rm, inspect, show: the docker CLI's contexts in
// its own store layout (cli/context_store.h), so both CLIs share them.
// These commands never contact a daemon.

#include <tuple>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/context_store.h"
#include "cli/endpoint.h"
#include "cli/format/table.h"
#include "cli/format/template.h"
#include "cli/ports_format.h"
#include "common/util.h"

namespace berth::cli {

namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;
using format::Value;

const EndpointInputs& inputs(const Context& ctx) {
  static const EndpointInputs kNone;
  return ctx.endpoint ? *ctx.endpoint : kNone;
}

// The context name the other commands would use, or the resolution error's
// text (`ls` marks that one current even when it is missing).
std::string currentName(const Context& ctx, const ContextStore& store) {
  auto n = resolveContextName(inputs(ctx), store);
  return n ? *n : std::string(kDefaultContextName);
}

// Go's strconv.ParseBool.
Result<bool> parseGoBool(const std::string& v) {
  if (v == "1" || v == "t" || v == "T" || v == "TRUE" || v == "true" || v == "True") return true;
  if (v == "0" || v == "f" || v == "F" || v == "FALSE" || v == "false" || v == "False") return false;
  return errorf(Code::InvalidArgument, "parsing {:?}: invalid syntax", v);
}

// A docker host the context may hold: unix://, tcp:// or ssh://.
bool validHost(const std::string& h) {
  return startsWith(h, "unix://") || startsWith(h, "tcp://") || startsWith(h, "ssh://");
}

// ---------------------------------------------------------------- create

void flagsCreate(FlagSet& f) {
  f.addString("description", 0, "Description of the context");
  f.addList("docker", 0, "set the docker endpoint", "stringToString");
  f.setDefaultText("docker", "[]");
  f.addString("from", 0, "create context from a named context");
}

// The source context of --from / a create without --docker: its host, TLS
// verification flag and TLS files.
Result<std::pair<ContextInfo, ContextTls>> copyFrom(Context& ctx, const ContextStore& store, const std::string& name) {
  ContextInfo c;
  ContextTls tls;
  if (name == kDefaultContextName) {
    const EndpointInputs& in = inputs(ctx);
    c.host = defaultContextHost(in);
    c.description = kDefaultContextDescription;
    if (in.tls.tls && startsWith(c.host, "tcp://")) {
      c.skipTlsVerify = !in.tls.verify;
      if (auto s = readFile(in.tls.caFile)) tls.ca = *s;
      if (auto s = readFile(in.tls.certFile)) tls.cert = *s;
      if (auto s = readFile(in.tls.keyFile)) tls.key = *s;
    }
    return std::make_pair(c, tls);
  }
  TRY_ASSIGN(c, store.get(name));
  std::string dir = store.tlsDir(name) + "/docker/";
  for (auto [has, file, dest] : {std::tuple{c.hasCa, "ca.pem", &tls.ca}, std::tuple{c.hasCert, "cert.pem", &tls.cert},
                                  std::tuple{c.hasKey, "key.pem", &tls.key}}) {
    if (!has) continue;
    auto s = readFile(dir + file);
    if (!s) return std::unexpected(s.error());
    *dest = std::move(*s);
  }
  return std::make_pair(c, tls);
}

// --docker "k=v,k=v" (repeatable, later keys win) into an endpoint.
Result<std::pair<ContextInfo, ContextTls>> endpointFromFlags(Context& ctx, const ContextStore& store,
                                                             const std::vector<std::string>& values) {
  std::vector<std::pair<std::string, std::string>> kv;
  for (const auto& v : values)
    for (const auto& part : split(v, ',')) {
      if (part.empty()) continue;
      auto eq = part.find('=');
      if (eq == std::string::npos)
        return errorf(Code::InvalidArgument, "{} must be formatted as key=value", part);
      kv.emplace_back(part.substr(0, eq), part.substr(eq + 1));
    }
  ContextInfo c;
  ContextTls tls;
  std::string from;
  for (auto& [k, v] : kv)
    if (k == "from") from = v;
  if (!from.empty()) {
    auto src = copyFrom(ctx, store, from);
    if (!src) return std::unexpected(src.error());
    std::tie(c, tls) = std::move(*src);
  }
  for (auto& [k, v] : kv) {
    if (k == "from") continue;
    if (k == "host") {
      c.host = v;
    } else if (k == "ca" || k == "cert" || k == "key") {
      auto s = readFile(v);
      if (!s) return errorf(Code::InvalidArgument, "open {}: no such file or directory", v);
      (k == "ca" ? tls.ca : k == "cert" ? tls.cert : tls.key) = *s;
    } else if (k == "skip-tls-verify") {
      auto b = parseGoBool(v);
      if (!b) return errorf(Code::InvalidArgument, "skip-tls-verify: {}", b.error().message);
      c.skipTlsVerify = *b;
    } else {
      return errorf(Code::InvalidArgument, "unrecognized config key: {}", k);
    }
  }
  if (c.host.empty()) c.host = kDefaultHost;
  if (!validHost(c.host))
    return errorf(Code::InvalidArgument, "unable to apply docker endpoint options: unable to parse docker host `{}`",
                  c.host);
  return std::make_pair(c, tls);
}

int cmdCreate(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  ContextStore store(ctx.configDir);
  const std::string& name = args[0];
  if (!validContextName(name)) {
    err(ctx, fmt::format("context name {:?} is invalid, names are validated against regexp "
                         "\"^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$\"\n",
                         name));
    return kExitFailure;
  }
  if (name == kDefaultContextName) {
    err(ctx, fmt::format("{:?} is a reserved context name\n", name));
    return kExitFailure;
  }
  if (store.exists(name)) {
    err(ctx, fmt::format("context {:?} already exists\n", name));
    return kExitFailure;
  }
  Result<std::pair<ContextInfo, ContextTls>> ep = std::pair<ContextInfo, ContextTls>{};
  if (!f.getList("docker").empty()) {
    ep = endpointFromFlags(ctx, store, f.getList("docker"));
    if (!ep) {
      err(ctx, "unable to create docker endpoint config: " + ep.error().message + "\n");
      return kExitFailure;
    }
  } else {
    // Without --docker the new context copies --from, else the current one.
    std::string from = f.getString("from").empty() ? currentName(ctx, store) : f.getString("from");
    ep = copyFrom(ctx, store, from);
    if (!ep) return reportError(ctx, ep.error());
  }
  auto& [info, tls] = *ep;
  info.name = name;
  if (f.changed("description")) info.description = f.getString("description");
  if (auto r = store.create(info, tls); !r) return reportError(ctx, r.error());
  out(ctx, name + "\n");
  err(ctx, fmt::format("Successfully created context {:?}\n", name));
  return 0;
}

// ---------------------------------------------------------------- ls

void flagsLs(FlagSet& f) {
  f.addString("format", 0, formatFlagHelp(true));
  f.addBool("quiet", 'q', "Only show context names");
}

const std::map<std::string, std::string>& contextHeaders() {
  static const std::map<std::string, std::string> kHeaders = {
      {"Name", "NAME"}, {"Description", "DESCRIPTION"}, {"DockerEndpoint", "DOCKER ENDPOINT"}, {"Error", "ERROR"}};
  return kHeaders;
}

// docker's formatter.Ellipsis: at most n runes, the last one "…".
std::string ellipsis(const std::string& s, size_t n) {
  if (format::runeCount(s) <= n) return s;
  std::string outS;
  size_t runes = 0;
  for (size_t i = 0; i < s.size() && runes < n - 1; ++runes) {
    size_t len = 1;
    unsigned char b = static_cast<unsigned char>(s[i]);
    if (b >= 0xF0) len = 4;
    else if (b >= 0xE0) len = 3;
    else if (b >= 0xC0) len = 2;
    outS.append(s, i, len);
    i += len;
  }
  return outS + "\xE2\x80\xA6";
}

Value contextItem(const std::string& name, bool current, const std::string& description, const std::string& host,
                  const std::string& error) {
  Value v = Value::object();  // Go's JSON: fields in alphabetical order
  v["Current"] = current;
  v["Description"] = description;
  v["DockerEndpoint"] = host;
  v["Error"] = error;
  v["Name"] = name;
  return v;
}

int cmdLs(Context& ctx, const FlagSet& f, const std::vector<std::string>&) {
  ContextStore store(ctx.configDir);
  std::string cur = currentName(ctx, store);
  std::vector<Value> items;
  bool found = cur == kDefaultContextName;
  items.push_back(contextItem(kDefaultContextName, found, kDefaultContextDescription,
                              defaultContextHost(inputs(ctx)), ""));
  for (auto& c : store.list()) {
    if (c.name == kDefaultContextName) continue;
    bool isCur = c.name == cur;
    found |= isCur;
    items.push_back(contextItem(c.name, isCur, c.description, c.host, ""));
  }
  if (!found) {
    auto g = store.get(cur);
    items.push_back(contextItem(cur, true, "", "", g ? "" : g.error().message));
  }
  std::sort(items.begin(), items.end(), [](const Value& a, const Value& b) {
    return naturalLess(a["Name"].get<std::string>(), b["Name"].get<std::string>());
  });
  std::string fmtStr = f.getString("format");
  if (f.getBool("quiet")) fmtStr = "{{.Name}}";
  else if (fmtStr.empty() || fmtStr == "table")
    fmtStr = "table {{.Name}}{{if .Current}} *{{end}}\t{{.Description}}\t{{.DockerEndpoint}}\t{{.Error}}";
  if (format::isTableFormat(fmtStr))
    for (auto& v : items) v["Error"] = ellipsis(v["Error"].get<std::string>(), 45);
  auto text = format::formatList(fmtStr, items, contextHeaders());
  if (!text) return reportError(ctx, text.error());
  out(ctx, *text);
  if (!inputs(ctx).envHost.empty())
    err(ctx, "Warning: DOCKER_HOST environment variable overrides the active context. To use a context, either set "
             "the global --context flag, or unset DOCKER_HOST environment variable.\n");
  return 0;
}

// ---------------------------------------------------------------- use, rm, show

int cmdUse(Context& ctx, const FlagSet&, const std::vector<std::string>& args) {
  ContextStore store(ctx.configDir);
  const std::string& name = args[0];
  if (name != kDefaultContextName) {
    if (auto g = store.get(name); !g) return reportError(ctx, g.error());
  }
  if (auto r = store.setCurrentContext(name); !r) return reportError(ctx, r.error());
  out(ctx, name + "\n");
  err(ctx, fmt::format("Current context is now {:?}\n", name));
  if (!inputs(ctx).envHost.empty() && name != kDefaultContextName)
    err(ctx, fmt::format("Warning: DOCKER_HOST environment variable overrides the active context. To use {:?}, "
                         "either set the global --context flag, or unset DOCKER_HOST environment variable.\n",
                         name));
  return 0;
}

void flagsRm(FlagSet& f) { f.addBool("force", 'f', "Force the removal of a context in use"); }

int cmdRm(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  ContextStore store(ctx.configDir);
  std::string configured = store.currentContext();
  std::vector<std::string> errors;
  for (const auto& name : args) {
    if (name == kDefaultContextName) {
      errors.push_back(fmt::format("context {:?} cannot be removed", name));
      continue;
    }
    if (!store.exists(name)) {
      errors.push_back(fmt::format("context {:?} does not exist", name));
      continue;
    }
    if (name == configured) {
      if (!f.getBool("force")) {
        errors.push_back(fmt::format("context {:?} is in use, set -f flag to force remove", name));
        continue;
      }
      if (auto r = store.setCurrentContext(""); !r) {
        errors.push_back(r.error().message);
        continue;
      }
      configured.clear();
    }
    if (auto r = store.remove(name); !r) {
      errors.push_back(r.error().message);
      continue;
    }
    out(ctx, name + "\n");
  }
  for (auto& e : errors) err(ctx, e + "\n");
  return errors.empty() ? 0 : kExitFailure;
}

int cmdShow(Context& ctx, const FlagSet&, const std::vector<std::string>&) {
  ContextStore store(ctx.configDir);
  auto n = resolveContextName(inputs(ctx), store);
  if (!n) return reportError(ctx, n.error());
  if (*n != kDefaultContextName)
    if (auto g = store.get(*n); !g) return reportError(ctx, g.error());
  out(ctx, *n + "\n");
  return 0;
}

// ---------------------------------------------------------------- inspect

void flagsInspect(FlagSet& f) { f.addString("format", 'f', formatFlagHelp(false)); }

std::string inspectDoc(const Context& ctx, const ContextStore& store, const std::string& name, Result<ContextInfo>& c) {
  ojson d = ojson::object();
  d["Name"] = name;
  if (name == kDefaultContextName) {
    d["Metadata"] = ojson::object();
    d["Endpoints"] = {{"docker", {{"Host", defaultContextHost(inputs(ctx))}, {"SkipTLSVerify", false}}}};
    d["TLSMaterial"] = ojson::object();
    d["Storage"] = {{"MetadataPath", "<IN MEMORY>"}, {"TLSPath", "<IN MEMORY>"}};
    return d.dump();
  }
  d["Metadata"] = ojson::parse(c->metadataJson, nullptr, false);
  if (d["Metadata"].is_discarded()) d["Metadata"] = ojson::object();
  ojson eps = c->endpointsJson.empty() ? ojson::object() : ojson::parse(c->endpointsJson, nullptr, false);
  d["Endpoints"] = eps.is_discarded() ? ojson::object() : eps;
  ojson material = ojson::object();
  ojson files = ojson::array();
  if (c->hasCa) files.push_back("ca.pem");
  if (c->hasCert) files.push_back("cert.pem");
  if (c->hasKey) files.push_back("key.pem");
  if (!files.empty()) material["docker"] = files;
  d["TLSMaterial"] = material;
  d["Storage"] = {{"MetadataPath", store.metaDir(name)}, {"TLSPath", store.tlsDir(name)}};
  return d.dump();
}

// printInspect, with Go's encoding/json escaping of '<', '>' and '&' in the
// indented form (docker's inspect output: "\u003cIN MEMORY\u003e"). Those
// characters only occur inside JSON strings, so the text is replaced as is.
int printContexts(Context& ctx, const std::vector<std::string>& raws, const std::string& fmtStr) {
  if (!fmtStr.empty() && fmtStr != "json") return printInspect(ctx, raws, fmtStr);
  ojson arr = ojson::array();
  for (auto& r : raws) arr.push_back(ojson::parse(r, nullptr, false));
  std::string text = arr.dump(4);
  std::string escaped;
  for (char ch : text) {
    if (ch == '<') escaped += "\\u003c";
    else if (ch == '>') escaped += "\\u003e";
    else if (ch == '&') escaped += "\\u0026";
    else escaped.push_back(ch);
  }
  out(ctx, escaped + "\n");
  return 0;
}

int cmdInspect(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  ContextStore store(ctx.configDir);
  std::vector<std::string> names = args;
  if (names.empty()) names.push_back(currentName(ctx, store));
  std::vector<std::string> raws;
  for (const auto& name : names) {
    Result<ContextInfo> c = ContextInfo{};
    if (name != kDefaultContextName) {
      c = store.get(name);
      if (!c) {
        // docker prints what it gathered so far, then the error.
        printContexts(ctx, raws, f.getString("format"));
        err(ctx, c.error().message + "\n");
        return kExitFailure;
      }
    }
    raws.push_back(inspectDoc(ctx, store, name, c));
  }
  return printContexts(ctx, raws, f.getString("format"));
}

}  // namespace

std::vector<Command> contextCommands() {
  std::vector<Command> v;
  v.push_back({"context", {"create"}, {}, "[OPTIONS] CONTEXT", "Create a context", ArgRule::Exact, 1, 0, true,
               flagsCreate, cmdCreate});
  v.push_back({"context", {"ls", "list"}, {}, "[OPTIONS]", "List contexts", ArgRule::None, 0, 0, true, flagsLs, cmdLs});
  v.push_back({"context", {"use"}, {}, "CONTEXT", "Set the current docker context", ArgRule::Exact, 1, 0, true,
               nullptr, cmdUse});
  v.push_back({"context", {"rm", "remove"}, {}, "CONTEXT [CONTEXT...]", "Remove one or more contexts", ArgRule::Min,
               1, 0, true, flagsRm, cmdRm});
  v.push_back({"context", {"inspect"}, {}, "[OPTIONS] [CONTEXT] [CONTEXT...]",
               "Display detailed information on one or more contexts", ArgRule::Any, 0, 0, true, flagsInspect,
               cmdInspect});
  v.push_back({"context", {"show"}, {}, "", "Print the name of the current context", ArgRule::None, 0, 0, true,
               nullptr, cmdShow});
  return v;
}

}  // namespace berth::cli
