#include "api/go_json.h"

#include <cctype>
#include <cstdint>
#include <cstring>
#include <limits>

#include <fmt/core.h>

namespace berth::api {

namespace {

using json = nlohmann::json;
using Kind = GoType::Kind;

bool equalFold(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

// Go's field lookup: the exact name first, then a case-insensitive match.
const GoField* findField(const GoType& t, std::string_view key) {
  for (const auto& f : t.fields)
    if (f.key == key) return &f;
  for (const auto& f : t.fields)
    if (equalFold(f.key, key)) return &f;
  return nullptr;
}

// Go's errorContext: the innermost struct being decoded and the path of
// field names (embedded struct names included) from the top.
struct Context {
  std::string structName;
  std::vector<std::string> path;
};

std::unexpected<Error> typeError(const Context& ctx, std::string_view what, std::string_view type) {
  if (ctx.structName.empty() && ctx.path.empty())
    return errorf(Code::InvalidArgument, "json: cannot unmarshal {} into Go value of type {}", what, type);
  std::string path;
  for (const auto& p : ctx.path) path += (path.empty() ? "" : ".") + p;
  return errorf(Code::InvalidArgument, "json: cannot unmarshal {} into Go struct field {}.{} of type {}", what,
                ctx.structName, path, type);
}

// A JSON number as an integer of `bits` bits (signed or not); false when Go's
// strconv.ParseInt / ParseUint would refuse it or the value overflows.
bool integerFits(const json& v, bool isSigned, int bits) {
  if (v.is_number_float()) return false;
  if (isSigned) {
    int64_t lo = bits >= 64 ? std::numeric_limits<int64_t>::min() : -(int64_t(1) << (bits - 1));
    int64_t hi = bits >= 64 ? std::numeric_limits<int64_t>::max() : (int64_t(1) << (bits - 1)) - 1;
    if (v.is_number_unsigned()) return v.get<uint64_t>() <= uint64_t(hi);
    int64_t n = v.get<int64_t>();
    return n >= lo && n <= hi;
  }
  if (!v.is_number_unsigned()) return false;
  uint64_t hi = bits >= 64 ? std::numeric_limits<uint64_t>::max() : (uint64_t(1) << bits) - 1;
  return v.get<uint64_t>() <= hi;
}

Result<> check(const json& v, const GoType& t, Context& ctx) {
  if (v.is_null() || t.kind == Kind::Any) return {};
  // strslice.StrSlice decodes []string, else string; the error is the second one's.
  if (t.kind == Kind::StrSlice) {
    if (v.is_string()) return {};
    if (v.is_array()) {
      bool allStrings = true;
      for (const auto& e : v) allStrings = allStrings && (e.is_string() || e.is_null());
      if (allStrings) return {};
    }
    const char* what = v.is_array() ? "array" : v.is_object() ? "object" : v.is_boolean() ? "bool" : "number";
    return typeError(ctx, what, "string");
  }
  switch (v.type()) {
    case json::value_t::boolean:
      if (t.kind != Kind::Bool) return typeError(ctx, "bool", t.name);
      return {};
    case json::value_t::string:
      if (t.kind != Kind::String) return typeError(ctx, "string", t.name);
      return {};
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      if (t.kind != Kind::Int && t.kind != Kind::Uint) return typeError(ctx, "number", t.name);
      if (!integerFits(v, t.kind == Kind::Int, t.bits)) return typeError(ctx, "number " + v.dump(), t.name);
      return {};
    case json::value_t::array:
      if (t.kind != Kind::Slice) return typeError(ctx, "array", t.name);
      for (const auto& e : v) TRY(check(e, *t.elem, ctx));
      return {};
    case json::value_t::object:
      if (t.kind == Kind::Map) {
        for (const auto& e : v) TRY(check(e, *t.elem, ctx));
        return {};
      }
      if (t.kind != Kind::Struct) return typeError(ctx, "object", t.name);
      for (auto it = v.begin(); it != v.end(); ++it) {
        const GoField* f = findField(t, it.key());
        if (!f) continue;  // unknown fields are ignored, as in Go
        Context inner = ctx;
        if (!f->embeddedIn.empty()) inner.path.push_back(f->embeddedIn);
        inner.path.push_back(f->key);
        inner.structName = t.structName;
        TRY(check(it.value(), *f->type, inner));
      }
      return {};
    default:
      return {};
  }
}

}  // namespace

GoType* GoTypeArena::add(Kind kind, std::string name) {
  types_.push_back(GoType{});
  GoType* t = &types_.back();
  t->kind = kind;
  t->name = std::move(name);
  return t;
}

const GoType* GoTypeArena::scalar(Kind kind, std::string name, int bits) {
  GoType* t = add(kind, std::move(name));
  t->bits = bits;
  return t;
}

const GoType* GoTypeArena::slice(const GoType* elem, std::string name) {
  GoType* t = add(Kind::Slice, std::move(name));
  t->elem = elem;
  return t;
}

const GoType* GoTypeArena::map(const GoType* elem, std::string name) {
  GoType* t = add(Kind::Map, std::move(name));
  t->elem = elem;
  return t;
}

GoType* GoTypeArena::strukt(std::string name, std::string structName) {
  GoType* t = add(Kind::Struct, std::move(name));
  t->structName = std::move(structName);
  return t;
}

Result<> checkGoJson(const json& v, const GoType& t) {
  Context ctx;
  return check(v, t, ctx);
}

void normalizeGoJson(json& v, const GoType& t) {
  if (t.kind == Kind::Slice && v.is_array()) {
    if (t.elem->kind == Kind::Struct)
      for (auto& e : v) normalizeGoJson(e, *t.elem);
    return;
  }
  if (t.kind == Kind::Map && v.is_object()) {
    if (t.elem->kind == Kind::Struct)
      for (auto& e : v) normalizeGoJson(e, *t.elem);
    return;
  }
  if (t.kind != Kind::Struct || !v.is_object()) return;
  // Keys spelt in another case: renamed to the field's key unless that key
  // is present itself (then the exact spelling wins and this one goes).
  std::vector<std::pair<std::string, std::string>> renames;
  for (auto it = v.begin(); it != v.end(); ++it) {
    const GoField* f = findField(t, it.key());
    if (f && f->key != it.key()) renames.emplace_back(it.key(), f->key);
  }
  for (const auto& [from, to] : renames) {
    if (!v.contains(to)) v[to] = std::move(v[from]);
    v.erase(from);
  }
  for (auto it = v.begin(); it != v.end();) {
    const GoField* f = findField(t, it.key());
    if (!f) {
      ++it;
      continue;
    }
    Kind k = f->type->kind;
    if (it.value().is_null() && !f->pointer && (k == Kind::String || k == Kind::Bool || k == Kind::Int || k == Kind::Uint)) {
      it = v.erase(it);
      continue;
    }
    normalizeGoJson(it.value(), *f->type);
    ++it;
  }
}

Result<> decodeGoJson(json& v, const GoType& t) {
  auto r = checkGoJson(v, t);
  if (!r) return std::unexpected(r.error().wrap("invalid JSON"));
  normalizeGoJson(v, t);
  return {};
}

}  // namespace berth::api

namespace berth::api {

namespace {

// Go's quoteChar: '\'' and '"' escaped, printable ASCII as is, else a Go
// quoted escape.
std::string goQuoteChar(unsigned char c) {
  if (c == '\'') return "'\\''";
  if (c == '"') return "'\"'";
  if (c >= 0x20 && c < 0x7f) return fmt::format("'{}'", char(c));
  switch (c) {
    case '\n': return "'\\n'";
    case '\t': return "'\\t'";
    case '\r': return "'\\r'";
    default: return fmt::format("'\\x{:02x}'", c);
  }
}

// A validating scanner with Go's messages; on success nlohmann parses.
class GoSyntax {
 public:
  explicit GoSyntax(std::string_view s) : s_(s) {}
  Result<> run() {
    TRY(value());
    ws();
    if (i_ < s_.size()) return bad("after top-level value");
    return {};
  }

