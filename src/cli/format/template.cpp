// Execution of parsed templates (Go's text/template/exec.go semantics) and
// docker's --format helpers. Execution errors unwind internally as a private
// exception type (as Go's exec uses panic/recover) and become a Result at
// Template::execute; nothing escapes this file.
#include "cli/format/template.h"

#include <algorithm>
#include <optional>
#include <set>

#include "cli/format/table.h"
#include "cli/format/template_internal.h"
#include "cli/format/template_parse.h"
#include "cli/format/utf8.h"

namespace berth::cli::format {

namespace {

using detail::formatV;
using detail::goTypeName;

const std::set<std::string> kBuiltins = {
    "and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf", "println",
    "urlquery", "eq", "ge", "gt", "le", "lt", "ne",
    // docker's basicFunctions (cli/templates)
    "json", "split", "join", "title", "lower", "upper", "pad", "truncate"};
const std::set<std::string> kHeaderIdentity = {"json", "split", "join", "title", "lower", "upper", "pad", "truncate"};

struct ExecError {
  std::string msg;
};
struct CallError {
  std::string msg;
};

// A value during execution. p == nullptr is Go's invalid reflect.Value (a
// missing map key: prints "<no value>"). p points into the caller's data or
// into `hold`, which keeps computed values alive.
struct Val {
  const Value* p = nullptr;
  std::shared_ptr<const Value> hold;
  bool valid() const { return p != nullptr; }
  bool nullish() const { return !p || p->is_null(); }
  Val child(const Value& c) const { return Val{&c, hold}; }
};

Val own(Value v) {
  auto h = std::make_shared<const Value>(std::move(v));
  return Val{h.get(), h};
}

bool truth(const Val& v) {
  if (v.nullish()) return false;
  const Value& x = *v.p;
  switch (x.type()) {
    case Value::value_t::boolean: return x.get<bool>();
    case Value::value_t::string: return !x.get_ref<const std::string&>().empty();
    case Value::value_t::number_integer: return x.get<int64_t>() != 0;
    case Value::value_t::number_unsigned: return x.get<uint64_t>() != 0;
    case Value::value_t::number_float: return x.get<double>() != 0;
    case Value::value_t::array:
    case Value::value_t::object: return !x.empty();
    default: return false;
  }
}

std::string sprintOperand(const Val& v) { return v.nullish() ? "<nil>" : formatV(*v.p); }

// fmt.Sprint: a space between operands when neither is a string.
std::string goSprint(const std::vector<Val>& args) {
  std::string out;
  bool prevString = false;
  for (size_t i = 0; i < args.size(); ++i) {
    bool isString = args[i].valid() && args[i].p->is_string();
    if (i > 0 && !isString && !prevString) out.push_back(' ');
    out += sprintOperand(args[i]);
    prevString = isString;
  }
  return out;
}

enum class Flow { Normal, Break, Continue };

class State {
 public:
  State(const std::string& text, const std::map<std::string, NodePtr>& defines,
        const std::map<std::string, Function>& funcs, const ExecOptions& opts, bool header)
      : text_(text), defines_(defines), funcs_(funcs), opts_(opts), header_(header) {}

  std::string out;
  std::vector<std::pair<std::string, Val>> vars;

  Flow walk(const Val& dot, const Node& n) {
    switch (n.kind) {
      case NodeKind::List:
        for (const auto& k : n.kids) {
          Flow f = walk(dot, *k);
          if (f != Flow::Normal) return f;
        }
        return Flow::Normal;
      case NodeKind::Text:
        out += n.text;
        return Flow::Normal;
      case NodeKind::Action: {
        Val v = evalPipeline(dot, *n.pipe);
        if (n.pipe->decl.empty()) printValue(n, v);
        return Flow::Normal;
      }
      case NodeKind::If:
      case NodeKind::With: {
        size_t mark = vars.size();
        Val v = evalPipeline(dot, *n.pipe);
        Flow f = Flow::Normal;
        if (truth(v)) {
          f = walk(n.kind == NodeKind::With ? v : dot, *n.list);
        } else if (n.elseList) {
          f = walk(dot, *n.elseList);
        }
        vars.resize(mark);
        return f;
      }
      case NodeKind::Range: return walkRange(dot, n);
      case NodeKind::Break: return Flow::Break;
      case NodeKind::Continue: return Flow::Continue;
      case NodeKind::TemplateCall: {
        at(&n);
        auto it = defines_.find(n.text);
        if (it == defines_.end()) errorf(fmt::format("no such template \"{}\"", n.text));
        if (++depth_ > 1000) errorf("exceeded maximum template depth (1000)");
        Val newDot = n.pipe ? evalPipeline(dot, *n.pipe) : Val{};
        auto savedVars = std::move(vars);
        auto savedName = name_;
        vars = {{"$", newDot}};
        name_ = n.text;
        walk(newDot, *it->second);
        vars = std::move(savedVars);
        name_ = savedName;
        --depth_;
        return Flow::Normal;
      }
      default:
        errorf("unknown node");
    }
  }

