#include "build/dockerfile.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "build/shell_lex.h"
#include "build/suggest.h"
#include "common/util.h"

namespace berth::build {

namespace {

// ---------------------------------------------------------------- helpers

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }
// BuildKit's reWhitespace: [\t\v\f\r ]+ (no newline).
bool isSplitSpace(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r'; }

std::string_view trimLeft(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  return s;
}
std::string_view trimRight(std::string_view s) {
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}
std::string_view trim(std::string_view s) { return trimRight(trimLeft(s)); }

std::string_view trimNewline(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}


// Splits on runs of [\t\v\f\r ] (Go's regexp Split with n < 0 or n == 2).
std::vector<std::string> splitWhitespace(std::string_view s, size_t limit = SIZE_MAX) {
  std::vector<std::string> out;
  size_t i = 0;
  for (;;) {
    if (out.size() + 1 == limit) {
      out.emplace_back(s.substr(i));
      return out;
    }
    size_t j = i;
    while (j < s.size() && !isSplitSpace(s[j])) ++j;
    out.emplace_back(s.substr(i, j - i));
    if (j >= s.size()) return out;
    while (j < s.size() && isSplitSpace(s[j])) ++j;
    i = j;
  }
}

bool isComment(std::string_view line) {
  line = trimLeft(line);
  return !line.empty() && line.front() == '#';
}

const std::vector<std::string>& instructionNames() {
  static const std::vector<std::string> names = {
      "add",  "arg",     "cmd", "copy",  "entrypoint", "env",  "expose", "from",   "healthcheck",
      "label", "maintainer", "onbuild", "run", "shell", "stopsignal", "user", "volume", "workdir"};
  return names;
}

std::optional<InstructionKind> kindOf(std::string_view keyword) {
  static const std::map<std::string, InstructionKind, std::less<>> kinds = {
      {"add", InstructionKind::Add},         {"arg", InstructionKind::Arg},
      {"cmd", InstructionKind::Cmd},         {"copy", InstructionKind::Copy},
      {"entrypoint", InstructionKind::Entrypoint}, {"env", InstructionKind::Env},
      {"expose", InstructionKind::Expose},   {"from", InstructionKind::From},
      {"healthcheck", InstructionKind::Healthcheck}, {"label", InstructionKind::Label},
      {"maintainer", InstructionKind::Maintainer}, {"onbuild", InstructionKind::Onbuild},
      {"run", InstructionKind::Run},         {"shell", InstructionKind::Shell},
      {"stopsignal", InstructionKind::StopSignal}, {"user", InstructionKind::User},
      {"volume", InstructionKind::Volume},   {"workdir", InstructionKind::Workdir},
  };
  auto it = kinds.find(toLower(keyword));
  if (it == kinds.end()) return std::nullopt;
  return it->second;
}

// ------------------------------------------------------ line-level parsing

// A parsed line before instruction semantics: BuildKit's Node.
struct Node {
  std::string keyword;
  std::string original;
  std::vector<std::string> flags;
  std::vector<std::string> args;
  bool json = false;
  std::vector<KeyValue> pairs;  // ENV / LABEL
  std::unique_ptr<Node> child;  // ONBUILD
  std::vector<Heredoc> heredocs;
  int startLine = 0, endLine = 0;
};

// BuildKit's parseWords: splits on whitespace outside quotes, keeping quotes
// and escapes in the words (they are processed later by the shell lexer).
std::vector<std::string> parseWords(std::string_view rest, char esc) {
  enum { inSpaces, inWord, inQuote } phase = inSpaces;
  std::vector<std::string> words;
  std::string word;
  char quote = 0;
  bool blankOK = false;
  for (size_t pos = 0; pos <= rest.size(); ++pos) {
    char ch = pos < rest.size() ? rest[pos] : 0;
    if (phase == inSpaces) {
      if (pos == rest.size()) break;
      if (isSpace(ch)) continue;
      phase = inWord;
    }
    if (pos == rest.size()) {
      if (blankOK || !word.empty()) words.push_back(word);
      break;
    }
    if (phase == inWord) {
      if (isSpace(ch)) {
        phase = inSpaces;
        if (blankOK || !word.empty()) words.push_back(word);
        word.clear();
        blankOK = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blankOK = true;
        phase = inQuote;
      }
      if (ch == esc) {
        if (pos + 1 == rest.size()) continue;
        word.push_back(ch);
        ch = rest[++pos];
      }
      word.push_back(ch);
      continue;
    }
    // inQuote
    if (ch == quote) phase = inWord;
    if (ch == esc && quote != '\'') {
      if (pos + 1 == rest.size()) {
        phase = inWord;
        continue;
      }
      word.push_back(ch);
      ch = rest[++pos];
    }
    word.push_back(ch);
  }
  return words;
}

// BuildKit's extractBuilderFlags: leading `--name[=value]` words; returns
// the rest of the line.
std::string extractFlags(std::string_view line, char esc, std::vector<std::string>& flags) {
  enum { inSpaces, inWord, inQuote } phase = inSpaces;
  std::string word;
  char quote = 0;
  bool blankOK = false;
  for (size_t pos = 0; pos <= line.size(); ++pos) {
    char ch = pos < line.size() ? line[pos] : 0;
    if (phase == inSpaces) {
      if (pos == line.size()) break;
      if (isSpace(ch)) continue;
      if (ch != '-' || pos + 1 == line.size() || line[pos + 1] != '-') return std::string(line.substr(pos));
      phase = inWord;
    }
    if (pos == line.size()) {
      if (word != "--" && (blankOK || !word.empty())) flags.push_back(word);
      break;
    }
    if (phase == inWord) {
      if (isSpace(ch)) {
        phase = inSpaces;
        if (word == "--") return std::string(line.substr(pos));
        if (blankOK || !word.empty()) flags.push_back(word);
        word.clear();
        blankOK = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blankOK = true;
        phase = inQuote;
        continue;
      }
      if (ch == esc) {
        if (pos + 1 == line.size()) continue;
        ch = line[++pos];
      }
      word.push_back(ch);
      continue;
    }
    if (ch == quote) {
      phase = inWord;
      continue;
    }
    if (ch == esc) {
      if (pos + 1 == line.size()) {
        phase = inWord;
        continue;
      }
      ch = line[++pos];
    }
    word.push_back(ch);
  }
  return "";
}

constexpr const char* kNotStringArray = "when using JSON array syntax, arrays must be comprised of strings only";

// 1: parsed, 0: not JSON (fall back), error: an array of non-strings.
Result<bool> parseJsonArray(std::string_view rest, std::vector<std::string>& out) {
  rest = trimLeft(rest);
  if (!rest.starts_with("[")) return false;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(rest);
  } catch (const std::exception&) {
    return false;
  }
  if (!j.is_array()) return false;
  for (const auto& e : j) {
    if (!e.is_string()) return makeError(Code::InvalidArgument, kNotStringArray);
    out.push_back(e.get<std::string>());
  }
  return true;
}

Result<void> parseMaybeJson(std::string_view rest, Node& n) {
  if (rest.empty()) return {};
  TRY_ASSIGN(bool isJson, parseJsonArray(rest, n.args));
  if (isJson) {
    n.json = true;
  } else {
    n.args.emplace_back(rest);
  }
  return {};
}

void parseWhitespaceList(std::string_view rest, Node& n) {
  if (rest.empty()) return;
  for (auto& w : splitWhitespace(rest)) n.args.push_back(std::move(w));
}

Result<void> parseNameVal(std::string_view rest, std::string_view key, char esc, Node& n) {
  auto words = parseWords(rest, esc);
  if (words.empty()) return {};
  auto addPair = [&](std::string k, std::string v, bool noDelim) {
    n.args.push_back(k);
    n.args.push_back(v);
    n.args.push_back(noDelim ? "" : "=");
    n.pairs.push_back({std::move(k), std::move(v), noDelim});
  };
  if (words[0].find('=') == std::string::npos) {
    auto parts = splitWhitespace(rest, 2);
    if (parts.size() < 2) return errorf(Code::InvalidArgument, "{} must have two arguments", key);
    addPair(parts[0], parts[1], true);
    return {};
  }
  for (const auto& w : words) {
    auto eq = w.find('=');
    if (eq == std::string::npos) {
      return errorf(Code::InvalidArgument,
                    "Syntax error - can't find = in {}. Must be of the form: name=value", goQuote(w));
    }
    addPair(w.substr(0, eq), w.substr(eq + 1), false);
  }
  return {};
}

Result<std::unique_ptr<Node>> nodeFromLine(std::string_view line, char esc);

Result<void> dispatchArgs(const std::string& keyword, std::string_view rest, char esc, Node& n) {
  std::string k = toLower(keyword);
  if (k == "add" || k == "copy" || k == "volume") {
    TRY_ASSIGN(bool isJson, parseJsonArray(rest, n.args));
    if (isJson) {
      n.json = true;
    } else {
      parseWhitespaceList(rest, n);
    }
  } else if (k == "cmd" || k == "entrypoint" || k == "run" || k == "shell") {
    TRY(parseMaybeJson(rest, n));
  } else if (k == "arg") {
    n.args = parseWords(rest, esc);
  } else if (k == "env") {
    TRY(parseNameVal(rest, "ENV", esc, n));
  } else if (k == "label") {
    TRY(parseNameVal(rest, "LABEL", esc, n));
  } else if (k == "expose" || k == "from") {
    parseWhitespaceList(rest, n);
  } else if (k == "healthcheck") {
    size_t sep = 0;
    while (sep < rest.size() && !isSpace(rest[sep])) ++sep;
    if (sep == 0) return {};
    size_t next = sep;
    while (next < rest.size() && isSpace(rest[next])) ++next;
    n.args.emplace_back(rest.substr(0, sep));
    TRY(parseMaybeJson(rest.substr(next), n));
  } else if (k == "maintainer" || k == "stopsignal" || k == "user" || k == "workdir") {
    if (!rest.empty()) n.args.emplace_back(rest);
  } else if (k == "onbuild") {
    if (rest.empty()) return {};
    TRY_ASSIGN(n.child, nodeFromLine(rest, esc));
    n.args.push_back(n.child->keyword);
    for (const auto& a : n.child->args) n.args.push_back(a);
  }
  return {};
}

Result<std::unique_ptr<Node>> nodeFromLine(std::string_view line, char esc) {
  auto n = std::make_unique<Node>();
  n->original = std::string(line);
  auto cmdline = splitWhitespace(trim(line), 2);
  n->keyword = cmdline[0];
  std::string args;
  if (cmdline.size() == 2) args = extractFlags(cmdline[1], esc, n->flags);
  TRY(dispatchArgs(n->keyword, trim(args), esc, *n));
  return n;
}

bool canContainHeredoc(const Node& n) {
  const Node* node = &n;
  if (toLower(node->keyword) == "onbuild" && node->child) node = node->child.get();
  std::string k = toLower(node->keyword);
  if (k != "add" && k != "copy" && k != "run") return false;
  return !node->json;
}

// `[fd]<<[-]WORD` as one shell word; nullopt when the word is not a heredoc.
Result<std::optional<Heredoc>> parseHeredocWord(std::string_view word) {
  size_t i = 0;
  while (i < word.size() && word[i] >= '0' && word[i] <= '9') ++i;
  std::string_view digits = word.substr(0, i);
  if (!word.substr(i).starts_with("<<")) return std::optional<Heredoc>();
  i += 2;
  bool chomp = false;
  if (i < word.size() && word[i] == '-') {
    chomp = true;
    ++i;
  }
  while (i < word.size() && isSpace(word[i])) ++i;
  std::string_view rest = word.substr(i);
  if (rest.empty() || rest.find('<') != std::string_view::npos) return std::optional<Heredoc>();
  LexOptions o;
  o.skipUnsetEnv = true;
  TRY_ASSIGN(auto words, processWords(rest, emptyEnv(), o));
  if (words.size() != 1) return std::optional<Heredoc>();
  o.rawQuotes = true;
  TRY_ASSIGN(auto raw, processWords(rest, emptyEnv(), o));
  if (raw.size() != words.size()) {
    return errorf(Code::InvalidArgument, "internal lexing of heredoc produced inconsistent results: {}", rest);
  }
  auto quotes = [](const std::string& s) { return std::count(s.begin(), s.end(), '\'') + std::count(s.begin(), s.end(), '"'); };
  Heredoc h;
  h.name = words[0];
  h.expand = quotes(words[0]) == quotes(raw[0]);
  h.chomp = chomp;
  unsigned fd = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), fd);
  h.fd = fd;
  return std::optional<Heredoc>(std::move(h));
}

