#include "image/config.h"

#include <cctype>

#include "common/number.h"
#include "common/util.h"

namespace berth::image {

std::vector<std::string> splitWords(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  bool inWord = false;
  char quote = 0;
  for (size_t i = 0; i < s.size(); i++) {
    char c = s[i];
    if (quote) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < s.size()) {
        cur += s[++i];
      } else {
        cur += c;
      }
      continue;
    }
    if (isspace((unsigned char)c)) {
      if (inWord) out.push_back(cur), cur.clear(), inWord = false;
      continue;
    }
    inWord = true;
    if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '\\' && i + 1 < s.size()) {
      cur += s[++i];
    } else {
      cur += c;
    }
  }
  if (inWord) out.push_back(cur);
  return out;
}

namespace {

// JSON array of strings, or nullopt when the text is not one.
std::optional<json> jsonArray(const std::string& s) {
  if (s.empty() || s[0] != '[') return std::nullopt;
  try {
    json j = json::parse(s);
    if (!j.is_array()) return std::nullopt;
    for (auto& v : j)
      if (!v.is_string()) return std::nullopt;
    return j;
  } catch (...) {
    return std::nullopt;
  }
}

// ENV/LABEL arguments: "k=v k2='v 2'" or the legacy "k v w".
Result<std::vector<std::pair<std::string, std::string>>> keyValues(const std::string& instr, const std::string& rest) {
  std::vector<std::pair<std::string, std::string>> out;
  auto words = splitWords(rest);
  if (words.empty()) return errorf(Code::InvalidArgument, "{} requires at least one argument", toLower(instr));
  if (words[0].find('=') == std::string::npos) {
    // Legacy form: first word is the key, the rest of the line the value.
    std::string r = trim(rest);
    size_t sp = r.find_first_of(" \t");
    if (sp == std::string::npos) return errorf(Code::InvalidArgument, "{} must have two arguments", toLower(instr));
    std::string v = trim(r.substr(sp));
    auto vw = splitWords(v);
    if (vw.size() == 1) v = vw[0];
    out.emplace_back(r.substr(0, sp), v);
    return out;
  }
  for (auto& w : words) {
    auto eq = w.find('=');
    if (eq == std::string::npos || eq == 0)
      return errorf(Code::InvalidArgument, "Syntax error - can't find = in {:?}. Must be of the form: name=value", w);
    out.emplace_back(w.substr(0, eq), w.substr(eq + 1));
  }
  return out;
}

std::string joinPath(const std::string& base, const std::string& p) {
  if (!p.empty() && p[0] == '/') return p;
  std::string b = base.empty() ? "/" : base;
  if (b.back() != '/') b += '/';
  return b + p;
}

}  // namespace