 private:
  [[noreturn]] void errorf(const std::string& msg) {
    if (!node_) throw ExecError{fmt::format("template: {}: {}", name_, msg)};
    auto [line, col] = detail::lineCol(text_, node_->pos);
    std::string context = node_->str();
    if (context.size() > 20) context = context.substr(0, 20) + "...";
    throw ExecError{fmt::format("template: {}:{}:{}: executing \"{}\" at <{}>: {}", name_, line, col, name_, context, msg)};
  }
  void at(const Node* n) { node_ = n; }

  Flow walkRange(const Val& dot, const Node& n) {
    at(&n);
    size_t mark = vars.size();
    Val v = evalPipeline(dot, *n.pipe, /*declare=*/false);
    const auto& decl = n.pipe->decl;
    if (!n.pipe->isAssign) {
      for (const auto& d : decl) vars.emplace_back(d, Val{});
    }
    auto setVar = [&](size_t which, const Val& val) {  // which: 0 = first declared
      if (!n.pipe->isAssign) {
        vars[mark + which].second = val;
      } else {
        assign(decl[which], val);
      }
    };
    bool any = false;
    auto one = [&](const Val& key, const Val& elem) {
      any = true;
      if (decl.size() == 1) setVar(0, elem);
      if (decl.size() == 2) {
        setVar(0, key);
        setVar(1, elem);
      }
      size_t inner = vars.size();
      Flow f = walk(elem, *n.list);
      vars.resize(inner);
      return f;
    };
    if (v.valid() && !v.p->is_null()) {
      const Value& x = *v.p;
      if (x.is_array()) {
        for (size_t i = 0; i < x.size(); ++i) {
          if (one(own(static_cast<int64_t>(i)), v.child(x[i])) == Flow::Break) break;
        }
      } else if (x.is_object()) {
        for (const auto& k : detail::sortedKeys(x)) {
          if (one(own(k), v.child(x[k])) == Flow::Break) break;
        }
      } else if (x.is_number_integer()) {
        if (decl.size() > 1) errorf("can't use 2 variables when ranging over an integer");
        int64_t count = x.get<int64_t>();
        for (int64_t i = 0; i < count; ++i) {
          if (one(own(i), own(i)) == Flow::Break) break;
        }
      } else {
        errorf(fmt::format("range can't iterate over {}", formatV(x)));
      }
    }
    Flow f = Flow::Normal;
    if (!any && n.elseList) f = walk(dot, *n.elseList);
    vars.resize(mark);
    return f;
  }

  void printValue(const Node& n, const Val& v) {
    at(&n);
    if (!v.valid()) {
      out += "<no value>";
    } else if (v.p->is_null()) {
      out += opts_.nullText;
    } else {
      out += formatV(*v.p);
    }
  }

  void assign(const std::string& name, const Val& v) {
    for (auto it = vars.rbegin(); it != vars.rend(); ++it) {
      if (it->first == name) {
        it->second = v;
        return;
      }
    }
    errorf(fmt::format("undefined variable: {}", name));
  }

  Val varValue(const std::string& name) {
    for (auto it = vars.rbegin(); it != vars.rend(); ++it)
      if (it->first == name) return it->second;
    errorf(fmt::format("undefined variable: {}", name));
  }

  Val evalPipeline(const Val& dot, const Node& pipe, bool declare = true) {
    at(&pipe);
    std::optional<Val> value;
    for (const auto& cmd : pipe.kids) value = evalCommand(dot, *cmd, value);
    Val v = value.value_or(Val{});
    if (declare) {
      for (const auto& d : pipe.decl) {
        if (pipe.isAssign) assign(d, v);
        else vars.emplace_back(d, v);
      }
    }
    return v;
  }

