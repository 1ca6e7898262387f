#include "build/shell_lex.h"

#include <map>

namespace berth::build {

namespace {

constexpr int kEof = -1;

// Go's unicode.IsSpace restricted to ASCII (multi-byte spaces are not split on).
bool isSpace(int c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

bool isDigit(int c) { return c >= '0' && c <= '9'; }

// Letters for variable names: ASCII letters, and any non-ASCII byte (Go
// accepts Unicode letters; a UTF-8 sequence is kept whole this way).
bool isNameChar(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c) || c == '_' || c >= 0x80;
}

bool isSpecialParam(int c) {
  switch (c) {
    case '@': case '*': case '#': case '?': case '-': case '$': case '!': case '0':
      return true;
    default:
      return false;
  }
}

// Collects words as BuildKit's wordsStruct does: whitespace splits only when
// it was added as an ordinary character (unquoted text or a $VAR value).
struct Words {
  std::string buf;
  std::vector<std::string> words;
  bool inWord = false;

  void addChar(int c) {
    if (isSpace(c) && inWord) {
      if (!buf.empty()) {
        words.push_back(std::move(buf));
        buf.clear();
        inWord = false;
      }
    } else if (!isSpace(c)) {
      addRawChar(c);
    }
  }
  void addRawChar(int c) {
    buf.push_back(static_cast<char>(c));
    inWord = true;
  }
  void addString(std::string_view s) {
    for (char c : s) addChar(static_cast<unsigned char>(c));
  }
  void addRawString(std::string_view s) {
    buf.append(s);
    inWord = true;
  }
  std::vector<std::string> take() {
    if (!buf.empty()) {
      words.push_back(std::move(buf));
      buf.clear();
      inWord = false;
    }
    return std::move(words);
  }
};

// A shell glob (`*`, `?`, `\` escapes) as ${VAR#...} and friends use it.
struct GlobToken {
  enum Kind { Lit, Star, Any } kind;
  char c = 0;
};

Result<std::vector<GlobToken>> compileGlob(std::string_view pattern) {
  std::vector<GlobToken> out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '*') {
      out.push_back({GlobToken::Star});
    } else if (c == '?') {
      out.push_back({GlobToken::Any});
    } else if (c == '\\') {
      if (i + 1 < pattern.size() && (pattern[i + 1] == '}' || pattern[i + 1] == '/')) continue;
      if (i + 1 >= pattern.size()) return errorf(Code::InvalidArgument, "invalid escape '\\'");
      char n = pattern[++i];
      if (n != '*' && n != '?' && n != '\\') {
        return errorf(Code::InvalidArgument, "invalid escape '\\{}'", n);
      }
      out.push_back({GlobToken::Lit, n});
    } else {
      out.push_back({GlobToken::Lit, c});
    }
  }
  return out;
}

bool globMatch(const std::vector<GlobToken>& p, size_t pi, std::string_view s, size_t si) {
  for (; pi < p.size(); ++pi) {
    switch (p[pi].kind) {
      case GlobToken::Star:
        for (size_t k = s.size(); k + 1 > si; --k) {
          if (globMatch(p, pi + 1, s, k)) return true;
          if (k == 0) break;
        }
        return false;
      case GlobToken::Any:
        if (si >= s.size()) return false;
        ++si;
        break;
      case GlobToken::Lit:
        if (si >= s.size() || s[si] != p[pi].c) return false;
        ++si;
        break;
    }
  }
  return si == s.size();
}

bool globFull(const std::vector<GlobToken>& p, std::string_view s) { return globMatch(p, 0, s, 0); }

class Lexer {
 public:
  Lexer(std::string_view src, const EnvLookup& env, const LexOptions& opts)
      : src_(src), env_(env), opts_(opts), rawEscapes_(opts.rawEscapes) {}

  Result<std::pair<std::string, std::vector<std::string>>> processStopOn(int stop, bool rawEscapes) {
    bool saved = rawEscapes_;
    rawEscapes_ = rawEscapes;
    auto r = processStopOnImpl(stop);
    rawEscapes_ = saved;
    return r;
  }

  int peek() const { return pos_ < src_.size() ? static_cast<unsigned char>(src_[pos_]) : kEof; }

 private:
  int next() { return pos_ < src_.size() ? static_cast<unsigned char>(src_[pos_++]) : kEof; }
  int escape() const { return static_cast<unsigned char>(opts_.escape); }

  Result<std::pair<std::string, std::vector<std::string>>> processStopOnImpl(int stop) {
    std::string result;
    Words words;
    while (peek() != kEof) {
      int ch = peek();
      if (stop != kEof && ch == stop) {
        next();
        return std::pair{std::move(result), words.take()};
      }
      bool quote = !opts_.skipProcessQuotes && (ch == '\'' || ch == '"');
      if (ch == '$' || ch == '<' || quote) {
        Result<std::string> tmp = ch == '$'    ? processDollar()
                                  : ch == '<'  ? processPossibleHeredoc()
                                  : ch == '\'' ? processSingleQuote()
                                               : processDoubleQuote();
        if (!tmp) return std::unexpected(tmp.error());
        result += *tmp;
        if (ch == '$') {
          words.addString(*tmp);
        } else {
          words.addRawString(*tmp);
        }
        continue;
      }
      ch = next();
      if (ch == escape()) {
        if (rawEscapes_) {
          words.addRawChar(ch);
          result.push_back(static_cast<char>(ch));
        }
        ch = next();
        if (ch == kEof) break;
        words.addRawChar(ch);
      } else {
        words.addChar(ch);
      }
      result.push_back(static_cast<char>(ch));
    }
    if (stop != kEof) {
      return errorf(Code::InvalidArgument, "unexpected end of statement while looking for matching {}",
                    static_cast<char>(stop));
    }
    return std::pair{std::move(result), words.take()};
  }

