#pragma once
// Registry authentication pieces that need no network: WWW-Authenticate
// challenges (RFC 7235 as distribution sends them), X-Registry-Auth
// decoding, base64.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/base64.h"
#include "common/result.h"

namespace berth::registry {

struct Challenge {
  std::string scheme;                         // lower case: "bearer", "basic"
  std::map<std::string, std::string> params;  // keys lower case: realm, service, scope
};

// Parses one WWW-Authenticate header value, which may hold several
// challenges: `Bearer realm="https://a/token",service="reg",scope="x:y:pull"`.
// Quoted strings may contain commas and \" escapes. Malformed input yields
// what could be parsed (never fails).
std::vector<Challenge> parseWwwAuthenticate(std::string_view header);

// Registry credentials as X-Registry-Auth / ~/.docker/config.json carry them.
struct Credentials {
  std::string username, password;
  std::string identityToken;  // OAuth refresh token, when the registry gave one
  std::string registryToken;  // a bearer token to use as is
  std::string serverAddress;
  bool empty() const { return username.empty() && password.empty() && identityToken.empty() && registryToken.empty(); }
};

// Decodes the X-Registry-Auth header: base64url (or std) JSON with
// username, password, auth, serveraddress, identitytoken, registrytoken.
// An empty header or "e30=" ({}) gives empty credentials.
// InvalidArgument on undecodable input.
Result<Credentials> decodeRegistryAuth(std::string_view header);

}  // namespace berth::registry