  void notAFunction(const Node& cmd, const std::optional<Val>& final) {
    if (cmd.kids.size() > 1 || final) errorf(fmt::format("can't give argument to non-function {}", cmd.kids[0]->str()));
  }

  Val evalCommand(const Val& dot, const Node& cmd, const std::optional<Val>& final) {
    const Node& first = *cmd.kids[0];
    switch (first.kind) {
      case NodeKind::Field: at(&first); return evalFieldChain(dot, dot, first, first.idents, 0, &cmd, final);
      case NodeKind::Chain: return evalChain(dot, first, &cmd, final);
      case NodeKind::Identifier: return evalFunction(dot, first, cmd, final);
      case NodeKind::Pipe: notAFunction(cmd, final); return evalPipeline(dot, first);
      case NodeKind::Variable: return evalVariable(dot, first, &cmd, final);
      default: break;
    }
    at(&first);
    notAFunction(cmd, final);
    switch (first.kind) {
      case NodeKind::Bool: return own(first.boolean);
      case NodeKind::Dot: return dot;
      case NodeKind::Nil: errorf("nil is not a command");
      case NodeKind::Number: return own(first.number);
      case NodeKind::String: return own(first.text);
      default: errorf("can't evaluate command");
    }
  }

  Val evalChain(const Val& dot, const Node& chain, const Node* cmd, const std::optional<Val>& final) {
    at(&chain);
    Val recv = evalArg(dot, *chain.pipe);
    return evalFieldChain(dot, recv, chain, chain.idents, 0, cmd, final);
  }

  Val evalVariable(const Val& dot, const Node& var, const Node* cmd, const std::optional<Val>& final) {
    at(&var);
    Val v = varValue(var.idents[0]);
    if (var.idents.size() == 1) {
      if (cmd) notAFunction(*cmd, final);
      return v;
    }
    return evalFieldChain(dot, v, var, var.idents, 1, cmd, final);
  }

  Val evalFieldChain(const Val& dot, Val recv, const Node& node, const std::vector<std::string>& idents, size_t from,
                     const Node* cmd, const std::optional<Val>& final) {
    size_t n = idents.size();
    for (size_t i = from; i + 1 < n; ++i) recv = evalField(dot, idents[i], node, nullptr, std::nullopt, recv);
    return evalField(dot, idents[n - 1], node, cmd, final, recv);
  }

  Val evalField(const Val& dot, const std::string& name, const Node& node, const Node* cmd,
                const std::optional<Val>& final, const Val& recv) {
    if (!recv.valid()) return Val{};
    if (auto m = opts_.methods.find(name); m != opts_.methods.end()) {
      std::vector<Value> args;
      if (cmd)
        for (size_t i = 1; i < cmd->kids.size(); ++i) args.push_back(valueOf(evalArg(dot, *cmd->kids[i])));
      if (final) args.push_back(valueOf(*final));
      at(&node);
      auto r = m->second(*recv.p, args);
      if (!r) errorf(fmt::format("error calling {}: {}", name, r.error().message));
      return own(std::move(*r));
    }
    bool hasArgs = (cmd && cmd->kids.size() > 1) || final;
    const Value& r = *recv.p;
    if (r.is_null()) errorf(fmt::format("nil pointer evaluating interface {{}}.{}", name));
    if (r.is_object()) {
      if (hasArgs) errorf(fmt::format("{} is not a method but has arguments", name));
      auto it = r.find(name);
      if (it == r.end()) {
        if (opts_.missingKeyError) {
          at(&node);
          errorf(fmt::format("map has no entry for key \"{}\"", name));
        }
        return Val{};
      }
      return recv.child(*it);
    }
    errorf(fmt::format("can't evaluate field {} in type {}", name, goTypeName(r)));
  }

  static Value valueOf(const Val& v) { return v.valid() ? *v.p : Value(nullptr); }

  Val evalArg(const Val& dot, const Node& n) {
    at(&n);
    switch (n.kind) {
      case NodeKind::Dot: return dot;
      case NodeKind::Nil: return own(nullptr);
      case NodeKind::Field: return evalFieldChain(dot, dot, n, n.idents, 0, nullptr, std::nullopt);
      case NodeKind::Variable: return evalVariable(dot, n, nullptr, std::nullopt);
      case NodeKind::Pipe: return evalPipeline(dot, n);
      case NodeKind::Identifier: {
        Node cmd;
        cmd.kind = NodeKind::Command;
        cmd.pos = n.pos;
        cmd.kids = {std::shared_ptr<const Node>(std::shared_ptr<const Node>{}, &n)};
        return evalFunction(dot, n, cmd, std::nullopt);
      }
      case NodeKind::Chain: return evalChain(dot, n, nullptr, std::nullopt);
      case NodeKind::Bool: return own(n.boolean);
      case NodeKind::Number: return own(n.number);
      case NodeKind::String: return own(n.text);
      default: errorf("can't handle argument");
    }
  }

