// The pure half of the classic builder's dispatch (dispatch.h).
#include "build/dispatch.h"

#include <algorithm>
#include <cstdio>

#include "build/dockerignore.h"
#include "build/shell_lex.h"

namespace berth::build {

namespace {

const std::set<std::string, std::less<>>& builtinArgs() {
  static const std::set<std::string, std::less<>> kBuiltin = {
      "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
      "ftp_proxy",  "NO_PROXY",   "no_proxy",    "ALL_PROXY",   "all_proxy",
  };
  return kBuiltin;
}

bool emptyish(const json& v) {
  return v.is_null() || (v.is_array() && v.empty()) || (v.is_object() && v.empty()) ||
         (v.is_string() && v.get<std::string>().empty()) || (v.is_boolean() && !v.get<bool>());
}

json field(const json& cfg, const char* k) {
  if (!cfg.is_object() || !cfg.contains(k)) return nullptr;
  const json& v = cfg[k];
  return emptyish(v) ? json(nullptr) : v;
}

std::string goQuoteChar(int64_t v) {
  if (v >= 0x20 && v < 0x7f) {
    if (v == '\'' || v == '\\') return std::string("'\\") + char(v) + "'";
    return std::string("'") + char(v) + "'";
  }
  char buf[32];
  if (v < 0x80 && v >= 0) {
    switch (v) {
      case '\a': return "'\\a'";
      case '\b': return "'\\b'";
      case '\f': return "'\\f'";
      case '\n': return "'\\n'";
      case '\r': return "'\\r'";
      case '\t': return "'\\t'";
      case '\v': return "'\\v'";
      default: break;
    }
    std::snprintf(buf, sizeof buf, "'\\x%02x'", unsigned(v));
  } else if (v < 0x10000 && v >= 0) {
    std::snprintf(buf, sizeof buf, "'\\u%04x'", unsigned(v));
  } else {
    std::snprintf(buf, sizeof buf, "'\\U%08x'", unsigned(v));
  }
  return buf;
}

// Go's fmtFrac / fmtInt for Duration.String.
std::string fracDigits(uint64_t v, int prec, uint64_t& rest) {
  std::string out;
  bool print = false;
  for (int i = 0; i < prec; i++) {
    int digit = int(v % 10);
    print = print || digit != 0;
    if (print) out.insert(out.begin(), char('0' + digit));
    v /= 10;
  }
  if (print) out.insert(out.begin(), '.');
  rest = v;
  return out;
}

}  // namespace

BuildArgs::BuildArgs(std::map<std::string, std::optional<std::string>> fromOptions)
    : options_(std::move(fromOptions)) {}

bool BuildArgs::isBuiltin(std::string_view key) { return builtinArgs().count(key) > 0; }

void BuildArgs::addArg(const std::string& key, std::optional<std::string> value) {
  allowed_[key] = std::move(value);
  referenced_.insert(key);
}

void BuildArgs::addMetaArg(const std::string& key, std::optional<std::string> value) { meta_[key] = std::move(value); }

std::optional<std::string> BuildArgs::lookup(const std::string& key,
                                             const std::map<std::string, std::optional<std::string>>& mapping) const {
  if (auto it = options_.find(key); it != options_.end() && it->second) return it->second;
  auto d = mapping.find(key);
  if (d == mapping.end() || !d->second) {
    if (auto m = meta_.find(key); m != meta_.end() && m->second) return m->second;
    return std::nullopt;
  }
  return d->second;
}

std::optional<std::string> BuildArgs::value(const std::string& key) const { return lookup(key, allowed_); }

bool BuildArgs::isReferencedOrNotBuiltin(const std::string& key) const {
  return allowed_.count(key) || !isBuiltin(key);
}

std::map<std::string, std::string> BuildArgs::allAllowed() const {
  std::map<std::string, std::string> out;
  std::set<std::string> keys;
  for (auto& [k, v] : allowed_) keys.insert(k);
  for (auto& k : builtinArgs()) keys.insert(k);
  for (auto& k : keys)
    if (auto v = lookup(k, allowed_)) {
      // A predefined arg only counts once it has a value from the options
      // or a declaration; lookup() already answers that.
      out[k] = *v;
    }
  return out;
}

std::map<std::string, std::string> BuildArgs::allMeta() const {
  std::map<std::string, std::string> out;
  std::set<std::string> keys;
  for (auto& [k, v] : meta_) keys.insert(k);
  for (auto& k : builtinArgs()) keys.insert(k);
  for (auto& k : keys)
    if (auto v = lookup(k, meta_)) out[k] = *v;
  return out;
}

std::vector<std::string> BuildArgs::filterAllowed(const std::vector<std::string>& env) const {
  std::set<std::string> set;
  for (auto& e : env) set.insert(e.substr(0, e.find('=')));
  std::vector<std::string> out;
  for (auto& [k, v] : allAllowed())
    if (!set.count(k)) out.push_back(k + "=" + v);
  return out;
}

BuildArgs BuildArgs::cloneForStage() const {
  BuildArgs b(options_);
  b.meta_ = meta_;
  b.referenced_ = referenced_;
  return b;
}

void BuildArgs::mergeReferenced(const BuildArgs& other) {
  referenced_.insert(other.referenced_.begin(), other.referenced_.end());
}

std::vector<std::string> BuildArgs::unused() const {
  std::vector<std::string> out;
  for (auto& [k, v] : options_)
    if (!isBuiltin(k) && !referenced_.count(k)) out.push_back(k);
  return out;  // std::map: sorted
}

std::string unusedArgsWarning(const std::vector<std::string>& unused) {
  if (unused.empty()) return "";
  return "[Warning] One or more build-args " + goSlice(unused) + " were not consumed\n";
}

std::vector<std::string> stringList(const json& v) {
  std::vector<std::string> out;
  if (v.is_array())
    for (auto& e : v)
      if (e.is_string()) out.push_back(e.get<std::string>());
  if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

std::vector<std::string> shellOf(const json& cfg) {
  auto s = cfg.is_object() ? stringList(cfg.value("Shell", json(nullptr))) : std::vector<std::string>{};
  if (s.empty()) return {"/bin/sh", "-c"};
  return s;
}

void setEnv(json& cfg, const std::string& key, const std::string& value) {
  if (!cfg.contains("Env") || !cfg["Env"].is_array()) cfg["Env"] = json::array();
  std::string entry = key + "=" + value;
  for (auto& e : cfg["Env"]) {
    std::string s = e.get<std::string>();
    if (s.substr(0, s.find('=')) == key) {
      e = entry;
      return;
    }
  }
  cfg["Env"].push_back(entry);
}

std::vector<std::string> resolveCmdLine(const Instruction& ins, const json& cfg) {
  if (!ins.prependShell) return ins.cmdLine;
  auto out = shellOf(cfg);
  for (auto& c : ins.cmdLine) out.push_back(c);
  return out;
}

json withCmdComment(const json& cfg, const std::string& comment) {
  json c = cfg;
  auto cmd = shellOf(cfg);
  cmd.push_back("#(nop) ");
  cmd.push_back(comment);
  c["Cmd"] = cmd;
  return c;
}

json withCmdCommentString(const json& cfg, const std::string& comment) {
  json c = cfg;
  auto cmd = shellOf(cfg);
  cmd.push_back("#(nop) " + comment);
  c["Cmd"] = cmd;
  return c;
}

std::vector<std::string> prependEnvOnCmd(const BuildArgs& args, const std::vector<std::string>& buildArgVars,
                                         const std::vector<std::string>& cmd) {
  std::vector<std::string> env;
  for (auto& e : buildArgVars)
    if (args.isReferencedOrNotBuiltin(e.substr(0, e.find('=')))) env.push_back(e);
  std::sort(env.begin(), env.end());
  std::vector<std::string> out;
  out.push_back("|" + std::to_string(env.size()));
  out.insert(out.end(), env.begin(), env.end());
  out.insert(out.end(), cmd.begin(), cmd.end());
  return out;
}

bool cacheConfigEqual(const json& a, const json& b) {
  if (!a.is_object() || !b.is_object()) return false;
  if (a.value("OpenStdin", false) || b.value("OpenStdin", false)) return false;
  for (const char* k : {"Cmd", "Entrypoint", "Env", "Labels", "ExposedPorts", "Volumes", "User", "WorkingDir",
                        "Healthcheck", "StopSignal", "Shell", "OnBuild", "Tty", "AttachStdin", "AttachStdout",
                        "AttachStderr"})
    if (field(a, k) != field(b, k)) return false;
  return true;
}

std::string goQuoteSlice(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); i++) {
    if (i) out += ' ';
    out += goQuote(v[i]);
  }
  return out + "]";
}

