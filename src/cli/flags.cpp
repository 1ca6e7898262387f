#include "cli/flags.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "common/number.h"

namespace berth::cli {

namespace {

std::string goQuote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

// Go's strconv.ParseBool.
bool parseGoBool(const std::string& v, bool* out) {
  static const char* kTrue[] = {"1", "t", "T", "TRUE", "true", "True"};
  static const char* kFalse[] = {"0", "f", "F", "FALSE", "false", "False"};
  for (auto* t : kTrue)
    if (v == t) return *out = true, true;
  for (auto* f : kFalse)
    if (v == f) return *out = false, true;
  return false;
}

bool parseGoInt(const std::string& v, int64_t* out) {
  auto n = parseNumber<int64_t>(v);
  if (!n) return false;
  *out = *n;
  return true;
}

// pflag's wrapN: splits off the first line of at most i (+slop) characters.
std::pair<std::string, std::string> wrapN(size_t i, size_t slop, const std::string& s) {
  if (i + slop > s.size()) return {s, ""};
  std::string head = s.substr(0, i);
  size_t w = head.find_last_of(" \t\n");
  if (w == std::string::npos || w == 0) return {s, ""};
  size_t nl = head.rfind('\n');
  if (nl != std::string::npos && nl > 0 && nl < w) return {s.substr(0, nl), s.substr(nl + 1)};
  return {s.substr(0, w), s.substr(w + 1)};
}

std::string replaceAll(std::string s, const std::string& from, const std::string& to) {
  size_t pos = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
  return s;
}

// strconv's reason for a number it refuses: an integer too large for its
// type is "value out of range", anything else "invalid syntax".
const char* goNumError(std::string_view v) {
  std::string_view digits = v;
  if (!digits.empty() && (digits.front() == '+' || digits.front() == '-')) digits.remove_prefix(1);
  bool allDigits = !digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos;
  return allDigits ? "value out of range" : "invalid syntax";
}

}  // namespace

Result<int64_t> parseInt64FlagValue(const std::string& value, const std::string& arg, const std::string& flag) {
  if (auto n = parseNumber<int64_t>(value)) return *n;
  return errorf(Code::InvalidArgument, "invalid argument {} for {} flag: strconv.ParseInt: parsing {}: {}", goQuote(arg),
                goQuote("--" + flag), goQuote(value), goNumError(value));
}

Result<uint16_t> parseUint16Flag(const std::string& value, const std::string& flag) {
  if (auto n = parseNumber<uint16_t>(value)) return *n;
  return errorf(Code::InvalidArgument, "invalid argument {} for {} flag: strconv.ParseUint: parsing {}: {}",
                goQuote(value), goQuote("--" + flag), goQuote(value),
                value.starts_with('-') ? "invalid syntax" : goNumError(value));
}

Result<double> parseCpusFlag(const std::string& value) {
  auto v = parseNumber<double>(value);
  if (!v || !std::isfinite(*v) || *v < 0)
    return errorf(Code::InvalidArgument, "invalid argument \"{}\" for \"--cpus\" flag: failed to parse {} as a rational number",
                  value, value);
  return *v;
}

std::string pflagWrap(int i, int w, const std::string& s) {
  if (w == 0) return replaceAll(s, "\n", "\n" + std::string(size_t(i), ' '));
  int wrap = w - i;
  std::string r;
  if (wrap < 24) {
    i = 16;
    wrap = w - i;
    r += "\n" + std::string(size_t(i), ' ');
  }
  if (wrap < 24) return replaceAll(s, "\n", r);
  const int slop = 5;
  wrap -= slop;
  std::string indent(size_t(i), ' ');
  auto [l, rest] = wrapN(size_t(wrap), slop, s);
  r += replaceAll(l, "\n", "\n" + indent);
  while (!rest.empty()) {
    auto [t, more] = wrapN(size_t(wrap), slop, rest);
    r += "\n" + indent + replaceAll(t, "\n", "\n" + indent);
    rest = more;
  }
  return r;
}

void FlagSet::addBool(std::string name, char shorthand, std::string usage, bool def) {
  FlagDef d{name, shorthand, FlagKind::Bool, "", def ? "true" : "false", std::move(usage)};
  values_[name] = d.defValue;
  order_.push_back(name);
  defs_[name] = std::move(d);
}

void FlagSet::addString(std::string name, char shorthand, std::string usage, std::string def,
                        std::string typeName) {
  FlagDef d{name, shorthand, FlagKind::String, std::move(typeName), def, std::move(usage)};
  values_[name] = def;
  order_.push_back(name);
  defs_[name] = std::move(d);
}

void FlagSet::addList(std::string name, char shorthand, std::string usage, std::string typeName) {
  FlagDef d{name, shorthand, FlagKind::List, std::move(typeName), "", std::move(usage)};
  lists_[name];
  order_.push_back(name);
  defs_[name] = std::move(d);
}

void FlagSet::addInt(std::string name, char shorthand, std::string usage, int64_t def,
                     std::string typeName) {
  FlagDef d{name, shorthand, FlagKind::Int, std::move(typeName), std::to_string(def), std::move(usage)};
  values_[name] = d.defValue;
  order_.push_back(name);
  defs_[name] = std::move(d);
}

void FlagSet::setDefaultText(const std::string& name, std::string text) {
  auto it = defs_.find(name);
  if (it != defs_.end()) it->second.defText = std::move(text);
}

void FlagSet::hide(const std::string& name) {
  auto it = defs_.find(name);
  if (it != defs_.end()) it->second.hidden = true;
}

void FlagSet::addAlias(const std::string& alias, const std::string& target) {
  auto it = defs_.find(target);
  if (it == defs_.end()) return;
  FlagDef d = it->second;
  d.name = alias;
  d.shorthand = 0;
  d.hidden = true;
  d.aliasOf = target;
  order_.push_back(alias);
  defs_[alias] = std::move(d);
}

FlagDef* FlagSet::findShort(char c) {
  for (auto& [_, d] : defs_)
    if (d.shorthand == c) return &d;
  return nullptr;
}

Result<> FlagSet::set(FlagDef& given, const std::string& value, const std::string& display) {
  std::string flagName = given.shorthand ? fmt::format("-{}, --{}", given.shorthand, given.name)
                                         : "--" + given.name;
  FlagDef& def = given.aliasOf.empty() ? given : defs_.at(given.aliasOf);
  switch (def.kind) {
    case FlagKind::Bool: {
      bool b;
      if (!parseGoBool(value, &b))
        return errorf(Code::InvalidArgument,
                      "invalid argument {} for {} flag: strconv.ParseBool: parsing {}: invalid syntax",
                      goQuote(value), goQuote(flagName), goQuote(value));
      values_[def.name] = b ? "true" : "false";
      break;
    }
    case FlagKind::Int: {
      int64_t n;
      if (!parseGoInt(value, &n))
        return errorf(Code::InvalidArgument, "invalid argument {} for {} flag: strconv.ParseInt: parsing {}: {}",
                      goQuote(value), goQuote(flagName), goQuote(value), goNumError(value));
      values_[def.name] = std::to_string(n);
      break;
    }
    case FlagKind::String: values_[def.name] = value; break;
    case FlagKind::List: lists_[def.name].push_back(value); break;
  }
  changed_[def.name] = true;
  (void)display;
  return {};
}

Result<std::vector<std::string>> FlagSet::parse(const std::vector<std::string>& argv) {
  std::vector<std::string> positionals;
  size_t i = 0;
  auto rest = [&](size_t from) {
    for (size_t k = from; k < argv.size(); ++k) positionals.push_back(argv[k]);
  };
  while (i < argv.size()) {
    const std::string s = argv[i++];
    if (s.size() < 2 || s[0] != '-') {
      positionals.push_back(s);
      if (!interspersed_) {
        rest(i);
        return positionals;
      }
      continue;
    }
    if (s[1] == '-') {
      if (s.size() == 2) {  // "--"
        rest(i);
        return positionals;
      }
      std::string name = s.substr(2);
      if (name[0] == '-' || name[0] == '=')
        return errorf(Code::InvalidArgument, "bad flag syntax: {}", s);
      std::string value;
      bool hasValue = false;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        hasValue = true;
      }
      auto it = defs_.find(name);
      if (it == defs_.end() || name == "help") {
        if (name == "help") {
          help_ = true;
          continue;
        }
        return errorf(Code::InvalidArgument, "unknown flag: --{}", name);
      }
      FlagDef& d = it->second;
      if (!hasValue) {
        if (d.kind == FlagKind::Bool) {
          value = "true";
        } else if (i < argv.size()) {
          value = argv[i++];
        } else {
          return errorf(Code::InvalidArgument, "flag needs an argument: {}", s);
        }
      }
      TRY(set(d, value, s));
      continue;
    }
    // short flags
    std::string shorts = s.substr(1);
    while (!shorts.empty()) {
      char c = shorts[0];
      FlagDef* d = findShort(c);
      if (!d) {
        if (c == 'h') {
          help_ = true;
          shorts = shorts.substr(1);
          continue;
        }
        return errorf(Code::InvalidArgument, "unknown shorthand flag: '{}' in -{}", c, shorts);
      }
      std::string value;
      std::string next;
      if (shorts.size() > 2 && shorts[1] == '=') {
        value = shorts.substr(2);
      } else if (d->kind == FlagKind::Bool) {
        value = "true";
        next = shorts.substr(1);
      } else if (shorts.size() > 1) {
        value = shorts.substr(1);
      } else if (i < argv.size()) {
        value = argv[i++];
      } else {
        return errorf(Code::InvalidArgument, "flag needs an argument: '{}' in -{}", c, shorts);
      }
      TRY(set(*d, value, s));
      shorts = next;
    }
  }
  return positionals;
}

