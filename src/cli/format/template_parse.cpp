// Lexer and parser for the Go text/template subset (Go's text/template/parse).
// Internally errors unwind as a private exception type, caught in
// parseTemplate(); nothing escapes this file.
#include <cstdlib>
#include <stdexcept>

#include "cli/format/template_parse.h"
#include "cli/format/utf8.h"
#include "common/number.h"

namespace berth::cli::format {

namespace {

enum class Tok {
  Text, LeftDelim, RightDelim, Space, Field, Variable, Identifier, String, RawString, CharConst,
  Number, Bool, Nil, Dot, Pipe, LeftParen, RightParen, Declare, Assign, Char, Keyword, Error, Eof,
};

struct Token {
  Tok type;
  std::string val;
  size_t pos = 0;
  int line = 1;
};

const std::set<std::string> kKeywords = {"block", "break", "continue", "define", "else", "end",
                                         "if", "range", "template", "with"};

bool isSpaceChar(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool isAlnum(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return u == '_' || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u >= 0x80;
}

std::string tokString(const Token& t) {
  switch (t.type) {
    case Tok::Eof: return "EOF";
    case Tok::Error: return t.val;
    case Tok::Keyword: return fmt::format("<{}>", t.val);
    default: break;
  }
  if (t.val.size() > 10) return fmt::format("{}...", goQuote(t.val.substr(0, 10)));
  return goQuote(t.val);
}

class Lexer {
 public:
  explicit Lexer(const std::string& s) : s_(s) {}

  std::vector<Token> run() {
    while (true) {
      size_t idx = s_.find("{{", pos_);
      if (idx == std::string::npos) {
        emitText(pos_, s_.size());
        break;
      }
      bool trimLeft = idx + 3 < s_.size() + 0 && s_.size() > idx + 3 && s_[idx + 2] == '-' && isSpaceChar(s_[idx + 3]);
      size_t textEnd = idx;
      if (trimLeft) {
        while (textEnd > pos_ && isSpaceChar(s_[textEnd - 1])) --textEnd;
      }
      emitText(pos_, textEnd);
      countLines(pos_, idx);
      pos_ = idx + 2 + (trimLeft ? 2 : 0);
      if (s_.compare(pos_, 2, "/*") == 0) {
        size_t end = s_.find("*/", pos_ + 2);
        if (end == std::string::npos) return error("unclosed comment");
        countLines(pos_, end);
        pos_ = end + 2;
        bool trim = false;
        if (pos_ + 1 < s_.size() && isSpaceChar(s_[pos_]) && s_[pos_ + 1] == '-' && s_.compare(pos_ + 2, 2, "}}") == 0) {
          trim = true;
          pos_ += 4;
        } else if (s_.compare(pos_, 2, "}}") == 0) {
          pos_ += 2;
        } else {
          return error("comment ends before closing delimiter");
        }
        if (trim) skipSpaces();
        continue;
      }
      toks_.push_back(Token{Tok::LeftDelim, "{{", idx, line_});
      if (!insideAction()) return toks_;
    }
    toks_.push_back(Token{Tok::Eof, "", s_.size(), line_});
    return toks_;
  }

 private:
  void countLines(size_t a, size_t b) {
    for (size_t i = a; i < b && i < s_.size(); ++i)
      if (s_[i] == '\n') ++line_;
  }
  void emitText(size_t a, size_t b) {
    if (b > a) toks_.push_back(Token{Tok::Text, s_.substr(a, b - a), a, line_});
  }
  void skipSpaces() {
    size_t st = pos_;
    while (pos_ < s_.size() && isSpaceChar(s_[pos_])) ++pos_;
    countLines(st, pos_);
  }
  std::vector<Token> error(std::string msg) {
    toks_.push_back(Token{Tok::Error, std::move(msg), pos_, line_});
    return toks_;
  }
  bool fail(std::string msg) {
    error(std::move(msg));
    return false;
  }
  void emit(Tok t, size_t start) { toks_.push_back(Token{t, s_.substr(start, pos_ - start), start, line_}); }

  // Lexes one action's inside, through its right delimiter.
  bool insideAction() {
    int parenDepth = 0;
    while (true) {
      if (pos_ + 3 < s_.size() + 0 && s_.size() >= pos_ + 4 && isSpaceChar(s_[pos_]) && s_[pos_ + 1] == '-' &&
          s_.compare(pos_ + 2, 2, "}}") == 0) {
        if (parenDepth) return fail("unclosed left paren");
        countLines(pos_, pos_ + 1);
        toks_.push_back(Token{Tok::RightDelim, "}}", pos_ + 2, line_});
        pos_ += 4;
        skipSpaces();
        return true;
      }
      if (s_.compare(pos_, 2, "}}") == 0) {
        if (parenDepth) return fail("unclosed left paren");
        toks_.push_back(Token{Tok::RightDelim, "}}", pos_, line_});
        pos_ += 2;
        return true;
      }
      if (pos_ >= s_.size()) return fail("unclosed action");
      char c = s_[pos_];
      size_t start = pos_;
      if (isSpaceChar(c)) {
        while (pos_ < s_.size() && isSpaceChar(s_[pos_])) {
          // stop before " -}}" so the trim marker is seen
          if (s_.size() >= pos_ + 4 && s_[pos_ + 1] == '-' && s_.compare(pos_ + 2, 2, "}}") == 0) break;
          if (s_[pos_] == '\n') ++line_;
          ++pos_;
        }
        if (pos_ > start) emit(Tok::Space, start);
        else {
          ++pos_;
          emit(Tok::Space, start);
        }
        continue;
      }
      switch (c) {
        case '=': ++pos_; emit(Tok::Assign, start); continue;
        case ':':
          if (s_.compare(pos_, 2, ":=") != 0) return fail("expected :=");
          pos_ += 2;
          emit(Tok::Declare, start);
          continue;
        case '|': ++pos_; emit(Tok::Pipe, start); continue;
        case '"': {
          ++pos_;
          while (true) {
            if (pos_ >= s_.size() || s_[pos_] == '\n') return fail("unterminated quoted string");
            if (s_[pos_] == '\\') {
              pos_ += 2;
              continue;
            }
            if (s_[pos_++] == '"') break;
          }
          emit(Tok::String, start);
          continue;
        }
        case '`': {
          size_t end = s_.find('`', pos_ + 1);
          if (end == std::string::npos) return fail("unterminated raw quoted string");
          countLines(pos_, end);
          pos_ = end + 1;
          emit(Tok::RawString, start);
          continue;
        }
        case '\'': {
          ++pos_;
          while (true) {
            if (pos_ >= s_.size() || s_[pos_] == '\n') return fail("unterminated character constant");
            if (s_[pos_] == '\\') {
              pos_ += 2;
              continue;
            }
            if (s_[pos_++] == '\'') break;
          }
          emit(Tok::CharConst, start);
          continue;
        }
        case '$': {
          ++pos_;
          while (pos_ < s_.size() && isAlnum(s_[pos_])) ++pos_;
          emit(Tok::Variable, start);
          continue;
        }
        case '(': ++pos_; ++parenDepth; emit(Tok::LeftParen, start); continue;
        case ')':
          if (parenDepth == 0) return fail("unexpected right paren");
          ++pos_;
          --parenDepth;
          emit(Tok::RightParen, start);
          continue;
        default: break;
      }
      if (c == '.') {
        if (pos_ + 1 < s_.size() && s_[pos_ + 1] >= '0' && s_[pos_ + 1] <= '9') {
          if (!number()) return false;
          continue;
        }
        ++pos_;
        while (pos_ < s_.size() && isAlnum(s_[pos_])) ++pos_;
        if (pos_ == start + 1) {
          emit(Tok::Dot, start);
        } else {
          emit(Tok::Field, start);
        }
        continue;
      }
      if (c == '+' || c == '-' || (c >= '0' && c <= '9')) {
        if (!number()) return false;
        continue;
      }
      if (isAlnum(c)) {
        while (pos_ < s_.size() && isAlnum(s_[pos_])) ++pos_;
        std::string word = s_.substr(start, pos_ - start);
        if (kKeywords.count(word)) emit(Tok::Keyword, start);
        else if (word == "true" || word == "false") emit(Tok::Bool, start);
        else if (word == "nil") emit(Tok::Nil, start);
        else emit(Tok::Identifier, start);
        continue;
      }
      if (static_cast<unsigned char>(c) < 0x7F && c >= ' ') {
        ++pos_;
        emit(Tok::Char, start);
        continue;
      }
      size_t n;
      char32_t r = detail::decodeRune(s_, pos_, &n);
      return fail(fmt::format("unrecognized character in action: U+{:04X}", static_cast<uint32_t>(r)));
    }
  }

  bool number() {
    size_t start = pos_;
    auto acceptRun = [&](std::string_view set) {
      while (pos_ < s_.size() && set.find(s_[pos_]) != std::string_view::npos) ++pos_;
    };
    auto accept = [&](std::string_view set) {
      if (pos_ < s_.size() && set.find(s_[pos_]) != std::string_view::npos) {
        ++pos_;
        return true;
      }
      return false;
    };
    accept("+-");
    std::string_view digits = "0123456789_";
    if (accept("0")) {
      if (accept("xX")) digits = "0123456789abcdefABCDEF_";
      else if (accept("oO")) digits = "01234567_";
      else if (accept("bB")) digits = "01_";
    }
    acceptRun(digits);
    if (accept(".")) acceptRun(digits);
    if (digits.size() == 11 && accept("eE")) {
      accept("+-");
      acceptRun("0123456789_");
    }
    if (pos_ < s_.size() && isAlnum(s_[pos_])) {
      ++pos_;
      return fail(fmt::format("bad number syntax: \"{}\"", s_.substr(start, pos_ - start)));
    }
    emit(Tok::Number, start);
    return true;
  }

  const std::string& s_;
  size_t pos_ = 0;
  int line_ = 1;
  std::vector<Token> toks_;
};

struct ParseError {
  std::string msg;
};

// Decodes a Go interpreted string literal ("...") or char literal ('x').
bool unquote(std::string_view q, std::string* out) {
  char quote = q.front();
  std::string_view s = q.substr(1, q.size() - 2);
  out->clear();
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == quote) return false;
    if (c != '\\') {
      out->push_back(c);
      continue;
    }
    if (++i >= s.size()) return false;
    char e = s[i];
    auto hex = [&](size_t n, uint32_t* v) {
      *v = 0;
      for (size_t k = 0; k < n; ++k) {
        if (++i >= s.size()) return false;
        char h = s[i];
        int d = (h >= '0' && h <= '9') ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10 : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
        if (d < 0) return false;
        *v = *v * 16 + static_cast<uint32_t>(d);
      }
      return true;
    };
    uint32_t v;
    switch (e) {
      case 'a': out->push_back('\a'); break;
      case 'b': out->push_back('\b'); break;
      case 'f': out->push_back('\f'); break;
      case 'n': out->push_back('\n'); break;
      case 'r': out->push_back('\r'); break;
      case 't': out->push_back('\t'); break;
      case 'v': out->push_back('\v'); break;
      case '\\': out->push_back('\\'); break;
      case '\'': if (quote != '\'') return false; out->push_back('\''); break;
      case '"': if (quote != '"') return false; out->push_back('"'); break;
      case 'x': if (!hex(2, &v)) return false; out->push_back(static_cast<char>(v)); break;
      case 'u': if (!hex(4, &v)) return false; detail::appendRune(*out, v); break;
      case 'U': if (!hex(8, &v)) return false; detail::appendRune(*out, v); break;
      default:
        if (e >= '0' && e <= '7') {
          v = 0;
          for (int k = 0; k < 3; ++k, ++i) {
            if (i >= s.size() || s[i] < '0' || s[i] > '7') return false;
            v = v * 8 + static_cast<uint32_t>(s[i] - '0');
          }
          --i;
          out->push_back(static_cast<char>(v));
          break;
        }
        return false;
    }
  }
  return true;
}

class Parser {
 public:
  Parser(const std::string& text, const std::set<std::string>& funcs) : text_(text), funcs_(funcs) {
    toks_ = Lexer(text).run();
  }

