#include "cli/manifest_store.h"

#include <dirent.h>

#include <algorithm>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/util.h"

namespace berth::cli {

using ojson = nlohmann::ordered_json;

std::string filesafeName(const std::string& ref) {
  std::string s = ref;
  for (char& c : s) {
    if (c == ':') c = '-';
    else if (c == '/') c = '_';
  }
  return s;
}

std::string manifestsDir() {
  if (const char* d = std::getenv("DOCKER_CONFIG"); d && *d) return std::string(d) + "/manifests";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/root") + "/.docker/manifests";
}

namespace {

ojson platformJson(const ManifestPlatform& p) {
  ojson j = ojson::object();
  j["architecture"] = p.architecture;
  j["os"] = p.os;
  if (!p.osVersion.empty()) j["os.version"] = p.osVersion;
  if (!p.osFeatures.empty()) j["os.features"] = p.osFeatures;
  if (!p.variant.empty()) j["variant"] = p.variant;
  return j;
}

// A descriptor's mediaType, digest, size and platform into e (throws
// nlohmann's type errors; callers catch them).
void readDescriptor(const ojson& d, ImageManifestEntry& e) {
  e.mediaType = d.value("mediaType", "");
  e.digest = d.value("digest", "");
  e.size = d.value("size", int64_t(0));
  if (d.contains("platform") && d["platform"].is_object()) {
    const auto& p = d["platform"];
    ManifestPlatform mp;
    mp.architecture = p.value("architecture", "");
    mp.os = p.value("os", "");
    mp.osVersion = p.value("os.version", "");
    mp.variant = p.value("variant", "");
    if (p.contains("os.features")) mp.osFeatures = p["os.features"].get<std::vector<std::string>>();
    e.platform = mp;
  }
}

}  // namespace

std::string encodeEntry(const ImageManifestEntry& e) {
  ojson d = ojson::object();
  d["mediaType"] = e.mediaType;
  d["digest"] = e.digest;
  d["size"] = e.size;
  if (e.platform) d["platform"] = platformJson(*e.platform);
  ojson j = ojson::object();
  j["Ref"] = e.ref;
  j["Descriptor"] = d;
  j["Raw"] = base64Encode(e.raw);
  auto parsed = ojson::parse(e.raw, nullptr, false);
  if (!parsed.is_discarded()) {
    if (e.mediaType == registry::kOciManifest) j["OCIManifest"] = parsed;
    else j["SchemaV2Manifest"] = parsed;
  }
  return j.dump();
}

Result<ImageManifestEntry> decodeEntry(const std::string& text) {
  auto j = ojson::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return errorf(Code::InvalidArgument, "invalid manifest file");
  try {
    ImageManifestEntry e;
    e.ref = j.value("Ref", "");
    readDescriptor(j.at("Descriptor"), e);
    if (j.contains("Raw") && j["Raw"].is_string()) {
      auto raw = base64Decode(j["Raw"].get<std::string>());
      if (!raw) return errorf(Code::InvalidArgument, "invalid manifest file: bad Raw");
      e.raw = *raw;
    }
    return e;
  } catch (const std::exception& ex) {
    return errorf(Code::InvalidArgument, "invalid manifest file: {}", ex.what());
  }
}

Result<std::vector<ImageManifestEntry>> loadList(const std::string& root, const std::string& listRef) {
  std::string dir = root + "/" + filesafeName(listRef);
  DIR* d = ::opendir(dir.c_str());
  if (!d) return errorf(Code::NotFound, "No such manifest: {}", listRef);
  std::vector<std::string> names;
  while (auto* ent = ::readdir(d)) {
    std::string n = ent->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  std::vector<ImageManifestEntry> out;
  for (auto& n : names) {
    TRY_ASSIGN(auto text, readFile(dir + "/" + n));
    TRY_ASSIGN(auto e, decodeEntry(text));
    out.push_back(std::move(e));
  }
  if (out.empty()) return errorf(Code::NotFound, "No such manifest: {}", listRef);
  return out;
}

Result<> saveEntry(const std::string& root, const std::string& listRef, const ImageManifestEntry& e) {
  std::string dir = root + "/" + filesafeName(listRef);
  TRY(mkdirAll(dir, 0755));
  return writeFileAtomic(dir + "/" + filesafeName(e.ref), encodeEntry(e), 0644);
}

Result<ImageManifestEntry> loadEntry(const std::string& root, const std::string& listRef, const std::string& ref) {
  auto text = readFile(root + "/" + filesafeName(listRef) + "/" + filesafeName(ref));
  if (!text) return errorf(Code::NotFound, "No such manifest: {}", ref);
  return decodeEntry(*text);
}

Result<> removeList(const std::string& root, const std::string& listRef) {
  return removeAll(root + "/" + filesafeName(listRef));
}

std::pair<std::string, std::string> buildList(const std::vector<ImageManifestEntry>& entries) {
  // distribution's manifestlist.FromDescriptors: an OCI index when the first
  // entry is an OCI manifest, else a Docker list
  std::string mt = !entries.empty() && entries[0].mediaType == registry::kOciManifest ? registry::kOciIndex
                                                                                     : registry::kDockerManifestList;
  ojson j = ojson::object();
  j["schemaVersion"] = 2;
  j["mediaType"] = mt;
  ojson arr = ojson::array();
  for (auto& e : entries) {
    // distribution's ManifestDescriptor field order
    ojson d = ojson::object();
    d["mediaType"] = e.mediaType;
    d["size"] = e.size;
    d["digest"] = e.digest;
    d["platform"] = platformJson(e.platform.value_or(ManifestPlatform{}));
    arr.push_back(d);
  }
  j["manifests"] = arr;
  // MarshalIndent(list, "", "   ") as distribution does: the same entries
  // give the same digest as `docker manifest push`.
  return {mt, j.dump(3)};
}

Result<std::vector<ImageManifestEntry>> entriesOfList(const std::string& body) {
  auto j = ojson::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("manifests") || !j["manifests"].is_array())
    return errorf(Code::InvalidArgument, "not a manifest list");
  std::vector<ImageManifestEntry> out;
  try {
    for (auto& m : j["manifests"]) {
      ImageManifestEntry e;
      readDescriptor(m, e);
      out.push_back(std::move(e));
    }
  } catch (const std::exception& ex) {
    return errorf(Code::InvalidArgument, "invalid manifest list: {}", ex.what());
  }
  return out;
}

std::string indentTabs(const std::string& text) {
  auto j = ojson::parse(text, nullptr, false);
  if (j.is_discarded()) return text;
  return j.dump(1, '\t');
}

bool validOsArch(const std::string& os, const std::string& arch) {
  static const std::vector<std::pair<std::string, std::string>> kValid = {
      {"aix", "ppc64"},       {"android", "386"},     {"android", "amd64"},   {"android", "arm"},
      {"android", "arm64"},   {"darwin", "amd64"},    {"darwin", "arm64"},    {"dragonfly", "amd64"},
      {"freebsd", "386"},     {"freebsd", "amd64"},   {"freebsd", "arm"},     {"illumos", "amd64"},
      {"ios", "arm64"},       {"js", "wasm"},         {"linux", "386"},       {"linux", "amd64"},
      {"linux", "arm"},       {"linux", "arm64"},     {"linux", "loong64"},   {"linux", "ppc64"},
      {"linux", "ppc64le"},   {"linux", "mips"},      {"linux", "mipsle"},    {"linux", "mips64"},
      {"linux", "mips64le"},  {"linux", "riscv64"},   {"linux", "s390x"},     {"netbsd", "386"},
      {"netbsd", "amd64"},    {"netbsd", "arm"},      {"openbsd", "386"},     {"openbsd", "amd64"},
      {"openbsd", "arm"},     {"openbsd", "arm64"},   {"plan9", "386"},       {"plan9", "amd64"},
      {"solaris", "amd64"},   {"wasip1", "wasm"},     {"windows", "386"},     {"windows", "amd64"},
      {"windows", "arm"},     {"windows", "arm64"},
  };
  return std::find(kValid.begin(), kValid.end(), std::make_pair(os, arch)) != kValid.end();
}

}  // namespace berth::cli