std::string goSlice(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); i++) {
    if (i) out += ' ';
    out += v[i];
  }
  return out + "]";
}

std::string goDurationString(int64_t d) {
  if (d == 0) return "0s";
  bool neg = d < 0;
  uint64_t u = neg ? uint64_t(-(d + 1)) + 1 : uint64_t(d);
  std::string out;
  if (u < 1000000000ULL) {
    int prec;
    std::string unit;
    if (u < 1000ULL) {
      out = std::to_string(u) + "ns";
      return neg ? "-" + out : out;
    } else if (u < 1000000ULL) {
      prec = 3;
      unit = "\xC2\xB5s";
    } else {
      prec = 6;
      unit = "ms";
    }
    uint64_t rest;
    std::string frac = fracDigits(u, prec, rest);
    out = std::to_string(rest) + frac + unit;
  } else {
    uint64_t rest;
    std::string frac = fracDigits(u, 9, rest);
    uint64_t secs = rest;
    out = std::to_string(secs % 60) + frac + "s";
    uint64_t mins = secs / 60;
    if (mins > 0) {
      out = std::to_string(mins % 60) + "m" + out;
      uint64_t hours = mins / 60;
      if (hours > 0) out = std::to_string(hours) + "h" + out;
    }
  }
  return neg ? "-" + out : out;
}