  detail::ParsedTemplate run() {
    vars_ = {"$"};
    auto root = std::make_shared<Node>();
    root->kind = NodeKind::List;
    while (peek().type != Tok::Eof) {
      if (peek().type == Tok::LeftDelim) {
        size_t save = i_;
        next();
        if (nextNonSpace().type == Tok::Keyword && cur().val == "define") {
          parseDefinition();
          continue;
        }
        i_ = save;
      }
      Term term;
      NodePtr n = textOrAction(&term);
      if (term != Term::None) errorf(fmt::format("unexpected {{{{{}}}}}", term == Term::End ? "end" : "else"));
      root->kids.push_back(n);
    }
    return detail::ParsedTemplate{root, std::move(defines_)};
  }

 private:
  enum class Term { None, End, Else };

  const Token& peek() { return toks_[std::min(i_, toks_.size() - 1)]; }
  const Token& next() {
    const Token& t = peek();
    if (i_ < toks_.size()) ++i_;
    last_ = &t;
    return t;
  }
  const Token& cur() { return *last_; }
  void backup(size_t n = 1) { i_ -= n; }
  const Token& nextNonSpace() {
    while (peek().type == Tok::Space) next();
    return next();
  }
  const Token& peekNonSpace() {
    while (peek().type == Tok::Space) next();
    return peek();
  }

