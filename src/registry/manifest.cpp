#include "registry/manifest.h"

#include <sys/utsname.h>

#include <nlohmann/json.hpp>

#include "common/sha256.h"
#include "common/util.h"

namespace berth::registry {

using json = nlohmann::json;

std::string manifestAccept() {
  return std::string(kDockerManifest) + ", " + kDockerManifestList + ", " + kOciManifest + ", " + kOciIndex;
}

std::string Platform::string() const {
  std::string s = os + "/" + architecture;
  if (!variant.empty()) s += "/" + variant;
  return s;
}

Platform normalizePlatform(Platform p) {
  p.os = toLower(p.os);
  std::string a = toLower(p.architecture);
  if (a == "x86_64" || a == "x86-64") a = "amd64";
  else if (a == "aarch64") a = "arm64";
  else if (a == "i386" || a == "i686") a = "386";
  else if (a == "armhf") a = "arm", p.variant = p.variant.empty() ? "v7" : p.variant;
  else if (a == "armel") a = "arm", p.variant = p.variant.empty() ? "v6" : p.variant;
  p.architecture = a;
  p.variant = toLower(p.variant);
  if (a == "arm64" && (p.variant == "v8" || p.variant == "8")) p.variant.clear();
  if (a == "arm" && p.variant.empty()) p.variant = "v7";
  if (a == "arm" && p.variant.size() == 1 && isdigit((unsigned char)p.variant[0])) p.variant = "v" + p.variant;
  if (a == "amd64" && p.variant == "v1") p.variant.clear();
  return p;
}

Result<Platform> parsePlatform(std::string_view s) {
  auto parts = split(s, '/');
  if (s.empty() || parts.size() > 3)
    return errorf(Code::InvalidArgument, "\"{}\": unknown operating system or architecture: invalid argument",
                  std::string(s));
  for (auto& p : parts)
    if (p.empty())
      return errorf(Code::InvalidArgument, "\"{}\": unknown operating system or architecture: invalid argument",
                    std::string(s));
  Platform p;
  if (parts.size() == 1) {
    // "linux" alone is an os; "amd64" alone is an architecture on linux.
    if (toLower(parts[0]) == "linux" || toLower(parts[0]) == "windows" || toLower(parts[0]) == "darwin") {
      p.os = parts[0];
      p.architecture = hostPlatform().architecture;
    } else {
      p.os = "linux";
      p.architecture = parts[0];
    }
  } else {
    p.os = parts[0];
    p.architecture = parts[1];
    if (parts.size() == 3) p.variant = parts[2];
  }
  return normalizePlatform(p);
}

Platform hostPlatform() {
  struct utsname u {};
  ::uname(&u);
  Platform p{"linux", u.machine, ""};
  return normalizePlatform(p);
}

bool platformMatches(const Platform& want, const Platform& candidate) {
  Platform w = normalizePlatform(want), c = normalizePlatform(candidate);
  if (w.os != c.os || w.architecture != c.architecture) return false;
  if (w.variant.empty() || w.variant == c.variant) return true;
  return false;
}

bool isIndexMediaType(std::string_view mt) { return mt == kDockerManifestList || mt == kOciIndex; }
bool isManifestMediaType(std::string_view mt) { return mt == kDockerManifest || mt == kOciManifest; }

std::string detectMediaType(std::string_view contentType, std::string_view body) {
  std::string ct(contentType.substr(0, contentType.find(';')));
  ct = trim(ct);
  if (isIndexMediaType(ct) || isManifestMediaType(ct)) return ct;
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) return ct;
  if (j.contains("mediaType") && j["mediaType"].is_string()) return j["mediaType"].get<std::string>();
  if (j.contains("manifests")) return kOciIndex;
  if (j.contains("config") && j.contains("layers")) return kOciManifest;
  return ct;
}

namespace {

Result<Descriptor> parseDescriptor(const json& d, const char* what) {
  if (!d.is_object()) return errorf(Code::InvalidArgument, "invalid manifest: {} is not an object", what);
  Descriptor out;
  out.mediaType = d.value("mediaType", "");
  out.digest = d.value("digest", "");
  if (!isValidDigest(out.digest))
    return errorf(Code::InvalidArgument, "invalid manifest: {} has an invalid digest \"{}\"", what, out.digest);
  if (!d.contains("size") || !d["size"].is_number_integer() || d["size"].get<int64_t>() < 0)
    return errorf(Code::InvalidArgument, "invalid manifest: {} has no valid size", what);
  out.size = d["size"].get<int64_t>();
  if (d.contains("urls") && d["urls"].is_array())
    for (auto& u : d["urls"])
      if (u.is_string()) out.urls.push_back(u.get<std::string>());
  if (d.contains("platform") && d["platform"].is_object()) {
    const json& p = d["platform"];
    out.platform = Platform{p.value("os", ""), p.value("architecture", ""), p.value("variant", "")};
  }
  return out;
}

}  // namespace

Result<Manifest> parseManifest(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) return makeError(Code::InvalidArgument, "invalid manifest: not a JSON object");
  if (j.value("schemaVersion", 0) != 2)
    return makeError(Code::InvalidArgument, "unsupported manifest schema version (only schema 2 is supported)");
  Manifest m;
  m.mediaType = detectMediaType("", body);
  if (isIndexMediaType(m.mediaType)) return makeError(Code::InvalidArgument, "invalid manifest: is an index");
  if (!j.contains("config")) return makeError(Code::InvalidArgument, "invalid manifest: no config");
  TRY_ASSIGN(m.config, parseDescriptor(j["config"], "config"));
  if (!j.contains("layers") || !j["layers"].is_array())
    return makeError(Code::InvalidArgument, "invalid manifest: no layers");
  for (auto& l : j["layers"]) {
    TRY_ASSIGN(Descriptor d, parseDescriptor(l, "layer"));
    m.layers.push_back(std::move(d));
  }
  return m;
}

Result<Index> parseIndex(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) return makeError(Code::InvalidArgument, "invalid manifest list: not a JSON object");
  if (!j.contains("manifests") || !j["manifests"].is_array())
    return makeError(Code::InvalidArgument, "invalid manifest list: no manifests");
  Index idx;
  idx.mediaType = detectMediaType("", body);
  for (auto& d : j["manifests"]) {
    TRY_ASSIGN(Descriptor desc, parseDescriptor(d, "manifest list entry"));
    idx.manifests.push_back(std::move(desc));
  }
  return idx;
}

Result<Descriptor> selectPlatform(const Index& idx, const Platform& want) {
  for (auto& d : idx.manifests)
    if (d.platform && platformMatches(want, *d.platform)) return d;
  return errorf(Code::NotFound, "no matching manifest for {} in the manifest list entries", want.string());
}

}  // namespace berth::registry