  // ---- functions ----

  void arity(const std::string& name, size_t got, size_t want) {
    if (got != want) errorf(fmt::format("wrong number of args for {}: want {} got {}", name, want, got));
  }
  void arityAtLeast(const std::string& name, size_t got, size_t want) {
    if (got < want) errorf(fmt::format("wrong number of args for {}: want at least {} got {}", name, want, got));
  }
  std::string wantString(const Val& v) {
    if (!v.valid()) errorf("invalid value; expected string");
    if (!v.p->is_string()) errorf(fmt::format("wrong type for value; expected string; got {}", goTypeName(*v.p)));
    return v.p->get<std::string>();
  }
  int64_t wantInt(const Val& v) {
    if (!v.valid()) errorf("invalid value; expected int");
    if (v.p->is_number_integer()) return v.p->get<int64_t>();
    if (v.p->is_number_float()) {
      double d = v.p->get<double>();
      // Only a float in int64's range may be cast (a cast of 1e300 is UB).
      if (d >= -0x1p63 && d < 0x1p63 && d == static_cast<double>(static_cast<int64_t>(d)))
        return static_cast<int64_t>(d);
    }
    errorf(fmt::format("wrong type for value; expected int; got {}", goTypeName(*v.p)));
  }

  Val evalFunction(const Val& dot, const Node& ident, const Node& cmd, const std::optional<Val>& final) {
    at(&ident);
    const std::string& name = ident.text;
    if (name == "and" || name == "or") {
      bool isAnd = name == "and";
      size_t n = cmd.kids.size() - 1 + (final ? 1 : 0);
      arityAtLeast(name, n, 1);
      Val v;
      for (size_t i = 1; i < cmd.kids.size(); ++i) {
        v = evalArg(dot, *cmd.kids[i]);
        if (truth(v) != isAnd) return v;
      }
      if (final) v = *final;
      return v;
    }
    std::vector<Val> args;
    for (size_t i = 1; i < cmd.kids.size(); ++i) args.push_back(evalArg(dot, *cmd.kids[i]));
    if (final) args.push_back(*final);
    at(&ident);
    try {
      return call(name, args);
    } catch (const CallError& e) {
      at(&cmd);
      errorf(fmt::format("error calling {}: {}", name, e.msg));
    }
  }