  [[noreturn]] void errorf(const std::string& msg) {
    int line = last_ ? last_->line : 1;
    throw ParseError{fmt::format("template: :{}: {}", line, msg)};
  }
  [[noreturn]] void unexpected(const Token& t, const std::string& context) {
    if (t.type == Tok::Error) errorf(t.val);
    errorf(fmt::format("unexpected {} in {}", tokString(t), context));
  }
  void expect(Tok type, const std::string& context) {
    const Token& t = nextNonSpace();
    if (t.type != type) unexpected(t, context);
  }

  std::shared_ptr<Node> mk(NodeKind k, size_t pos) {
    auto n = std::make_shared<Node>();
    n->kind = k;
    n->pos = pos;
    return n;
  }

  void parseDefinition() {
    const Token& nameTok = nextNonSpace();
    if (nameTok.type != Tok::String && nameTok.type != Tok::RawString) unexpected(nameTok, "define clause");
    std::string name = unquoteTok(nameTok);
    expect(Tok::RightDelim, "define clause");
    auto saved = vars_;
    vars_ = {"$"};
    Term term;
    NodePtr body = itemList(&term);
    if (term != Term::End) errorf("unexpected {{else}} in define clause");
    vars_ = saved;
    defines_[name] = body;
  }

  std::string unquoteTok(const Token& t) {
    if (t.type == Tok::RawString) return t.val.substr(1, t.val.size() - 2);
    std::string out;
    if (!unquote(t.val, &out)) errorf(fmt::format("invalid syntax: {}", t.val));
    return out;
  }