Result<json> applyChanges(json cfg, const std::vector<std::string>& changes) {
  if (!cfg.is_object()) cfg = json::object();
  bool cmdSet = false;
  for (const auto& change : changes) {
    for (auto& rawLine : split(change, '\n')) {
      std::string line = trim(rawLine);
      if (line.empty() || line[0] == '#') continue;
      size_t sp = line.find_first_of(" \t");
      std::string instr = toLower(line.substr(0, sp));
      std::string rest = sp == std::string::npos ? "" : trim(line.substr(sp));
      if (instr == "cmd" || instr == "entrypoint") {
        json v;
        if (auto arr = jsonArray(rest)) {
          v = *arr;
        } else if (rest.empty()) {
          v = nullptr;
        } else {
          v = json::array({"/bin/sh", "-c", rest});
        }
        if (instr == "cmd") {
          cfg["Cmd"] = v;
          cmdSet = true;
        } else {
          cfg["Entrypoint"] = v;
          if (!cmdSet) cfg["Cmd"] = nullptr;
        }
      } else if (instr == "env") {
        TRY_ASSIGN(auto kvs, keyValues(instr, rest));
        json env = cfg.contains("Env") && cfg["Env"].is_array() ? cfg["Env"] : json::array();
        for (auto& [k, v] : kvs) {
          bool replaced = false;
          for (auto& e : env) {
            std::string s = e.get<std::string>();
            if (s.substr(0, s.find('=')) == k) {
              e = k + "=" + v;
              replaced = true;
            }
          }
          if (!replaced) env.push_back(k + "=" + v);
        }
        cfg["Env"] = env;
      } else if (instr == "label") {
        TRY_ASSIGN(auto kvs, keyValues(instr, rest));
        json& labels = cfg["Labels"];
        if (!labels.is_object()) labels = json::object();
        for (auto& [k, v] : kvs) labels[k] = v;
      } else if (instr == "workdir") {
        if (rest.empty()) return makeError(Code::InvalidArgument, "WORKDIR requires exactly one argument");
        std::string cur = cfg.value("WorkingDir", "");
        auto w = splitWords(rest);
        cfg["WorkingDir"] = joinPath(cur, w.empty() ? rest : w[0]);
      } else if (instr == "user") {
        if (rest.empty()) return makeError(Code::InvalidArgument, "USER requires exactly one argument");
        cfg["User"] = rest;
      } else if (instr == "expose") {
        json& ports = cfg["ExposedPorts"];
        if (!ports.is_object()) ports = json::object();
        for (auto& w : splitWords(rest)) {
          std::string port = w, proto = "tcp";
          if (auto sl = w.find('/'); sl != std::string::npos) port = w.substr(0, sl), proto = toLower(w.substr(sl + 1));
          auto dash = port.find('-');
          std::string lo = port.substr(0, dash), hi = dash == std::string::npos ? lo : port.substr(dash + 1);
          auto num = [](const std::string& x) { return x.size() <= 5 ? parseNumber<unsigned>(x) : std::nullopt; };
          auto first = num(lo), last = num(hi);
          if (!first || !last || *first > *last || *last > 65535 ||
              (proto != "tcp" && proto != "udp" && proto != "sctp"))
            return errorf(Code::InvalidArgument, "invalid containerPort: {}", w);
          for (unsigned p = *first; p <= *last; p++) ports[fmt::format("{}/{}", p, proto)] = json::object();
        }
      } else if (instr == "volume") {
        json& vols = cfg["Volumes"];
        if (!vols.is_object()) vols = json::object();
        auto arr = jsonArray(rest);
        std::vector<std::string> paths;
        if (arr) {
          for (auto& v : *arr) paths.push_back(v.get<std::string>());
        } else {
          paths = splitWords(rest);
        }
        if (paths.empty()) return makeError(Code::InvalidArgument, "VOLUME specified can not be an empty string");
        for (auto& p : paths) {
          if (trim(p).empty()) return makeError(Code::InvalidArgument, "VOLUME specified can not be an empty string");
          vols[p] = json::object();
        }
      } else if (instr == "stopsignal") {
        if (rest.empty()) return makeError(Code::InvalidArgument, "STOPSIGNAL requires exactly one argument");
        cfg["StopSignal"] = rest;
      } else if (instr == "onbuild") {
        json& ob = cfg["OnBuild"];
        if (!ob.is_array()) ob = json::array();
        ob.push_back(rest);
      } else {
        return errorf(Code::InvalidArgument, "{} is not a valid change command", instr);
      }
    }
  }
  return cfg;
}

json dockerConfigShape(const json& cfg) {
  const json empty = json::object();
  const json& c = cfg.is_object() ? cfg : empty;
  auto get = [&](const char* k, json def) { return c.contains(k) ? c[k] : def; };
  json out = json::object();
  out["Hostname"] = get("Hostname", "");
  out["Domainname"] = get("Domainname", "");
  out["User"] = get("User", "");
  out["AttachStdin"] = get("AttachStdin", false);
  out["AttachStdout"] = get("AttachStdout", false);
  out["AttachStderr"] = get("AttachStderr", false);
  if (c.contains("ExposedPorts")) out["ExposedPorts"] = c["ExposedPorts"];
  out["Tty"] = get("Tty", false);
  out["OpenStdin"] = get("OpenStdin", false);
  out["StdinOnce"] = get("StdinOnce", false);
  out["Env"] = get("Env", nullptr);
  out["Cmd"] = get("Cmd", nullptr);
  if (c.contains("Healthcheck")) out["Healthcheck"] = c["Healthcheck"];
  if (c.contains("ArgsEscaped")) out["ArgsEscaped"] = c["ArgsEscaped"];
  out["Image"] = get("Image", "");
  out["Volumes"] = get("Volumes", nullptr);
  out["WorkingDir"] = get("WorkingDir", "");
  out["Entrypoint"] = get("Entrypoint", nullptr);
  out["OnBuild"] = get("OnBuild", nullptr);
  out["Labels"] = get("Labels", nullptr);
  if (c.contains("StopSignal")) out["StopSignal"] = c["StopSignal"];
  if (c.contains("StopTimeout")) out["StopTimeout"] = c["StopTimeout"];
  if (c.contains("Shell")) out["Shell"] = c["Shell"];
  return out;
}

}  // namespace berth::image