Result<std::vector<Heredoc>> heredocsFromLine(std::string_view line) {
  LexOptions o;
  o.rawQuotes = true;
  o.rawEscapes = true;
  o.skipUnsetEnv = true;
  auto words = processWords(line, emptyEnv(), o);
  std::vector<Heredoc> docs;
  if (!words) return docs;
  for (const auto& w : *words) {
    TRY_ASSIGN(auto h, parseHeredocWord(w));
    if (h) docs.push_back(std::move(*h));
  }
  return docs;
}

// ---------------------------------------------------- instruction semantics

// BuildKit's BFlags: the flags an instruction accepts, parsed on demand.
class Flags {
 public:
  enum Type { Bool, String, Strings };
  explicit Flags(const std::vector<std::string>& args) : args_(args) {}
  void add(std::string name, Type t) { defs_[std::move(name)] = t; }

  Result<void> parse() {
    for (const auto& a : args_) {
      if (a == "--") return {};
      if (!a.starts_with("--")) return errorf(Code::InvalidArgument, "arg should start with -- : {}", a);
      auto eq = a.find('=');
      std::string flagName = a.substr(0, eq);
      bool hasValue = eq != std::string::npos;
      std::string value = hasValue ? a.substr(eq + 1) : "";
      std::string name = flagName.substr(2);
      auto it = defs_.find(name);
      if (it == defs_.end()) {
        std::vector<std::string> names;
        for (const auto& [k, _] : defs_) names.push_back(k);
        return makeError(Code::InvalidArgument,
                         withSuggestion("unknown flag: " + flagName, name, names, true));
      }
      if (used_.count(name) && it->second != Strings) {
        return errorf(Code::InvalidArgument, "duplicate flag specified: {}", flagName);
      }
      used_.insert(name);
      switch (it->second) {
        case Bool: {
          if (hasValue && value.empty()) return errorf(Code::InvalidArgument, "missing a value on flag: {}", flagName);
          std::string v = toLower(value);
          if (v == "true" || v.empty()) {
            values_[name] = {"true"};
          } else if (v == "false") {
            values_[name] = {"false"};
          } else {
            return errorf(Code::InvalidArgument, "expecting boolean value for flag {}, not: {}", flagName, value);
          }
          break;
        }
        case String:
          if (!hasValue) return errorf(Code::InvalidArgument, "missing a value on flag: {}", flagName);
          values_[name] = {value};
          break;
        case Strings:
          if (!hasValue) return errorf(Code::InvalidArgument, "missing a value on flag: {}", flagName);
          values_[name].push_back(value);
          break;
      }
    }
    return {};
  }