  // Items until {{end}} or {{else}}; *term says which ended the list.
  NodePtr itemList(Term* term) {
    auto list = mk(NodeKind::List, peek().pos);
    while (peekNonSpace().type != Tok::Eof) {
      Term t;
      NodePtr n = textOrAction(&t);
      if (t != Term::None) {
        *term = t;
        return list;
      }
      list->kids.push_back(n);
    }
    errorf("unexpected EOF");
  }

  NodePtr textOrAction(Term* term) {
    *term = Term::None;
    const Token& t = nextNonSpace();
    switch (t.type) {
      case Tok::Text: {
        auto n = mk(NodeKind::Text, t.pos);
        n->text = t.val;
        return n;
      }
      case Tok::LeftDelim:
        actionLine_ = t.line;
        return action(term);
      default:
        unexpected(t, "input");
    }
  }

  NodePtr action(Term* term) {
    const Token& t = nextNonSpace();
    if (t.type == Tok::Keyword) {
      const std::string& k = t.val;
      size_t pos = t.pos;
      if (k == "end") {
        expect(Tok::RightDelim, "end");
        *term = Term::End;
        return nullptr;
      }
      if (k == "else") {
        // "else if" / "else with": leave the keyword pending for the caller.
        const Token& p = peekNonSpace();
        if (p.type == Tok::Keyword && (p.val == "if" || p.val == "with")) {
          elseChain_ = true;
        } else {
          expect(Tok::RightDelim, "else");
        }
        *term = Term::Else;
        return nullptr;
      }
      if (k == "if") return control(NodeKind::If, "if", pos);
      if (k == "range") return control(NodeKind::Range, "range", pos);
      if (k == "with") return control(NodeKind::With, "with", pos);
      if (k == "block" || k == "template") return templateControl(k == "block", pos);
      if (k == "break" || k == "continue") {
        if (rangeDepth_ == 0) errorf(fmt::format("{{{{{}}}}} outside {{{{range}}}}", k));
        expect(Tok::RightDelim, k);
        return mk(k == "break" ? NodeKind::Break : NodeKind::Continue, pos);
      }
      if (k == "define") errorf("unexpected <define> in command");
    }
    backup();
    auto n = mk(NodeKind::Action, peek().pos);
    n->pipe = pipeline("command", Tok::RightDelim);
    return n;
  }