  Result<std::string> processSingleQuote() {
    std::string result;
    int ch = next();
    if (opts_.rawQuotes) result.push_back(static_cast<char>(ch));
    for (;;) {
      ch = next();
      if (ch == kEof) {
        return makeError(Code::InvalidArgument,
                         "unexpected end of statement while looking for matching single-quote");
      }
      if (ch == '\'') {
        if (opts_.rawQuotes) result.push_back('\'');
        return result;
      }
      result.push_back(static_cast<char>(ch));
    }
  }

  Result<std::string> processDoubleQuote() {
    std::string result;
    int ch = next();
    if (opts_.rawQuotes) result.push_back(static_cast<char>(ch));
    for (;;) {
      int p = peek();
      if (p == kEof) {
        return makeError(Code::InvalidArgument,
                         "unexpected end of statement while looking for matching double-quote");
      }
      if (p == '"') {
        next();
        if (opts_.rawQuotes) result.push_back('"');
        return result;
      }
      if (p == '$') {
        TRY_ASSIGN(std::string value, processDollar());
        result += value;
        continue;
      }
      ch = next();
      if (ch == escape()) {
        if (rawEscapes_) result.push_back(static_cast<char>(ch));
        int n = peek();
        if (n == kEof) continue;
        if (n == '"' || n == '$' || n == escape()) ch = next();
      }
      result.push_back(static_cast<char>(ch));
    }
  }

  std::string processName() {
    std::string name;
    while (peek() != kEof) {
      int ch = peek();
      if (name.empty() && isDigit(ch)) {
        while (isDigit(peek())) name.push_back(static_cast<char>(next()));
        return name;
      }
      if (name.empty() && isSpecialParam(ch)) {
        name.push_back(static_cast<char>(next()));
        return name;
      }
      if (!isNameChar(ch)) break;
      name.push_back(static_cast<char>(next()));
    }
    return name;
  }

  std::optional<std::string> getEnv(std::string_view name) const {
    if (!env_) return std::nullopt;
    return env_(name);
  }

  Result<std::string> processDollar() {
    next();  // '$'
    if (peek() != '{') {
      std::string name = processName();
      if (name.empty()) return std::string("$");
      auto value = getEnv(name);
      if (!value && opts_.skipUnsetEnv) return "$" + name;
      return value.value_or("");
    }
    next();  // '{'
    int p = peek();
    if (p == kEof) return makeError(Code::InvalidArgument, "syntax error: missing '}'");
    if (p == '{' || p == '}' || p == ':') {
      return makeError(Code::InvalidArgument, "syntax error: bad substitution");
    }
    std::string name = processName();
    int ch = next();
    if (ch == kEof) return makeError(Code::InvalidArgument, "syntax error: missing '}'");
    std::string chs(1, static_cast<char>(ch));
    if (ch == '}') {
      auto value = getEnv(name);
      if (!value && opts_.skipUnsetEnv) return "${" + name + "}";
      return value.value_or("");
    }
    if (ch == '/') return processReplace(name);
    bool nullIsUnset = false;
    if (ch == ':') {
      nullIsUnset = true;
      ch = next();
      if (ch == kEof) return makeError(Code::InvalidArgument, "syntax error: missing '}'");
      chs.push_back(static_cast<char>(ch));
    } else if (ch != '+' && ch != '-' && ch != '?' && ch != '#' && ch != '%') {
      return errorf(Code::InvalidArgument, "unsupported modifier ({}) in substitution", chs);
    }
    bool raw = ch == '#' || ch == '%';
    if (nullIsUnset && raw) {
      return errorf(Code::InvalidArgument, "unsupported modifier ({}) in substitution", chs);
    }
    auto word = processStopOn('}', raw);
    if (!word) {
      if (peek() == kEof) return makeError(Code::InvalidArgument, "syntax error: missing '}'");
      return std::unexpected(word.error());
    }
    std::string w = std::move(word->first);
    auto value = getEnv(name);
    if (opts_.skipUnsetEnv && !value) return "${" + name + chs + w + "}";
    bool set = value.has_value();
    std::string v = value.value_or("");
    switch (ch) {
      case '-':
        return (!set || (nullIsUnset && v.empty())) ? w : v;
      case '+':
        return (!set || (nullIsUnset && v.empty())) ? std::string() : w;
      case '?':
        if (!set) {
          return errorf(Code::InvalidArgument, "{}: {}", name, w.empty() ? "is not allowed to be unset" : w);
        }
        if (nullIsUnset && v.empty()) {
          return errorf(Code::InvalidArgument, "{}: {}", name, w.empty() ? "is not allowed to be empty" : w);
        }
        return v;
      case '#':
      case '%': {
        bool greedy = !w.empty() && w[0] == static_cast<char>(ch);
        if (greedy) w.erase(0, 1);
        auto glob = compileGlob(w);
        if (!glob) {
          return errorf(Code::InvalidArgument, "invalid pattern ({}) in substitution: {}", w, glob.error().message);
        }
        size_t n = v.size();
        for (size_t k = 0; k <= n; ++k) {
          size_t len = greedy ? n - k : k;
          std::string_view part = ch == '#' ? std::string_view(v).substr(0, len)
                                            : std::string_view(v).substr(n - len);
          if (globFull(*glob, part)) return ch == '#' ? v.substr(len) : v.substr(0, n - len);
        }
        return v;
      }
      default:
        return errorf(Code::InvalidArgument, "unsupported modifier ({}) in substitution", chs);
    }
  }