  static int kindOf(const Val& v) {  // 0 invalid/nil, 1 bool, 2 number, 3 string, 4 composite
    if (v.nullish()) return 0;
    if (v.p->is_boolean()) return 1;
    if (v.p->is_number()) return 2;
    if (v.p->is_string()) return 3;
    return 4;
  }
  static int compareNumbers(const Value& a, const Value& b) {
    if (a.is_number_float() || b.is_number_float()) {
      double x = a.get<double>(), y = b.get<double>();
      return x < y ? -1 : x > y ? 1 : 0;
    }
    if (a.is_number_unsigned() || b.is_number_unsigned()) {
      bool an = a.is_number_integer() && !a.is_number_unsigned() && a.get<int64_t>() < 0;
      bool bn = b.is_number_integer() && !b.is_number_unsigned() && b.get<int64_t>() < 0;
      if (an != bn) return an ? -1 : 1;
      uint64_t x = a.get<uint64_t>(), y = b.get<uint64_t>();
      return x < y ? -1 : x > y ? 1 : 0;
    }
    int64_t x = a.get<int64_t>(), y = b.get<int64_t>();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  bool eq(const Val& a, const Val& b) {
    int ka = kindOf(a), kb = kindOf(b);
    if (ka == 4 || kb == 4) throw CallError{"non-comparable types"};
    if (ka != kb) {
      if (ka == 0 || kb == 0) return false;
      throw CallError{"incompatible types for comparison"};
    }
    switch (ka) {
      case 0: return true;
      case 1: return a.p->get<bool>() == b.p->get<bool>();
      case 2: return compareNumbers(*a.p, *b.p) == 0;
      default: return a.p->get_ref<const std::string&>() == b.p->get_ref<const std::string&>();
    }
  }
  bool lt(const Val& a, const Val& b) {
    int ka = kindOf(a), kb = kindOf(b);
    if (ka != kb) throw CallError{"incompatible types for comparison"};
    if (ka == 2) return compareNumbers(*a.p, *b.p) < 0;
    if (ka == 3) return a.p->get_ref<const std::string&>() < b.p->get_ref<const std::string&>();
    throw CallError{"invalid type for comparison"};
  }

  Val indexMissing(const Val& obj) {
    // A Go map[string]string (docker's label maps) yields "" for a missing
    // key; a map[string]interface{} yields nil. Decide by the values.
    for (const auto& e : *obj.p)
      if (!e.is_string()) return Val{};
    return own("");
  }

  Val call(const std::string& name, std::vector<Val>& args) {
    size_t n = args.size();
    if (header_ && kHeaderIdentity.count(name)) {
      arityAtLeast(name, n, 1);
      return args[0];
    }
    if (auto f = funcs_.find(name); f != funcs_.end()) {
      std::vector<Value> vs;
      for (const auto& a : args) vs.push_back(valueOf(a));
      auto r = f->second(vs);
      if (!r) throw CallError{r.error().message};
      return own(std::move(*r));
    }
    if (name == "not") {
      arity(name, n, 1);
      return own(!truth(args[0]));
    }
    if (name == "len") {
      arity(name, n, 1);
      if (args[0].nullish()) throw CallError{"len of untyped nil"};
      const Value& x = *args[0].p;
      if (x.is_string()) return own(static_cast<int64_t>(x.get_ref<const std::string&>().size()));
      if (x.is_array() || x.is_object()) return own(static_cast<int64_t>(x.size()));
      throw CallError{fmt::format("len of type {}", goTypeName(x))};
    }
    if (name == "index") {
      arityAtLeast(name, n, 1);
      Val item = args[0];
      for (size_t i = 1; i < n; ++i) {
        if (!item.valid()) throw CallError{"index of untyped nil"};
        if (item.p->is_null()) throw CallError{"index of nil pointer"};
        const Value& x = *item.p;
        const Val& idx = args[i];
        if (x.is_array() || x.is_string()) {
          if (idx.nullish() || !idx.p->is_number_integer())
            throw CallError{fmt::format("cannot index slice/array with type {}", idx.nullish() ? "nil" : goTypeName(*idx.p))};
          int64_t k = idx.p->get<int64_t>();
          size_t size = x.is_array() ? x.size() : x.get_ref<const std::string&>().size();
          if (k < 0 || static_cast<size_t>(k) >= size) throw CallError{fmt::format("index out of range: {}", k)};
          if (x.is_array()) item = item.child(x[static_cast<size_t>(k)]);
          else item = own(static_cast<int64_t>(static_cast<unsigned char>(x.get_ref<const std::string&>()[k])));
        } else if (x.is_object()) {
          if (idx.nullish() || !idx.p->is_string())
            throw CallError{fmt::format("value has type {}; should be string", idx.nullish() ? "nil" : goTypeName(*idx.p))};
          auto it = x.find(idx.p->get<std::string>());
          item = it == x.end() ? indexMissing(item) : item.child(*it);
        } else {
          throw CallError{fmt::format("can't index item of type {}", goTypeName(x))};
        }
      }
      return item;
    }
    if (name == "slice") {
      arityAtLeast(name, n, 1);
      if (args[0].nullish()) throw CallError{"slice of untyped nil"};
      if (n > 4) throw CallError{fmt::format("too many slice indexes: {}", n - 1)};
      const Value& x = *args[0].p;
      size_t size;
      if (x.is_string()) size = x.get_ref<const std::string&>().size();
      else if (x.is_array()) size = x.size();
      else throw CallError{fmt::format("can't slice item of type {}", goTypeName(x))};
      if (x.is_string() && n == 4) throw CallError{"cannot 3-index slice a string"};
      int64_t idx[3] = {0, static_cast<int64_t>(size), static_cast<int64_t>(size)};
      for (size_t i = 1; i < n; ++i) {
        idx[i - 1] = wantInt(args[i]);
        if (idx[i - 1] < 0 || static_cast<size_t>(idx[i - 1]) > size)
          throw CallError{fmt::format("index out of range: {}", idx[i - 1])};
      }
      if (idx[0] > idx[1]) throw CallError{fmt::format("invalid slice index: {} > {}", idx[0], idx[1])};
      if (x.is_string()) return own(x.get_ref<const std::string&>().substr(idx[0], idx[1] - idx[0]));
      Value out = Value::array();
      for (int64_t i = idx[0]; i < idx[1]; ++i) out.push_back(x[static_cast<size_t>(i)]);
      return own(std::move(out));
    }
    if (name == "print") return own(goSprint(args));
    if (name == "println") {
      std::string s;
      for (size_t i = 0; i < n; ++i) s += (i ? " " : "") + sprintOperand(args[i]);
      return own(s + "\n");
    }
    if (name == "printf") {
      arityAtLeast(name, n, 1);
      std::string f = wantString(args[0]);
      std::vector<const Value*> ps;
      for (size_t i = 1; i < n; ++i) ps.push_back(args[i].nullish() ? nullptr : args[i].p);
      return own(detail::goSprintf(f, ps));
    }
    if (name == "eq" || name == "ne") {
      if (n < 2) {
        arityAtLeast(name, n, 1);
        throw CallError{"missing argument for comparison"};
      }
      if (name == "ne") {
        arity(name, n, 2);
        return own(!eq(args[0], args[1]));
      }
      for (size_t i = 1; i < n; ++i)
        if (eq(args[0], args[i])) return own(true);
      return own(false);
    }
    if (name == "lt" || name == "le" || name == "gt" || name == "ge") {
      arity(name, n, 2);
      bool l = lt(args[0], args[1]);
      if (name == "lt") return own(l);
      if (name == "ge") return own(!l);
      bool e = eq(args[0], args[1]);
      return own(name == "le" ? (l || e) : !(l || e));
    }
    if (name == "html" || name == "js" || name == "urlquery") {
      std::string s = (n == 1 && args[0].valid() && args[0].p->is_string()) ? args[0].p->get<std::string>() : goSprint(args);
      return own(escape(name, s));
    }
    if (name == "call") throw CallError{"call of non-function"};
    // docker's functions
    if (name == "json") {
      arity(name, n, 1);
      return own(args[0].valid() ? goJson(*args[0].p) : "null");
    }
    if (name == "lower" || name == "upper") {
      arity(name, n, 1);
      std::string s = wantString(args[0]);
      for (char& c : s) c = name == "lower" ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
                                            : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return own(s);
    }
    if (name == "title") {
      arity(name, n, 1);
      std::string s = wantString(args[0]);
      bool prevLetter = false;
      for (char& c : s) {
        unsigned char u = static_cast<unsigned char>(c);
        bool letter = std::isalnum(u) || u == '_' || u >= 0x80;
        if (letter && !prevLetter) c = static_cast<char>(std::toupper(u));
        prevLetter = letter;
      }
      return own(s);
    }
    if (name == "split") {
      arity(name, n, 2);
      std::string s = wantString(args[0]), sep = wantString(args[1]);
      Value out = Value::array();
      if (sep.empty()) {
        for (size_t i = 0; i < s.size();) {
          size_t l;
          detail::decodeRune(s, i, &l);
          out.push_back(s.substr(i, l));
          i += l;
        }
      } else {
        size_t start = 0;
        while (true) {
          size_t p = s.find(sep, start);
          if (p == std::string::npos) break;
          out.push_back(s.substr(start, p - start));
          start = p + sep.size();
        }
        out.push_back(s.substr(start));
      }
      return own(std::move(out));
    }
    if (name == "join") {
      arity(name, n, 2);
      std::string sep = wantString(args[1]);
      if (!args[0].valid()) errorf("invalid value; expected []string");
      if (args[0].p->is_null()) return own("");
      if (!args[0].p->is_array())
        errorf(fmt::format("wrong type for value; expected []string; got {}", goTypeName(*args[0].p)));
      std::string s;
      bool first = true;
      for (const auto& e : *args[0].p) {
        if (!first) s += sep;
        first = false;
        s += formatV(e);
      }
      return own(s);
    }
    if (name == "pad") {
      arity(name, n, 3);
      std::string s = wantString(args[0]);
      int64_t pre = wantInt(args[1]), suf = wantInt(args[2]);
      if (s.empty()) return own(s);
      return own(std::string(static_cast<size_t>(std::max<int64_t>(pre, 0)), ' ') + s +
                 std::string(static_cast<size_t>(std::max<int64_t>(suf, 0)), ' '));
    }
    if (name == "truncate") {
      arity(name, n, 2);
      std::string s = wantString(args[0]);
      int64_t len = wantInt(args[1]);
      if (static_cast<int64_t>(s.size()) < len) return own(s);
      return own(s.substr(0, static_cast<size_t>(std::max<int64_t>(len, 0))));
    }
    errorf(fmt::format("\"{}\" is not a defined function", name));
  }

  static std::string escape(const std::string& kind, const std::string& s) {
    std::string out;
    if (kind == "html") {
      for (char c : s) {
        switch (c) {
          case '<': out += "&lt;"; break;
          case '>': out += "&gt;"; break;
          case '&': out += "&amp;"; break;
          case '\'': out += "&#39;"; break;
          case '"': out += "&#34;"; break;
          case '\0': out += "\xEF\xBF\xBD"; break;
          default: out.push_back(c);
        }
      }
    } else if (kind == "js") {
      for (char c : s) {
        unsigned char u = static_cast<unsigned char>(c);
        switch (c) {
          case '\\': out += "\\\\"; break;
          case '\'': out += "\\'"; break;
          case '"': out += "\\\""; break;
          case '<': out += "\\u003C"; break;
          case '>': out += "\\u003E"; break;
          case '&': out += "\\u0026"; break;
          case '=': out += "\\u003D"; break;
          default:
            if (u < ' ') out += fmt::format("\\u{:04X}", u);
            else out.push_back(c);
        }
      }
    } else {
      static const char kHex[] = "0123456789ABCDEF";
      for (char c : s) {
        unsigned char u = static_cast<unsigned char>(c);
        if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
          out.push_back(c);
        } else if (c == ' ') {
          out.push_back('+');
        } else {
          out.push_back('%');
          out.push_back(kHex[u >> 4]);
          out.push_back(kHex[u & 15]);
        }
      }
    }
    return out;
  }