  NodePtr control(NodeKind kind, const std::string& context, size_t pos) {
    size_t mark = vars_.size();
    auto n = mk(kind, pos);
    n->pipe = pipeline(context, Tok::RightDelim);
    if (kind == NodeKind::Range) ++rangeDepth_;
    Term term;
    n->list = itemList(&term);
    if (kind == NodeKind::Range) --rangeDepth_;
    if (term == Term::Else) {
      if (elseChain_ && kind != NodeKind::Range) {
        elseChain_ = false;
        const Token& kw = nextNonSpace();  // "if" / "with"
        auto inner = control(kw.val == "if" ? NodeKind::If : NodeKind::With, kw.val, kw.pos);
        auto el = mk(NodeKind::List, kw.pos);
        el->kids.push_back(inner);
        n->elseList = el;
        vars_.resize(mark);
        return n;
      }
      if (elseChain_) errorf("unexpected <else> in range");
      n->elseList = itemList(&term);
      if (term != Term::End) errorf(fmt::format("expected end; found {{{{else}}}}"));
    }
    vars_.resize(mark);
    return n;
  }

  NodePtr templateControl(bool block, size_t pos) {
    std::string context = block ? "block clause" : "template clause";
    const Token& t = nextNonSpace();
    if (t.type != Tok::String && t.type != Tok::RawString) unexpected(t, context);
    auto n = mk(NodeKind::TemplateCall, t.pos);
    n->text = unquoteTok(t);
    n->raw = t.val;
    if (nextNonSpace().type != Tok::RightDelim) {
      backup();
      n->pipe = pipeline(context, Tok::RightDelim);
    }
    if (block) {
      auto saved = vars_;
      vars_ = {"$"};
      Term term;
      NodePtr body = itemList(&term);
      if (term != Term::End) errorf("unexpected {{else}} in block clause");
      vars_ = saved;
      defines_[n->text] = body;
    }
    return n;
  }

  NodePtr pipeline(const std::string& context, Tok end) {
    auto pipe = mk(NodeKind::Pipe, peekNonSpace().pos);
    // declarations
    if (peekNonSpace().type == Tok::Variable) {
      size_t save = i_;
      std::string v = next().val;
      const Token& t = nextNonSpace();
      if (t.type == Tok::Declare || t.type == Tok::Assign) {
        pipe->isAssign = t.type == Tok::Assign;
        pipe->decl.push_back(v);
        if (!pipe->isAssign) vars_.push_back(v);
        else useVar(v);
      } else if (t.type == Tok::Char && t.val == "," && context == "range") {
        const Token& v2 = nextNonSpace();
        if (v2.type != Tok::Variable) errorf(fmt::format("range can only initialize variables"));
        const Token& d = nextNonSpace();
        if (d.type != Tok::Declare && d.type != Tok::Assign) errorf("range can only initialize variables");
        pipe->isAssign = d.type == Tok::Assign;
        pipe->decl = {v, v2.val};
        if (!pipe->isAssign) {
          vars_.push_back(v);
          vars_.push_back(v2.val);
        }
      } else if (t.type == Tok::Char && t.val == ",") {
        errorf(fmt::format("too many declarations in {}", context));
      } else {
        i_ = save;
      }
    }
    while (true) {
      const Token& t = nextNonSpace();
      if (t.type == end) {
        if (pipe->kids.empty()) errorf(fmt::format("missing value for {}", context));
        for (size_t k = 1; k < pipe->kids.size(); ++k) {
          NodeKind first = pipe->kids[k]->kids[0]->kind;
          if (first == NodeKind::Bool || first == NodeKind::Dot || first == NodeKind::Nil ||
              first == NodeKind::Number || first == NodeKind::String)
            errorf(fmt::format("non executable command in pipeline stage {}", k + 1));
        }
        return pipe;
      }
      switch (t.type) {
        case Tok::Bool: case Tok::CharConst: case Tok::Dot: case Tok::Field: case Tok::Identifier:
        case Tok::Number: case Tok::Nil: case Tok::RawString: case Tok::String: case Tok::Variable:
        case Tok::LeftParen:
          backup();
          pipe->kids.push_back(command());
          break;
        default:
          unexpected(t, context);
      }
    }
  }