  bool used(const std::string& name) const { return used_.count(name) > 0; }
  std::string str(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() || it->second.empty() ? "" : it->second.back();
  }
  bool boolean(const std::string& name) const { return str(name) == "true"; }
  std::vector<std::string> strs(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? std::vector<std::string>{} : it->second;
  }

 private:
  const std::vector<std::string>& args_;
  std::map<std::string, Type> defs_;
  std::set<std::string> used_;
  std::map<std::string, std::vector<std::string>> values_;
};

std::unexpected<Error> atLeastOne(std::string_view cmd) {
  return errorf(Code::InvalidArgument, "{} requires at least one argument", cmd);
}
std::unexpected<Error> exactlyOne(std::string_view cmd) {
  return errorf(Code::InvalidArgument, "{} requires exactly one argument", cmd);
}

std::vector<std::string> handleJsonArgs(const Node& n) {
  if (n.args.empty()) return {};
  if (n.json) return n.args;
  std::string joined;
  for (size_t i = 0; i < n.args.size(); ++i) {
    if (i) joined.push_back(' ');
    joined += n.args[i];
  }
  return {joined};
}

bool validStageName(std::string_view s) {
  if (s.empty() || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

Result<int64_t> parseInterval(const Flags& f, const std::string& name) {
  std::string s = f.str(name);
  if (s.empty()) return 0;
  TRY_ASSIGN(int64_t d, parseGoDuration(s));
  if (d == 0) return 0;
  if (d < 1'000'000) return errorf(Code::InvalidArgument, "Interval {} cannot be less than 1ms", goQuote(name));
  return d;
}

Result<void> parseSourcesAndDest(const Node& n, std::string_view cmd, Instruction& ins) {
  ins.dest = n.args.back();
  TRY_ASSIGN(auto destDoc, parseHeredocWord(ins.dest));
  if (destDoc) return errorf(Code::InvalidArgument, "{} cannot accept a heredoc as a destination", cmd);
  for (size_t i = 0; i + 1 < n.args.size(); ++i) {
    TRY_ASSIGN(auto doc, parseHeredocWord(n.args[i]));
    if (!doc) {
      ins.sources.push_back(n.args[i]);
      continue;
    }
    std::string content;
    for (const auto& h : n.heredocs) {
      if (h.name == doc->name) content = h.content;
    }
    if (doc->chomp) content = chompHeredoc(content);
    ins.inlineSources.push_back({doc->name, std::move(content), doc->expand});
  }
  return {};
}

Result<void> validateRunFlagValues(Instruction& ins) {
  if (!ins.network.empty() && ins.network.find('$') == std::string::npos && ins.network != "default" &&
      ins.network != "none" && ins.network != "host") {
    return errorf(Code::InvalidArgument, "invalid network mode {}", goQuote(ins.network));
  }
  if (!ins.security.empty() && ins.security.find('$') == std::string::npos && ins.security != "sandbox" &&
      ins.security != "insecure") {
    return errorf(Code::InvalidArgument, "security {} is not valid", goQuote(ins.security));
  }
  for (const auto& m : ins.mounts) {
    if (m.find('$') != std::string::npos) continue;  // validated once expanded
    TRY(parseMount(m));
  }
  return {};
}

Result<Instruction> parseInstruction(const Node& n) {
  Instruction ins;
  ins.keyword = n.keyword;
  ins.original = n.original;
  ins.startLine = n.startLine;
  ins.endLine = n.endLine;
  ins.flags = n.flags;
  ins.args = n.args;
  ins.json = n.json;
  ins.heredocs = n.heredocs;
  auto kind = kindOf(n.keyword);
  if (!kind) {
    return makeError(Code::InvalidArgument, withSuggestion("unknown instruction: " + n.keyword, n.keyword,
                                                           instructionNames(), false));
  }
  ins.kind = *kind;
  Flags flags(n.flags);
  const auto& args = n.args;
  switch (*kind) {
    case InstructionKind::Env:
    case InstructionKind::Label: {
      TRY(flags.parse());
      std::string_view name = *kind == InstructionKind::Env ? "ENV" : "LABEL";
      if (n.pairs.empty()) return atLeastOne(name);
      for (const auto& p : n.pairs) {
        if (p.key.empty()) return errorf(Code::InvalidArgument, "{} names can not be blank", name);
      }
      ins.pairs = n.pairs;
      break;
    }
    case InstructionKind::Maintainer:
      if (args.size() != 1) return exactlyOne("MAINTAINER");
      TRY(flags.parse());
      ins.value = args[0];
      break;
    case InstructionKind::Add:
    case InstructionKind::Copy: {
      bool isCopy = *kind == InstructionKind::Copy;
      std::string_view name = isCopy ? "COPY" : "ADD";
      if (args.size() < 2) {
        return errorf(Code::InvalidArgument,
                      "{} requires at least two arguments, but only one was provided. Destination could not be determined",
                      name);
      }
      flags.add("chown", Flags::String);
      flags.add("chmod", Flags::String);
      flags.add("link", Flags::Bool);
      flags.add("exclude", Flags::Strings);
      if (isCopy) {
        flags.add("from", Flags::String);
        flags.add("parents", Flags::Bool);
      } else {
        flags.add("keep-git-dir", Flags::Bool);
        flags.add("checksum", Flags::String);
        flags.add("unpack", Flags::Bool);
      }
      TRY(flags.parse());
      TRY(parseSourcesAndDest(n, name, ins));
      ins.chown = flags.str("chown");
      ins.chmod = flags.str("chmod");
      ins.link = flags.boolean("link");
      ins.excludes = flags.strs("exclude");
      if (isCopy) {
        ins.from = flags.str("from");
        ins.parents = flags.boolean("parents");
      } else {
        ins.checksum = flags.str("checksum");
        if (flags.used("keep-git-dir")) ins.keepGitDir = flags.boolean("keep-git-dir");
        if (flags.used("unpack")) ins.unpack = flags.boolean("unpack");
      }
      break;
    }
    case InstructionKind::From: {
      if (args.size() == 3 && toLower(args[1]) == "as") {
        ins.stageName = toLower(args[2]);
        if (!validStageName(ins.stageName)) {
          return errorf(Code::InvalidArgument,
                        "invalid name for build stage: {}, name can't start with a number or contain symbols",
                        goQuote(args[2]));
        }
      } else if (args.size() != 1) {
        return makeError(Code::InvalidArgument, "FROM requires either one or three arguments");
      }
      flags.add("platform", Flags::String);
      TRY(flags.parse());
      ins.baseName = args[0];
      ins.platform = flags.str("platform");
      break;
    }
    case InstructionKind::Onbuild: {
      if (args.empty()) return atLeastOne("ONBUILD");
      TRY(flags.parse());
      std::string trigger = toUpper(trim(args[0]));
      if (trigger == "ONBUILD") {
        return makeError(Code::InvalidArgument, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
      }
      if (trigger == "MAINTAINER" || trigger == "FROM") {
        return errorf(Code::InvalidArgument, "{} isn't allowed as an ONBUILD trigger", trigger);
      }
      std::string_view expr = trimLeft(n.original);
      if (expr.size() >= 7 && toLower(expr.substr(0, 7)) == "onbuild") expr = trimLeft(expr.substr(7));
      ins.expression = std::string(expr);
      for (const auto& h : n.heredocs) ins.expression += "\n" + h.content + h.name;
      ins.triggerKeyword = trigger;
      break;
    }
    case InstructionKind::Workdir:
      if (args.size() != 1) return exactlyOne("WORKDIR");
      TRY(flags.parse());
      ins.value = args[0];
      break;
    case InstructionKind::Run:
      flags.add("mount", Flags::Strings);
      flags.add("network", Flags::String);
      flags.add("security", Flags::String);
      TRY(flags.parse());
      ins.mounts = flags.strs("mount");
      ins.network = flags.str("network");
      ins.security = flags.str("security");
      TRY(validateRunFlagValues(ins));
      ins.cmdLine = handleJsonArgs(n);
      ins.prependShell = !n.json;
      break;
    case InstructionKind::Cmd:
    case InstructionKind::Entrypoint:
      TRY(flags.parse());
      ins.cmdLine = handleJsonArgs(n);
      ins.prependShell = !n.json;
      break;
    case InstructionKind::Healthcheck: {
      if (args.empty()) return atLeastOne("HEALTHCHECK");
      std::string typ = toUpper(args[0]);
      HealthcheckSpec hc;
      if (typ == "NONE") {
        if (args.size() != 1) return makeError(Code::InvalidArgument, "HEALTHCHECK NONE takes no arguments");
        hc.test = {"NONE"};
        ins.health = hc;
        break;
      }
      for (const char* f : {"interval", "timeout", "start-period", "start-interval", "retries"}) {
        flags.add(f, Flags::String);
      }
      TRY(flags.parse());
      if (typ != "CMD") {
        return errorf(Code::InvalidArgument, "Unknown type {} in HEALTHCHECK (try CMD)", goQuote(typ));
      }
      Node rest;
      rest.args.assign(args.begin() + 1, args.end());
      rest.json = n.json;
      auto cmd = handleJsonArgs(rest);
      if (cmd.empty()) return makeError(Code::InvalidArgument, "Missing command after HEALTHCHECK CMD");
      hc.test.push_back(n.json ? "CMD" : "CMD-SHELL");
      hc.test.insert(hc.test.end(), cmd.begin(), cmd.end());
      TRY_ASSIGN(hc.intervalNs, parseInterval(flags, "interval"));
      TRY_ASSIGN(hc.timeoutNs, parseInterval(flags, "timeout"));
      TRY_ASSIGN(hc.startPeriodNs, parseInterval(flags, "start-period"));
      TRY_ASSIGN(hc.startIntervalNs, parseInterval(flags, "start-interval"));
      std::string retries = flags.str("retries");
      if (!retries.empty()) {
        int32_t r = 0;
        auto [p, ec] = std::from_chars(retries.data(), retries.data() + retries.size(), r);
        if (ec == std::errc::result_out_of_range) {
          return errorf(Code::InvalidArgument, "strconv.ParseInt: parsing {}: value out of range", goQuote(retries));
        }
        if (ec != std::errc() || p != retries.data() + retries.size()) {
          return errorf(Code::InvalidArgument, "strconv.ParseInt: parsing {}: invalid syntax", goQuote(retries));
        }
        if (r < 0) return errorf(Code::InvalidArgument, "--retries cannot be negative ({})", r);
        hc.retries = r;
      }
      ins.health = hc;
      break;
    }
    case InstructionKind::Expose:
      if (args.empty()) return atLeastOne("EXPOSE");
      TRY(flags.parse());
      ins.ports = args;
      std::sort(ins.ports.begin(), ins.ports.end());
      break;
    case InstructionKind::User:
      if (args.size() != 1) return exactlyOne("USER");
      TRY(flags.parse());
      ins.value = args[0];
      break;
    case InstructionKind::Volume:
      if (args.empty()) return atLeastOne("VOLUME");
      TRY(flags.parse());
      for (const auto& v : args) {
        std::string_view t = trim(v);
        if (t.empty()) return makeError(Code::InvalidArgument, "VOLUME specified can not be an empty string");
        ins.volumes.emplace_back(t);
      }
      break;
    case InstructionKind::StopSignal:
      if (args.size() != 1) return exactlyOne("STOPSIGNAL");
      ins.value = args[0];
      break;
    case InstructionKind::Arg:
      if (args.empty()) return atLeastOne("ARG");
      for (const auto& a : args) {
        ArgDef d;
        auto eq = a.find('=');
        if (eq != std::string::npos) {
          if (eq == 0) return makeError(Code::InvalidArgument, "ARG names can not be blank");
          d.key = a.substr(0, eq);
          d.value = a.substr(eq + 1);
        } else {
          d.key = a;
        }
        ins.argDefs.push_back(std::move(d));
      }
      break;
    case InstructionKind::Shell: {
      TRY(flags.parse());
      auto shell = handleJsonArgs(n);
      if (shell.empty()) return atLeastOne("SHELL");
      if (!n.json) return makeError(Code::InvalidArgument, "SHELL requires the arguments to be in JSON form");
      ins.cmdLine = shell;
      break;
    }
  }
  return ins;
}

// ------------------------------------------------------------- directives

class DirectiveParser {
 public:
  // Returns the (key, value) of a parser directive, nullopt for any other
  // line (and for every line once a non-directive was seen).
  Result<std::optional<std::pair<std::string, std::string>>> parseLine(std::string_view line) {
    using R = std::optional<std::pair<std::string, std::string>>;
    if (done_) return R();
    if (!line.starts_with("#")) {
      done_ = true;
      return R();
    }
    std::string_view s = trimLeft(line.substr(1));
    size_t i = 0;
    auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
    if (s.empty() || !alpha(s[0])) {
      done_ = true;
      return R();
    }
    while (i < s.size() && (alpha(s[i]) || (s[i] >= '0' && s[i] <= '9'))) ++i;
    std::string key = toLower(s.substr(0, i));
    size_t j = i;
    while (j < s.size() && isSpace(s[j])) ++j;
    if (j >= s.size() || s[j] != '=') {
      done_ = true;
      return R();
    }
    std::string_view value = trim(s.substr(j + 1));
    if (value.empty() || (key != "syntax" && key != "escape" && key != "check")) {
      done_ = true;
      return R();
    }
    if (!seen_.insert(key).second) {
      return errorf(Code::InvalidArgument, "only one {} parser directive can be used", key);
    }
    return R(std::pair{key, std::string(value)});
  }

 private:
  bool done_ = false;
  std::set<std::string> seen_;
};

// Continuation: the line ends with the escape character (then optional
// blanks) not itself escaped. Returns the line without it.
std::optional<std::string_view> continuationOf(std::string_view line, char esc) {
  std::string_view t = line;
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  if (t.empty() || t.back() != esc) return std::nullopt;
  if (t.size() == 1) return std::string_view();
  if (t[t.size() - 2] == esc) return std::nullopt;
  return t.substr(0, t.size() - 1);
}

}  // namespace

std::string_view instructionName(InstructionKind kind) {
  switch (kind) {
    case InstructionKind::Add: return "ADD";
    case InstructionKind::Arg: return "ARG";
    case InstructionKind::Cmd: return "CMD";
    case InstructionKind::Copy: return "COPY";
    case InstructionKind::Entrypoint: return "ENTRYPOINT";
    case InstructionKind::Env: return "ENV";
    case InstructionKind::Expose: return "EXPOSE";
    case InstructionKind::From: return "FROM";
    case InstructionKind::Healthcheck: return "HEALTHCHECK";
    case InstructionKind::Label: return "LABEL";
    case InstructionKind::Maintainer: return "MAINTAINER";
    case InstructionKind::Onbuild: return "ONBUILD";
    case InstructionKind::Run: return "RUN";
    case InstructionKind::Shell: return "SHELL";
    case InstructionKind::StopSignal: return "STOPSIGNAL";
    case InstructionKind::User: return "USER";
    case InstructionKind::Volume: return "VOLUME";
    case InstructionKind::Workdir: return "WORKDIR";
  }
  return "";
}

std::string chompHeredoc(std::string_view content) {
  std::string out;
  bool lineStart = true;
  for (char c : content) {
    if (lineStart && c == '\t') continue;
    lineStart = c == '\n';
    out.push_back(c);
  }
  return out;
}

int Dockerfile::stageIndex(std::string_view name) const {
  std::string want = toLower(name);
  for (size_t i = 0; i < stages.size(); ++i) {
    if (!stages[i].name.empty() && stages[i].name == want) return static_cast<int>(i);
  }
  return -1;
}

size_t Dockerfile::instructionCount() const {
  size_t n = metaArgs.size();
  for (const auto& s : stages) n += 1 + s.commands.size();
  return n;
}

Result<Dockerfile> parseDockerfile(std::string_view text, std::string_view name) {
  if (text.empty()) return errorf(Code::InvalidArgument, "the Dockerfile ({}) cannot be empty", name);
  auto syntaxError = [&](const Error& e) {
    return std::unexpected(Error{Code::InvalidArgument, 0, fmt::format("failed to parse {}: {}", name, e.message)});
  };

  // Physical lines, each with its newline (as bufio's line scanner keeps it).
  std::vector<std::string_view> lines;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    lines.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  if (lines[0].starts_with("\xEF\xBB\xBF")) lines[0].remove_prefix(3);

  Dockerfile df;
  DirectiveParser directives;
  std::vector<std::unique_ptr<Node>> nodes;
  size_t idx = 0;
  int currentLine = 0;
  auto processLine = [&](std::string_view raw, bool stripLeft) -> Result<std::string_view> {
    std::string_view token = trimNewline(raw);
    if (stripLeft) token = trimLeft(token);
    TRY_ASSIGN(auto directive, directives.parseLine(token));
    if (directive) {
      if (directive->first == "escape") {
        if (directive->second != "`" && directive->second != "\\") {
          return errorf(Code::InvalidArgument, "invalid escape token '{}' does not match ` or \\",
                        directive->second);
        }
        df.escape = directive->second[0];
      } else if (directive->first == "syntax") {
        df.syntax = directive->second;
      }
    }
    if (isComment(token)) return std::string_view();
    return token;
  };

  while (idx < lines.size()) {
    auto first = processLine(lines[idx], true);
    if (!first) return syntaxError(first.error());
    ++idx;
    ++currentLine;
    int startLine = currentLine;
    std::string buf;
    auto cont = continuationOf(*first, df.escape);
    bool isEnd = !cont;
    if (isEnd && first->empty()) continue;
    buf = std::string(cont ? *cont : *first);
    bool emptyContinuation = false;
    while (!isEnd && idx < lines.size()) {
      std::string_view raw = lines[idx++];
      auto next = processLine(raw, false);
      if (!next) return syntaxError(next.error());
      ++currentLine;
      if (isComment(raw)) continue;
      if (trimLeft(trimNewline(*next)).empty()) {
        emptyContinuation = true;
        continue;
      }
      auto c = continuationOf(*next, df.escape);
      isEnd = !c;
      buf += c ? *c : *next;
    }
    if (emptyContinuation) df.warnings.push_back("Empty continuation line found in: " + buf);

    auto node = nodeFromLine(buf, df.escape);
    if (!node) return syntaxError(node.error());
    if (canContainHeredoc(**node) && buf.find("<<") != std::string::npos) {
      auto docs = heredocsFromLine(buf);
      if (!docs) return syntaxError(docs.error());
      for (auto& doc : *docs) {
        bool terminated = false;
        std::string content;
        while (idx < lines.size()) {
          std::string_view raw = lines[idx++];
          ++currentLine;
          std::string_view term = trimNewline(raw);
          if (doc.chomp) {
            while (!term.empty() && term.front() == '\t') term.remove_prefix(1);
          }
          if (term == doc.name) {
            terminated = true;
            break;
          }
          content += raw;
        }
        if (!terminated) return syntaxError(Error{Code::InvalidArgument, 0, "unterminated heredoc"});
        doc.content = std::move(content);
        (*node)->heredocs.push_back(std::move(doc));
      }
    }
    (*node)->startLine = startLine;
    (*node)->endLine = currentLine;
    nodes.push_back(std::move(*node));
  }
  if (nodes.empty()) return syntaxError(Error{Code::InvalidArgument, 0, "file with no instructions"});

  for (const auto& node : nodes) {
    auto ins = parseInstruction(*node);
    if (!ins) {
      return errorf(Code::InvalidArgument, "dockerfile parse error on line {}: {}", node->startLine,
                    ins.error().message);
    }
    if (df.stages.empty() && ins->kind == InstructionKind::Arg) {
      df.metaArgs.push_back(std::move(*ins));
      continue;
    }
    if (ins->kind == InstructionKind::From) {
      Stage st;
      st.name = ins->stageName;
      st.baseName = ins->baseName;
      st.platform = ins->platform;
      st.from = std::move(*ins);
      df.stages.push_back(std::move(st));
      continue;
    }
    if (df.stages.empty()) return makeError(Code::InvalidArgument, "no build stage in current context");
    df.stages.back().commands.push_back(std::move(*ins));
  }
  return df;
}


}  // namespace berth::build