  const std::string& text_;
  const std::map<std::string, NodePtr>& defines_;
  const std::map<std::string, Function>& funcs_;
  const ExecOptions& opts_;
  bool header_;
  const Node* node_ = nullptr;
  std::string name_;
  int depth_ = 0;
};

const std::map<std::string, NodePtr> kNoDefines;
const std::map<std::string, Function> kNoFuncs;

}  // namespace

Result<Template> Template::parse(std::string text, ParseOptions opts) {
  std::set<std::string> names = kBuiltins;
  for (const auto& [k, v] : opts.funcs) names.insert(k);
  TRY_ASSIGN(auto parsed, detail::parseTemplate(text, names));
  Template t;
  t.text_ = std::move(text);
  t.root_ = parsed.root;
  t.defines_ = std::make_shared<const std::map<std::string, NodePtr>>(std::move(parsed.defines));
  t.funcs_ = std::make_shared<const std::map<std::string, Function>>(std::move(opts.funcs));
  return t;
}

Result<std::string> Template::execute(const Value& dot, const ExecOptions& opts) const {
  if (!root_) return std::string();
  State st(text_, defines_ ? *defines_ : kNoDefines, funcs_ ? *funcs_ : kNoFuncs, opts, false);
  Val d{&dot, nullptr};
  st.vars.emplace_back("$", d);
  try {
    st.walk(d, *root_);
  } catch (const ExecError& e) {
    return makeError(Code::InvalidArgument, e.msg);
  }
  return std::move(st.out);
}

Result<std::string> Template::execute(const nlohmann::json& dot, const ExecOptions& opts) const {
  return execute(Value::parse(dot.dump()), opts);
}

std::string Template::executeHeader(const std::map<std::string, std::string>& headers) const {
  if (!root_) return "";
  Value data = Value::object();
  for (const auto& [k, v] : headers) data[k] = v;
  ExecOptions opts;
  State st(text_, defines_ ? *defines_ : kNoDefines, funcs_ ? *funcs_ : kNoFuncs, opts, true);
  Val d{&data, nullptr};
  st.vars.emplace_back("$", d);
  try {
    st.walk(d, *root_);
  } catch (const ExecError&) {
    // docker ignores header execution errors; keep what was written
  }
  return std::move(st.out);
}

// ---- docker's --format handling ----

bool isTableFormat(std::string_view format) { return format.starts_with("table"); }
bool isJsonFormat(std::string_view format) { return format == "json"; }

std::string prepareFormat(std::string_view format) {
  if (isJsonFormat(format)) return "{{json .}}";
  std::string f(format);
  if (isTableFormat(f)) f.erase(0, 5);
  size_t a = f.find_first_not_of(' ');
  size_t b = f.find_last_not_of(' ');
  f = a == std::string::npos ? "" : f.substr(a, b - a + 1);
  std::string out;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] == '\\' && i + 1 < f.size() && (f[i + 1] == 't' || f[i + 1] == 'n')) {
      out.push_back(f[i + 1] == 't' ? '\t' : '\n');
      ++i;
    } else {
      out.push_back(f[i]);
    }
  }
  return out;
}

