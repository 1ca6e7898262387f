#pragma once
// Image manifests as registries serve them (OCI image-spec, Docker manifest
// v2 schema 2, manifest lists) and platform selection. No network.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::registry {

inline constexpr const char* kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* kDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr const char* kDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr const char* kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr const char* kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr const char* kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
// The Accept header of a manifest GET: every kind we can read.
std::string manifestAccept();

struct Platform {
  std::string os, architecture, variant;
  // "linux/amd64", "linux/arm64/v8"
  std::string string() const;
};
// Parses "os[/arch[/variant]]" and normalises like containerd's platforms
// package (x86_64 -> amd64, aarch64 -> arm64, arm64 variant v8 -> "",
// arm default variant v7). InvalidArgument for an empty or malformed value.
Result<Platform> parsePlatform(std::string_view s);
Platform normalizePlatform(Platform p);
// The daemon host's platform (uname machine).
Platform hostPlatform();
// True when candidate (from an index) satisfies want: os and architecture
// equal; a wanted variant must equal the candidate's (arm64 "" == "v8").
bool platformMatches(const Platform& want, const Platform& candidate);

struct Descriptor {
  std::string mediaType, digest;
  int64_t size = 0;
  std::vector<std::string> urls;
  std::optional<Platform> platform;  // index entries
};

struct Manifest {
  std::string mediaType;
  Descriptor config;
  std::vector<Descriptor> layers;
};

struct Index {
  std::string mediaType;
  std::vector<Descriptor> manifests;
};

bool isIndexMediaType(std::string_view mt);
bool isManifestMediaType(std::string_view mt);
// The media type of a manifest document: the Content-Type when it is one of
// ours, else the document's "mediaType", else guessed from its shape.
std::string detectMediaType(std::string_view contentType, std::string_view body);

// InvalidArgument with a reason for malformed documents or bad digests.
Result<Manifest> parseManifest(std::string_view body);
Result<Index> parseIndex(std::string_view body);
// The first entry matching want; NotFound "no matching manifest for
// <want> in the manifest list entries" when none does.
Result<Descriptor> selectPlatform(const Index& idx, const Platform& want);

}  // namespace berth::registry
