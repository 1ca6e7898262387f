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

std::string base64Encode(std::string_view data) {
  static const char* kAlpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t v = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8) | uint8_t(data[i + 2]);
    out += kAlpha[v >> 18];
    out += kAlpha[(v >> 12) & 63];
    out += kAlpha[(v >> 6) & 63];
    out += kAlpha[v & 63];
  }
  if (i + 1 == data.size()) {
    uint32_t v = uint8_t(data[i]) << 16;
    out += kAlpha[v >> 18];
    out += kAlpha[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == data.size()) {
    uint32_t v = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8);
    out += kAlpha[v >> 18];
    out += kAlpha[(v >> 12) & 63];
    out += kAlpha[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

Result<std::string> base64Decode(std::string_view data) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : data) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+' || c == '-') v = 62;
    else if (c == '/' || c == '_') v = 63;
    else if (c == '=' || c == '\n' || c == '\r') continue;
    else return makeError(Code::InvalidArgument, "illegal base64 data");
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xff);
    }
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
