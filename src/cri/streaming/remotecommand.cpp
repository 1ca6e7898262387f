#include "cri/streaming/remotecommand.h"

#include <strings.h>

#include <nlohmann/json.hpp>

#include "common/number.h"

namespace berth::cri::streaming {

using nlohmann::json;

const std::vector<std::string>& supportedRemoteCommandProtocols() {
  static const std::vector<std::string> k = {std::string(kProtocolV5), std::string(kProtocolV4),
                                             std::string(kProtocolV3), std::string(kProtocolV2),
                                             std::string(kProtocolV1)};
  return k;
}

std::vector<std::string> splitProtocols(const std::vector<std::string>& headerValues) {
  std::vector<std::string> out;
  for (auto& v : headerValues) {
    size_t start = 0;
    while (start <= v.size()) {
      size_t comma = v.find(',', start);
      if (comma == std::string::npos) comma = v.size();
      std::string_view item(v.data() + start, comma - start);
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
      if (!item.empty()) out.emplace_back(item);
      start = comma + 1;
    }
  }
  return out;
}

std::string negotiate(const std::vector<std::string>& client, const std::vector<std::string>& server) {
  for (auto& c : client)
    for (auto& s : server)
      if (c == s) return c;
  return "";
}

std::optional<Protocol> protocolFromName(std::string_view name) {
  if (name == kProtocolV1) return Protocol::V1;
  if (name == kProtocolV2) return Protocol::V2;
  if (name == kProtocolV3) return Protocol::V3;
  if (name == kProtocolV4) return Protocol::V4;
  if (name == kProtocolV5) return Protocol::V5;
  return std::nullopt;
}

namespace {

std::optional<WsProtocol> pick(const std::vector<std::string>& offered, const std::vector<WsProtocol>& allowed) {
  std::vector<std::string> offers = offered;
  if (offers.empty()) offers.push_back("");
  for (auto& o : offers)
    for (auto& a : allowed)
      if (a.name == o) return a;
  return std::nullopt;
}

}  // namespace

std::optional<WsProtocol> negotiateWsRemoteCommand(const std::vector<std::string>& offered) {
  static const std::vector<WsProtocol> allowed = {
      {"", true, false, false},
      {"channel.k8s.io", true, false, false},
      {"base64.channel.k8s.io", false, false, false},
      {"v4.channel.k8s.io", true, true, false},
      {"v4.base64.channel.k8s.io", false, true, false},
      {"v5.channel.k8s.io", true, true, true},
  };
  return pick(offered, allowed);
}

std::optional<WsProtocol> negotiateWsPortForward(const std::vector<std::string>& offered) {
  static const std::vector<WsProtocol> allowed = {
      {"", true, false, false},
      {"v4.channel.k8s.io", true, false, false},
      {"v4.base64.channel.k8s.io", false, false, false},
  };
  return pick(offered, allowed);
}

std::string statusDocument(const CommandResult& r) {
  json j = json::object();
  j["metadata"] = json::object();
  switch (r.kind) {
    case CommandResult::Success:
      j["status"] = "Success";
      break;
    case CommandResult::ExitCode:
      j["status"] = "Failure";
      j["message"] = "command terminated with non-zero exit code: " + r.message;
      j["reason"] = "NonZeroExitCode";
      j["details"] = {{"causes", json::array({{{"reason", "ExitCode"}, {"message", std::to_string(r.exitCode)}}})}};
      break;
    case CommandResult::Internal:
      j["status"] = "Failure";
      j["message"] = "Internal error occurred: " + r.message;
      j["reason"] = "InternalError";
      j["details"] = {{"causes", json::array({{{"message", r.message}}})}};
      j["code"] = 500;
      break;
  }
  return j.dump();
}

std::string legacyStatusText(const CommandResult& r) {
  switch (r.kind) {
    case CommandResult::Success: return "";
    case CommandResult::ExitCode: return "command terminated with non-zero exit code: " + r.message;
    case CommandResult::Internal: return "Internal error occurred: " + r.message;
  }
  return "";
}

std::optional<int> exitCodeFromStatus(std::string_view document) {
  json j = json::parse(document, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  std::string status = j.value("status", "");
  if (status == "Success") return 0;
  if (status != "Failure" || j.value("reason", "") != "NonZeroExitCode") return std::nullopt;
  auto d = j.find("details");
  if (d == j.end() || !d->is_object() || !d->contains("causes") || !(*d)["causes"].is_array()) return std::nullopt;
  for (auto& c : (*d)["causes"]) {
    if (!c.is_object() || c.value("reason", "") != "ExitCode") continue;
    auto n = parseNumber<int>(c.value("message", ""));
    if (n) return *n;
  }
  return std::nullopt;
}

std::vector<TermSize> ResizeDecoder::feed(std::string_view bytes) {
  std::vector<TermSize> out;
  if (bad_) return out;
  buf_.append(bytes);
  // Split complete top-level JSON values by brace depth (strings honoured).
  size_t start = 0;
  for (;;) {
    while (start < buf_.size() && (buf_[start] == ' ' || buf_[start] == '\n' || buf_[start] == '\r' ||
                                   buf_[start] == '\t'))
      start++;
    if (start >= buf_.size()) break;
    if (buf_[start] != '{') {
      bad_ = true;
      break;
    }
    int depth = 0;
    bool inStr = false, esc = false;
    size_t end = std::string::npos;
    for (size_t i = start; i < buf_.size(); i++) {
      char c = buf_[i];
      if (inStr) {
        if (esc) esc = false;
        else if (c == '\\') esc = true;
        else if (c == '"') inStr = false;
        continue;
      }
      if (c == '"') inStr = true;
      else if (c == '{') depth++;
      else if (c == '}' && --depth == 0) {
        end = i + 1;
        break;
      }
    }
    if (end == std::string::npos) {
      if (buf_.size() - start > 4096) bad_ = true;
      break;
    }
    json j = json::parse(std::string_view(buf_).substr(start, end - start), nullptr, false);
    start = end;
    if (!j.is_object()) {
      bad_ = true;
      break;
    }
    TermSize t;
    for (auto& [k, v] : j.items()) {
      if (!v.is_number_unsigned()) continue;
      uint64_t n = v.get<uint64_t>();
      if (n > 0xffff) continue;
      if (strcasecmp(k.c_str(), "width") == 0) t.width = uint16_t(n);
      else if (strcasecmp(k.c_str(), "height") == 0) t.height = uint16_t(n);
    }
    out.push_back(t);
  }
  buf_.erase(0, start);
  return out;
}

}  // namespace berth::cri::streaming