std::string healthcheckComment(const HealthcheckSpec& h) {
  return "HEALTHCHECK &{" + goQuoteSlice(h.test) + " " + goQuote(goDurationString(h.intervalNs)) + " " +
         goQuote(goDurationString(h.timeoutNs)) + " " + goQuote(goDurationString(h.startPeriodNs)) + " " +
         goQuote(goDurationString(h.startIntervalNs)) + " " + goQuoteChar(h.retries) + "}";
}

json healthcheckJson(const HealthcheckSpec& h) {
  json j = json::object();
  j["Test"] = h.test;
  if (h.intervalNs) j["Interval"] = h.intervalNs;
  if (h.timeoutNs) j["Timeout"] = h.timeoutNs;
  if (h.startPeriodNs) j["StartPeriod"] = h.startPeriodNs;
  if (h.startIntervalNs) j["StartInterval"] = h.startIntervalNs;
  if (h.retries) j["Retries"] = h.retries;
  return j;
}

Result<std::vector<std::string>> exposedPortKeys(const std::vector<std::string>& specs) {
  std::vector<std::string> out;
  auto parsePort = [](std::string_view s) -> std::optional<unsigned> {
    if (s.empty() || s.size() > 5) return std::nullopt;
    unsigned v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + unsigned(c - '0');
    }
    if (v > 65535) return std::nullopt;
    return v;
  };
  for (const auto& spec : specs) {
    std::string port = spec, proto = "tcp";
    if (auto slash = spec.rfind('/'); slash != std::string::npos) {
      port = spec.substr(0, slash);
      proto = spec.substr(slash + 1);
    }
    if (proto != "tcp" && proto != "udp" && proto != "sctp") return errorf(Code::InvalidArgument, "invalid proto: {}", proto);
    if (port.find(':') != std::string::npos) port = port.substr(port.rfind(':') + 1);
    unsigned lo, hi;
    if (auto dash = port.find('-'); dash != std::string::npos) {
      auto a = parsePort(std::string_view(port).substr(0, dash));
      auto b = parsePort(std::string_view(port).substr(dash + 1));
      if (!a || !b || *b < *a) return errorf(Code::InvalidArgument, "invalid containerPort: {}", port);
      lo = *a;
      hi = *b;
    } else {
      auto a = parsePort(port);
      if (!a) return errorf(Code::InvalidArgument, "invalid containerPort: {}", port);
      lo = hi = *a;
    }
    for (unsigned p = lo; p <= hi; p++) out.push_back(std::to_string(p) + "/" + proto);
  }
  return out;
}

std::string normalizeWorkdir(const std::string& current, const std::string& requested) {
  if (!requested.empty() && requested[0] == '/') return requested;
  return cleanPath("/" + current + "/" + requested);
}

}  // namespace berth::build
