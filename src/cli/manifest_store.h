#pragma once
// The docker CLI's local manifest lists ($DOCKER_CONFIG/manifests): one
// directory per list, one JSON file per image (docker's types.ImageManifest:
// Ref, Descriptor with platform, Raw base64, SchemaV2Manifest/OCIManifest),
// names made file-safe as docker does ("r:5000/a:v1" -> "r-5000_a-v1"), so
// `docker manifest` and `berth manifest` share them. No network here.

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "registry/manifest.h"

namespace berth::cli {

struct ManifestPlatform {
  std::string architecture, os, osVersion, variant;
  std::vector<std::string> osFeatures;
};

struct ImageManifestEntry {
  std::string ref;        // full reference: "127.0.0.1:5000/app:amd64"
  std::string mediaType;  // of the image manifest
  std::string digest;
  int64_t size = 0;
  std::optional<ManifestPlatform> platform;
  std::string raw;        // the manifest bytes as the registry served them
};

// docker's makeFilesafeName: ':' -> '-', '/' -> '_'.
std::string filesafeName(const std::string& ref);
// $DOCKER_CONFIG/manifests (or ~/.docker/manifests).
std::string manifestsDir();

// One entry as docker stores it, and back. InvalidArgument when malformed.
std::string encodeEntry(const ImageManifestEntry& e);
Result<ImageManifestEntry> decodeEntry(const std::string& text);

// The list's entries (sorted by file name); NotFound "No such manifest:
// <listRef>" when there is no such list.
Result<std::vector<ImageManifestEntry>> loadList(const std::string& root, const std::string& listRef);
Result<> saveEntry(const std::string& root, const std::string& listRef, const ImageManifestEntry& e);
Result<ImageManifestEntry> loadEntry(const std::string& root, const std::string& listRef, const std::string& ref);
Result<> removeList(const std::string& root, const std::string& listRef);

// The manifest list document for entries as docker builds it: an OCI index
// when the first entry is an OCI manifest, else a Docker manifest list;
// distribution's field order, three-space indent. Returns {mediaType, body}.
std::pair<std::string, std::string> buildList(const std::vector<ImageManifestEntry>& entries);
// The entries of a manifest list / index document (digest, size, media
// type, platform); InvalidArgument when it is not one.
Result<std::vector<ImageManifestEntry>> entriesOfList(const std::string& body);
// JSON text re-indented with tabs, key order kept (Go's json.Indent "\t").
std::string indentTabs(const std::string& text);
// docker's isValidOSArch (GOOS/GOARCH pairs docker accepts).
bool validOsArch(const std::string& os, const std::string& arch);

}  // namespace berth::cli