 private:
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) i_++;
  }
  std::unexpected<Error> bad(std::string_view context) {
    if (i_ >= s_.size()) return makeError(Code::InvalidArgument, "unexpected end of JSON input");
    return errorf(Code::InvalidArgument, "invalid character {} {}", goQuoteChar(static_cast<unsigned char>(s_[i_])),
                  context);
  }
  Result<> value() {
    ws();
    if (i_ >= s_.size()) return bad("");
    char c = s_[i_];
    if (c == '{') return object();
    if (c == '[') return array();
    if (c == '"') return string();
    if (c == '-' || (c >= '0' && c <= '9')) return number();
    if (c == 't') return literal("true");
    if (c == 'f') return literal("false");
    if (c == 'n') return literal("null");
    return bad("looking for beginning of value");
  }
  Result<> object() {
    i_++;
    ws();
    if (i_ < s_.size() && s_[i_] == '}') {
      i_++;
      return {};
    }
    for (;;) {
      ws();
      if (i_ >= s_.size() || s_[i_] != '"') return bad("looking for beginning of object key string");
      TRY(string());
      ws();
      if (i_ >= s_.size() || s_[i_] != ':') return bad("after object key");
      i_++;
      TRY(value());
      ws();
      if (i_ < s_.size() && s_[i_] == ',') {
        i_++;
        continue;
      }
      if (i_ < s_.size() && s_[i_] == '}') {
        i_++;
        return {};
      }
      return bad("after object key:value pair");
    }
  }
  Result<> array() {
    i_++;
    ws();
    if (i_ < s_.size() && s_[i_] == ']') {
      i_++;
      return {};
    }
    for (;;) {
      TRY(value());
      ws();
      if (i_ < s_.size() && s_[i_] == ',') {
        i_++;
        continue;
      }
      if (i_ < s_.size() && s_[i_] == ']') {
        i_++;
        return {};
      }
      return bad("after array element");
    }
  }
  Result<> string() {
    i_++;
    while (i_ < s_.size()) {
      unsigned char c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        i_++;
        return {};
      }
      if (c < 0x20) return bad("in string literal");
      if (c == '\\') {
        i_++;
        if (i_ >= s_.size()) break;
        char e = s_[i_];
        if (e == 'u') {
          for (int k = 0; k < 4; k++) {
            i_++;
            if (i_ >= s_.size()) return bad("");
            if (!std::isxdigit(static_cast<unsigned char>(s_[i_]))) return bad("in \\u hexadecimal character escape");
          }
        } else if (!std::strchr("\"\\/bfnrt", e)) {
          return bad("in string escape code");
        }
      }
      i_++;
    }
    return bad("");
  }
  Result<> number() {
    if (s_[i_] == '-') {
      i_++;
      if (i_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[i_]))) return bad("in numeric literal");
    }
    auto digits = [&] {
      while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) i_++;
    };
    if (s_[i_] == '0') {
      i_++;
    } else {
      digits();
    }
    if (i_ < s_.size() && s_[i_] == '.') {
      i_++;
      if (i_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[i_]))) return bad("after decimal point in numeric literal");
      digits();
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      i_++;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) i_++;
      if (i_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[i_]))) return bad("in exponent of numeric literal");
      digits();
    }
    return {};
  }
  Result<> literal(std::string_view word) {
    for (size_t k = 0; k < word.size(); k++, i_++) {
      if (i_ >= s_.size() || s_[i_] != word[k])
        return bad(fmt::format("in literal {} (expecting {})", word, goQuoteChar(static_cast<unsigned char>(word[k]))));
    }
    return {};
  }
  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

Result<nlohmann::json> parseGoJson(std::string_view text) {
  TRY(GoSyntax(text).run());
  try {
    return nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    return errorf(Code::InvalidArgument, "invalid JSON: {}", e.what());
  }
}

}  // namespace berth::api