  NodePtr command() {
    auto cmd = mk(NodeKind::Command, peekNonSpace().pos);
    while (true) {
      peekNonSpace();
      if (NodePtr op = operand()) cmd->kids.push_back(op);
      const Token& t = next();
      if (t.type == Tok::Space) continue;
      if (t.type == Tok::RightDelim || t.type == Tok::RightParen) {
        backup();
      } else if (t.type != Tok::Pipe) {
        unexpected(t, "operand");
      }
      break;
    }
    if (cmd->kids.empty()) errorf("empty command");
    return cmd;
  }

  NodePtr operand() {
    NodePtr node = term();
    if (!node) return nullptr;
    if (peek().type == Tok::Field) {
      auto chain = mk(NodeKind::Chain, peek().pos);
      chain->pipe = node;
      while (peek().type == Tok::Field) chain->idents.push_back(next().val.substr(1));
      switch (node->kind) {
        case NodeKind::Field: {
          auto f = mk(NodeKind::Field, chain->pos);  // Go reports the chain's position
          f->idents = node->idents;
          f->idents.insert(f->idents.end(), chain->idents.begin(), chain->idents.end());
          return f;
        }
        case NodeKind::Variable: {
          auto v = mk(NodeKind::Variable, chain->pos);
          v->idents = node->idents;
          v->idents.insert(v->idents.end(), chain->idents.begin(), chain->idents.end());
          return v;
        }
        case NodeKind::Bool: case NodeKind::String: case NodeKind::Number: case NodeKind::Nil: case NodeKind::Dot:
          errorf(fmt::format("unexpected . after term {}", node->str()));
        default:
          return chain;
      }
    }
    return node;
  }

  void useVar(const std::string& name) {
    for (const auto& v : vars_)
      if (v == name) return;
    errorf(fmt::format("undefined variable \"{}\"", name));
  }

  NodePtr term() {
    const Token& t = nextNonSpace();
    switch (t.type) {
      case Tok::Identifier: {
        if (!funcs_.count(t.val)) errorf(fmt::format("function \"{}\" not defined", t.val));
        auto n = mk(NodeKind::Identifier, t.pos);
        n->text = t.val;
        return n;
      }
      case Tok::Dot: return mk(NodeKind::Dot, t.pos);
      case Tok::Nil: return mk(NodeKind::Nil, t.pos);
      case Tok::Variable: {
        useVar(t.val);
        auto n = mk(NodeKind::Variable, t.pos);
        n->idents = {t.val};
        return n;
      }
      case Tok::Field: {
        auto n = mk(NodeKind::Field, t.pos);
        n->idents = {t.val.substr(1)};
        return n;
      }
      case Tok::Bool: {
        auto n = mk(NodeKind::Bool, t.pos);
        n->boolean = t.val == "true";
        return n;
      }
      case Tok::CharConst: case Tok::Number: return numberNode(t);
      case Tok::LeftParen: {
        auto p = pipeline("parenthesized pipeline", Tok::RightParen);
        return p;
      }
      case Tok::String: case Tok::RawString: {
        auto n = mk(NodeKind::String, t.pos);
        n->raw = t.val;
        n->text = unquoteTok(t);
        return n;
      }
      default:
        backup();
        return nullptr;
    }
  }