std::string headerFor(std::string_view fieldPath, const std::map<std::string, std::string>& headers) {
  if (fieldPath.starts_with('.')) fieldPath.remove_prefix(1);
  if (auto it = headers.find(std::string(fieldPath)); it != headers.end()) return it->second;
  auto dot = fieldPath.rfind('.');
  std::string last(dot == std::string_view::npos ? fieldPath : fieldPath.substr(dot + 1));
  if (auto it = headers.find(last); it != headers.end()) return it->second;
  for (char& c : last) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return last;
}

const std::map<std::string, std::string>& containerHeaders() {
  static const std::map<std::string, std::string> m = {
      {"ID", "CONTAINER ID"}, {"Image", "IMAGE"},       {"Command", "COMMAND"},
      {"CreatedAt", "CREATED AT"}, {"RunningFor", "CREATED"}, {"Ports", "PORTS"},
      {"State", "STATE"},     {"Status", "STATUS"},     {"Size", "SIZE"},
      {"Names", "NAMES"},     {"Labels", "LABELS"},     {"Label", "LABEL"},
      {"Mounts", "MOUNTS"},   {"LocalVolumes", "LOCAL VOLUMES"}, {"Networks", "NETWORKS"},
      {"Platform", "PLATFORM"}};
  return m;
}

