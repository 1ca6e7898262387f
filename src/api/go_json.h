#pragma once
// Request bodies checked the way dockerd's Go decoder (encoding/json, Go
// 1.24 as in dockerd 28.2) checks them: a value of the wrong JSON type for
// its Go field is refused with Go's message, never ignored. Unknown fields
// are ignored and keys match case-insensitively, as in Go. null is accepted
// everywhere (Go leaves the zero value).
//
// A schema is a tree of GoType values describing the Go struct the daemon
// would decode into; checkGoJson walks a parsed body against it.

#include <deque>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::api {

struct GoField;

struct GoType {
  enum class Kind {
    String,    // string and named string types (container.NetworkMode)
    Bool,
    Int,       // signed integers of `bits` bits (time.Duration is an int64)
    Uint,      // unsigned integers of `bits` bits
    Slice,     // []elem, also *[N]elem and [N]elem (Go pads or drops elements)
    Map,       // map[string-like]elem
    Struct,
    StrSlice,  // strslice.StrSlice: a string or an array of strings
    Any,       // interface{} / a part not checked
  };
  Kind kind = Kind::Any;
  std::string name;        // reflect.Type.String(): "int64", "[]string", "container.HostConfig"
  int bits = 64;           // Int / Uint
  const GoType* elem = nullptr;  // Slice / Map
  std::string structName;  // Struct: reflect.Type.Name(), the prefix of Go's field path
  std::vector<GoField> fields;   // Struct
};

struct GoField {
  std::string key;         // the JSON key (the field's json tag or Go name)
  const GoType* type = nullptr;
  std::string embeddedIn;  // Go name of the embedded struct holding it ("Config", "Resources"), or ""
  bool pointer = false;    // a *T field: null means "not set" and is kept
};

// Owns the GoType nodes of a schema; nodes keep their addresses, so types
// point at each other. Not thread-safe while being built; read-only after.
class GoTypeArena {
 public:
  GoTypeArena() = default;
  GoTypeArena(const GoTypeArena&) = delete;
  GoTypeArena& operator=(const GoTypeArena&) = delete;

  const GoType* scalar(GoType::Kind kind, std::string name, int bits = 64);
  const GoType* slice(const GoType* elem, std::string name);
  const GoType* map(const GoType* elem, std::string name);
  GoType* strukt(std::string name, std::string structName);

 private:
  GoType* add(GoType::Kind kind, std::string name);
  std::deque<GoType> types_;
};

// Checks v against t like json.Unmarshal into t. Errors (InvalidArgument):
// "json: cannot unmarshal <what> into Go struct field <Struct>.<path> of type
// <type>" (or "... into Go value of type <type>" at the top level), where
// <what> is "string", "number", "number -5" (a number out of an integer
// field's range), "bool", "array" or "object".
Result<> checkGoJson(const nlohmann::json& v, const GoType& t);

// Rewrites v the way Go would have read it into t, so that handlers can
// read the canonical keys only:
// - a key of a struct field spelt in another case is renamed to the field's
//   key (Go matches object keys exactly first, then case-insensitively:
//   docker-py sends "detachKeys" for DetachKeys). When both spellings are
//   present the exact one wins (Go keeps the last in document order; the
//   parsed object has lost that order);
// - null values of scalar struct fields (string, bool, numbers) are removed:
//   Go decodes them as the zero value, the same as an absent key, so
//   handlers reading with json::value() see absent keys instead of nulls
//   they would throw on. Nulls of slices, maps and pointer fields stay.
// Map keys are data and are never renamed. v must already have passed
// checkGoJson(v, t).
void normalizeGoJson(nlohmann::json& v, const GoType& t);

// The one decoder of a request body (dockerd's httputils.ReadJSON):
// checkGoJson, its error wrapped as dockerd words it ("invalid JSON: json:
// cannot unmarshal ..."), then normalizeGoJson.
Result<> decodeGoJson(nlohmann::json& v, const GoType& t);

}  // namespace berth::api

namespace berth::api {

// Parses text as Go's encoding/json does, with Go's syntax error messages
// (InvalidArgument): "unexpected end of JSON input", "invalid character 'x'
// looking for beginning of value", "... looking for beginning of object key
// string", "... after object key", "... after object key:value pair",
// "... after array element", "... in literal true (expecting 'r')",
// "... in string literal", "... in numeric literal", "... after top-level
// value". Used for JSON carried in query parameters (POST /build's buildargs,
// labels, cachefrom, ulimits).
Result<nlohmann::json> parseGoJson(std::string_view text);

}  // namespace berth::api
