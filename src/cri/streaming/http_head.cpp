#include "cri/streaming/http_head.h"

#include <strings.h>

#include <fmt/core.h>

#include "common/number.h"

namespace berth::cri::streaming {

namespace {

bool ieq(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

std::string lowerStr(std::string_view s) {
  std::string r(s);
  for (auto& c : r)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return r;
}

std::string formDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size()) {
      auto v = parseNumber<unsigned>(s.substr(i + 1, 2), 16);
      if (v) {
        out.push_back(char(*v));
        i += 2;
      } else {
        out.push_back('%');
      }
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

const char* reason(int code) {
  switch (code) {
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    default: return "Error";
  }
}

}  // namespace

std::vector<std::string> RequestHead::all(std::string_view name) const {
  std::vector<std::string> out;
  for (auto& [k, v] : headers)
    if (ieq(k, name)) out.push_back(v);
  return out;
}

std::string RequestHead::get(std::string_view name) const {
  for (auto& [k, v] : headers)
    if (ieq(k, name)) return v;
  return "";
}

std::vector<std::string> RequestHead::queryValues(std::string_view key) const {
  std::vector<std::string> out;
  std::string_view q(query);
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view kv = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    size_t eq = kv.find('=');
    std::string k = formDecode(kv.substr(0, eq));
    if (k == key) out.push_back(eq == std::string_view::npos ? "" : formDecode(kv.substr(eq + 1)));
  }
  return out;
}

bool RequestHead::upgradeTo(std::string_view protocol) const {
  bool conn = false;
  for (auto& v : all("Connection"))
    if (lowerStr(v).find("upgrade") != std::string::npos) conn = true;
  if (!conn) return false;
  return lowerStr(get("Upgrade")).find(lowerStr(protocol)) != std::string::npos;
}

std::optional<size_t> findHeadEnd(std::string_view buf) {
  size_t at = buf.find("\r\n\r\n");
  if (at == std::string_view::npos) return std::nullopt;
  return at + 4;
}

Result<RequestHead> parseRequestHead(std::string_view head) {
  RequestHead r;
  size_t eol = head.find("\r\n");
  if (eol == std::string_view::npos) return makeError(Code::InvalidArgument, "malformed HTTP request");
  std::string_view line = head.substr(0, eol);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos)
    return makeError(Code::InvalidArgument, "malformed HTTP request line");
  r.method = std::string(line.substr(0, sp1));
  r.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  r.version = std::string(line.substr(sp2 + 1));
  if (r.method.empty() || r.target.empty() || r.target[0] != '/' || r.version.rfind("HTTP/1.", 0) != 0)
    return makeError(Code::InvalidArgument, "malformed HTTP request line");
  size_t qm = r.target.find('?');
  r.path = r.target.substr(0, qm);
  if (qm != std::string::npos) r.query = r.target.substr(qm + 1);
  std::string_view rest = head.substr(eol + 2);
  while (!rest.empty()) {
    size_t e = rest.find("\r\n");
    std::string_view h = rest.substr(0, e);
    rest = e == std::string_view::npos ? std::string_view() : rest.substr(e + 2);
    if (h.empty()) break;
    size_t colon = h.find(':');
    if (colon == std::string_view::npos || colon == 0) return makeError(Code::InvalidArgument, "malformed HTTP header");
    r.headers.emplace_back(std::string(h.substr(0, colon)), trimmed(h.substr(colon + 1)));
  }
  return r;
}

std::string plainResponse(int code, std::string_view body,
                          const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string out = fmt::format("HTTP/1.1 {} {}\r\n", code, reason(code));
  for (auto& [k, v] : headers) out += k + ": " + v + "\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n";
  out += fmt::format("Content-Length: {}\r\nConnection: close\r\n\r\n", body.size());
  out += body;
  return out;
}

}  // namespace berth::cri::streaming