  NodePtr numberNode(const Token& t) {
    auto n = mk(NodeKind::Number, t.pos);
    n->text = t.val;
    if (t.type == Tok::CharConst) {
      std::string s;
      if (!unquote(t.val, &s) || s.empty()) errorf(fmt::format("malformed character constant: {}", t.val));
      size_t len;
      n->number = static_cast<int64_t>(detail::decodeRune(s, 0, &len));
      return n;
    }
    std::string s;
    for (char c : t.val)
      if (c != '_') s.push_back(c);
    bool isFloat = s.find_first_of(".eE") != std::string::npos && s.find_first_of("xX") == std::string::npos;
    if (!isFloat) {
      int base = 10;
      std::string digits = s;
      bool neg = false;
      if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
        neg = digits[0] == '-';
        digits.erase(0, 1);
      }
      if (digits.size() > 1 && digits[0] == '0') {
        char p = digits[1] | 0x20;
        if (p == 'x') { base = 16; digits.erase(0, 2); }
        else if (p == 'o') { base = 8; digits.erase(0, 2); }
        else if (p == 'b') { base = 2; digits.erase(0, 2); }
        else { base = 8; }
      }
      auto parsed = digits.starts_with('+') || digits.starts_with('-') ? std::nullopt : parseNumber<uint64_t>(digits, base);
      if (!parsed) errorf(fmt::format("illegal number syntax: \"{}\"", t.val));
      unsigned long long u = *parsed;
      if (neg) {
        if (u > 9223372036854775808ULL) errorf(fmt::format("illegal number syntax: \"{}\"", t.val));
        n->number = u == 9223372036854775808ULL ? INT64_MIN : -static_cast<int64_t>(u);
      } else if (u > static_cast<unsigned long long>(INT64_MAX)) {
        n->number = static_cast<uint64_t>(u);
      } else {
        n->number = static_cast<int64_t>(u);
      }
      return n;
    }
    auto d = parseNumber<double>(s);
    if (!d) errorf(fmt::format("illegal number syntax: \"{}\"", t.val));
    n->number = *d;
    return n;
  }

  const std::string& text_;
  const std::set<std::string>& funcs_;
  std::vector<Token> toks_;
  size_t i_ = 0;
  const Token* last_ = nullptr;
  std::vector<std::string> vars_;
  std::map<std::string, NodePtr> defines_;
  int actionLine_ = 0;
  int rangeDepth_ = 0;
  bool elseChain_ = false;
};

}  // namespace

std::string Node::str() const {
  auto join = [](const std::vector<std::string>& v, size_t from) {
    std::string s;
    for (size_t i = from; i < v.size(); ++i) s += "." + v[i];
    return s;
  };
  switch (kind) {
    case NodeKind::Field: return join(idents, 0);
    case NodeKind::Variable: return idents[0] + join(idents, 1);
    case NodeKind::Chain: {
      std::string inner = pipe->str();
      if (pipe->kind == NodeKind::Pipe) inner = fmt::format("({})", inner);
      return inner + join(idents, 0);
    }
    case NodeKind::Dot: return ".";
    case NodeKind::Nil: return "nil";
    case NodeKind::Bool: return boolean ? "true" : "false";
    case NodeKind::Number: return text;
    case NodeKind::String: return raw;
    case NodeKind::Identifier: return text;
    case NodeKind::Command: {
      std::string s;
      for (size_t i = 0; i < kids.size(); ++i) {
        if (i) s += " ";
        if (kids[i]->kind == NodeKind::Pipe) s += fmt::format("({})", kids[i]->str());
        else s += kids[i]->str();
      }
      return s;
    }
    case NodeKind::Pipe: {
      std::string s;
      if (!decl.empty()) {
        for (size_t i = 0; i < decl.size(); ++i) s += (i ? ", " : "") + decl[i];
        s += isAssign ? " = " : " := ";
      }
      for (size_t i = 0; i < kids.size(); ++i) s += (i ? " | " : "") + kids[i]->str();
      return s;
    }
    case NodeKind::Action: return fmt::format("{{{{{}}}}}", pipe->str());
    case NodeKind::Text: return text;
    case NodeKind::TemplateCall: return fmt::format("{{{{template {}{}}}}}", raw, pipe ? " " + pipe->str() : "");
    default: return "";
  }
}

namespace detail {

std::pair<int, int> lineCol(const std::string& text, size_t pos) {
  int line = 1;
  size_t lineStart = 0;
  for (size_t i = 0; i < pos && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      lineStart = i + 1;
    }
  }
  return {line, static_cast<int>(pos - lineStart)};
}

Result<ParsedTemplate> parseTemplate(const std::string& text, const std::set<std::string>& funcNames) {
  try {
    Parser p(text, funcNames);
    return p.run();
  } catch (const ParseError& e) {
    return makeError(Code::InvalidArgument, e.msg);
  }
}

}  // namespace detail
}  // namespace berth::cli::format