const std::map<std::string, std::string>& imageHeaders() {
  static const std::map<std::string, std::string> m = {
      {"ID", "IMAGE ID"},     {"Repository", "REPOSITORY"}, {"Tag", "TAG"},
      {"Digest", "DIGEST"},   {"CreatedSince", "CREATED"},  {"CreatedAt", "CREATED AT"},
      {"Size", "SIZE"},       {"Containers", "CONTAINERS"}, {"VirtualSize", "VIRTUAL SIZE"},
      {"SharedSize", "SHARED SIZE"}, {"UniqueSize", "UNIQUE SIZE"}, {"Labels", "LABELS"},
      {"Label", "LABEL"}};
  return m;
}

const std::map<std::string, std::string>& volumeHeaders() {
  static const std::map<std::string, std::string> m = {
      {"Name", "VOLUME NAME"}, {"Driver", "DRIVER"}, {"Scope", "SCOPE"}, {"Mountpoint", "MOUNTPOINT"},
      {"Labels", "LABELS"},    {"Label", "LABEL"},   {"Links", "LINKS"}, {"Size", "SIZE"},
      {"Availability", "AVAILABILITY"}, {"Group", "GROUP"}, {"Status", "STATUS"}};
  return m;
}

const std::map<std::string, std::string>& statsHeaders() {
  static const std::map<std::string, std::string> m = {
      {"Container", "CONTAINER"}, {"ID", "CONTAINER ID"}, {"Name", "NAME"},
      {"CPUPerc", "CPU %"},       {"MemUsage", "MEM USAGE / LIMIT"}, {"MemPerc", "MEM %"},
      {"NetIO", "NET I/O"},       {"BlockIO", "BLOCK I/O"}, {"PIDs", "PIDS"}};
  return m;
}

Result<std::string> formatList(std::string_view format, const std::vector<Value>& items,
                               const std::map<std::string, std::string>& headers, const ExecOptions& opts) {
  std::string body = prepareFormat(format);
  auto tmpl = Template::parse(body);
  if (!tmpl) return makeError(Code::InvalidArgument, "template parsing error: " + tmpl.error().message);
  std::string rows;
  for (const auto& item : items) {
    auto r = tmpl->execute(item, opts);
    if (!r) return makeError(Code::InvalidArgument, "template parsing error: " + r.error().message);
    rows += *r;
    rows.push_back('\n');
  }
  if (!isTableFormat(format) || isJsonFormat(format)) return rows;
  std::string text = tmpl->executeHeader(headers);
  text.push_back('\n');
  text += rows;
  return tabwrite(text);
}

}  // namespace berth::cli::format