  // ${name/pattern/replacement} and ${name//pattern/replacement}; the
  // leftmost, longest match is replaced.
  Result<std::string> processReplace(const std::string& name) {
    bool all = peek() == '/';
    if (all) next();
    auto pattern = processStopOn('/', true);
    if (!pattern) {
      if (peek() == kEof) return makeError(Code::InvalidArgument, "syntax error: missing '/' in ${}");
      return std::unexpected(pattern.error());
    }
    auto repl = processStopOn('}', true);
    if (!repl) {
      if (peek() == kEof) return makeError(Code::InvalidArgument, "syntax error: missing '}'");
      return std::unexpected(repl.error());
    }
    auto value = getEnv(name);
    if (opts_.skipUnsetEnv && !value) {
      return "${" + name + "/" + pattern->first + "/" + repl->first + "}";
    }
    auto glob = compileGlob(pattern->first);
    if (!glob) {
      return errorf(Code::InvalidArgument, "invalid pattern ({}) in substitution: {}", pattern->first,
                    glob.error().message);
    }
    std::string v = value.value_or("");
    std::string out;
    size_t i = 0;
    bool done = false;
    while (i <= v.size() && !done) {
      bool found = false;
      for (size_t len = v.size() - i + 1; len-- > 0;) {
        if (globFull(*glob, std::string_view(v).substr(i, len))) {
          out += repl->first;
          if (len == 0) {
            if (i < v.size()) out.push_back(v[i]);
            i += 1;
          } else {
            i += len;
          }
          found = true;
          break;
        }
      }
      if (!found) {
        if (i < v.size()) out.push_back(v[i]);
        ++i;
      } else if (!all) {
        done = true;
      }
    }
    if (i < v.size()) out += v.substr(i);
    return out;
  }

  Result<std::string> processPossibleHeredoc() {
    next();  // '<'
    if (peek() != '<') return std::string("<");
    next();
    std::string result = "<<";
    while (peek() == ' ' || peek() == '\t' || peek() == '\r') result.push_back(static_cast<char>(next()));
    return result;
  }

  std::string_view src_;
  size_t pos_ = 0;
  const EnvLookup& env_;
  const LexOptions& opts_;
  bool rawEscapes_;
};

Result<std::pair<std::string, std::vector<std::string>>> process(std::string_view word, const EnvLookup& env,
                                                                 const LexOptions& opts) {
  Lexer lexer(word, env, opts);
  auto r = lexer.processStopOn(kEof, opts.rawEscapes);
  if (!r) return std::unexpected(r.error().wrap("failed to process " + goQuote(word)));
  return r;
}

}  // namespace

EnvLookup envFromList(std::vector<std::string> entries) {
  std::map<std::string, std::string, std::less<>> m;
  for (auto& e : entries) {
    auto eq = e.find('=');
    if (eq == std::string::npos) {
      m[e] = "";
    } else {
      m[e.substr(0, eq)] = e.substr(eq + 1);
    }
  }
  return [m = std::move(m)](std::string_view k) -> std::optional<std::string> {
    auto it = m.find(k);
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
}

EnvLookup envFromPairs(std::vector<std::pair<std::string, std::string>> pairs) {
  std::map<std::string, std::string, std::less<>> m;
  for (auto& [k, v] : pairs) m[k] = v;
  return [m = std::move(m)](std::string_view k) -> std::optional<std::string> {
    auto it = m.find(k);
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
}

EnvLookup emptyEnv() {
  return [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
}

Result<std::string> processWord(std::string_view word, const EnvLookup& env, const LexOptions& opts) {
  TRY_ASSIGN(auto r, process(word, env, opts));
  return std::move(r.first);
}

Result<std::vector<std::string>> processWords(std::string_view word, const EnvLookup& env,
                                              const LexOptions& opts) {
  TRY_ASSIGN(auto r, process(word, env, opts));
  return std::move(r.second);
}

std::string goQuote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '\a': out += "\\a"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\v': out += "\\v"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += fmt::format("\\x{:02x}", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out += "\"";
  return out;
}

}  // namespace berth::build
