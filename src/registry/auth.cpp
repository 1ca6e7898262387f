#include "registry/auth.h"

#include <cctype>

#include <nlohmann/json.hpp>

#include "common/util.h"

namespace berth::registry {

namespace {

bool isTokenChar(char c) {
  return std::isalnum((unsigned char)c) || std::string_view("!#$%&'*+-.^_`|~/").find(c) != std::string_view::npos;
}

void skipSpace(std::string_view s, size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) i++;
}

}  // namespace

std::vector<Challenge> parseWwwAuthenticate(std::string_view s) {
  std::vector<Challenge> out;
  size_t i = 0;
  while (i < s.size()) {
    skipSpace(s, i);
    while (i < s.size() && (s[i] == ',' || s[i] == ' ')) i++;
    size_t start = i;
    while (i < s.size() && isTokenChar(s[i])) i++;
    if (i == start) break;
    Challenge ch;
    ch.scheme = toLower(s.substr(start, i - start));
    // params: key=value or key="quoted", comma separated, until a token not
    // followed by '=' (the next challenge's scheme).
    for (;;) {
      skipSpace(s, i);
      while (i < s.size() && s[i] == ',') {
        i++;
        skipSpace(s, i);
      }
      size_t ks = i;
      while (i < s.size() && isTokenChar(s[i]) && s[i] != '=') i++;
      size_t ke = i;
      skipSpace(s, i);
      if (ke == ks || i >= s.size() || s[i] != '=') {
        i = ks;  // next challenge (or the end)
        break;
      }
      i++;
      skipSpace(s, i);
      std::string value;
      if (i < s.size() && s[i] == '"') {
        i++;
        while (i < s.size() && s[i] != '"') {
          if (s[i] == '\\' && i + 1 < s.size()) i++;
          value += s[i++];
        }
        if (i < s.size()) i++;
      } else {
        while (i < s.size() && s[i] != ',' && s[i] != ' ') value += s[i++];
      }
      ch.params[toLower(s.substr(ks, ke - ks))] = value;
    }
    out.push_back(std::move(ch));
    if (i == start) break;
  }
  return out;
}

Result<Credentials> decodeRegistryAuth(std::string_view header) {
  Credentials c;
  std::string h = trim(header);
  if (h.empty()) return c;
  TRY_ASSIGN(std::string text, base64Decode(h));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return makeError(Code::InvalidArgument, "invalid X-Registry-Auth header: not a JSON object");
  auto str = [&](const char* k) { return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : ""; };
  c.username = str("username");
  c.password = str("password");
  c.identityToken = str("identitytoken");
  c.registryToken = str("registrytoken");
  c.serverAddress = str("serveraddress");
  if (c.username.empty() && !str("auth").empty()) {
    TRY_ASSIGN(std::string up, base64Decode(str("auth")));
    auto colon = up.find(':');
    if (colon != std::string::npos) {
      c.username = up.substr(0, colon);
      c.password = up.substr(colon + 1);
    }
  }
  return c;
}

}  // namespace berth::registry