bool FlagSet::getBool(const std::string& name) const {
  auto it = values_.find(name);
  return it != values_.end() && it->second == "true";
}

std::string FlagSet::getString(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::string() : it->second;
}

const std::vector<std::string>& FlagSet::getList(const std::string& name) const {
  static const std::vector<std::string> kEmpty;
  auto it = lists_.find(name);
  return it == lists_.end() ? kEmpty : it->second;
}

int64_t FlagSet::getInt(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? 0 : numberOr<int64_t>(it->second, 0);
}

std::string FlagSet::usages(int cols) const {
  // pflag sorts flags by name.
  std::vector<const FlagDef*> flags;
  for (auto& [_, d] : defs_)
    if (!d.hidden) flags.push_back(&d);
  std::vector<std::string> lines;
  size_t maxlen = 0;
  for (const FlagDef* d : flags) {
    std::string line = d->shorthand ? fmt::format("  -{}, --{}", d->shorthand, d->name)
                                    : fmt::format("      --{}", d->name);
    if (!d->typeName.empty()) line += " " + d->typeName;
    line += '\0';
    maxlen = std::max(maxlen, line.size());
    line += d->usage;
    switch (d->kind) {
      case FlagKind::Bool:
        if (d->defValue == "true") line += " (default true)";
        break;
      case FlagKind::Int:
        if (d->defValue != "0") line += " (default " + d->defValue + ")";
        break;
      case FlagKind::String:
        if (!d->defValue.empty()) line += " (default " + goQuote(d->defValue) + ")";
        break;
      case FlagKind::List: break;
    }
    if (!d->defText.empty()) line += " (default " + d->defText + ")";
    lines.push_back(std::move(line));
  }
  std::string out;
  for (const std::string& line : lines) {
    size_t sidx = line.find('\0');
    std::string spacing(maxlen - sidx, ' ');
    out += line.substr(0, sidx) + " " + spacing + " " +
           pflagWrap(int(maxlen) + 2, cols, line.substr(sidx + 1)) + "\n";
  }
  return out;
}

}  // namespace berth::cli
