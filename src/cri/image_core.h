#pragma once
// The CRI ImageService's logic without gRPC (src/cri/images.cpp maps these
// plain values to and from runtime.v1 messages): image fields as
// containerd's CRI plugin fills them, the AuthConfig as an X-Registry-Auth
// value, the image filesystem's usage, and the one-file image import the
// pod sandboxes need (their pause image).
//
// Thread safety: free functions, no shared state.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "image/service.h"

namespace berth::cri {

// runtime.v1.Image, as containerd's toCRIImage fills it.
struct CriImage {
  std::string id;                        // "sha256:<hex>" (the config digest)
  std::vector<std::string> repoTags;     // fully qualified: "docker.io/library/busybox:latest"
  std::vector<std::string> repoDigests;  // "registry.k8s.io/pause@sha256:..."
  uint64_t size = 0;
  std::optional<int64_t> uid;  // the config's User when numeric ("1000" or "1000:100")
  std::string username;        // the config's User when a name ("nobody:nogroup" -> "nobody")
};

// "busybox:latest" (berth's familiar form) -> "docker.io/library/busybox:latest".
std::string fullName(const std::string& familiar);
CriImage toCriImage(const image::ImageDetail& d);
// The verbose ImageStatus info["info"]: {"chainID": top layer's chain id,
// "imageSpec": the image config}, as containerd answers.
std::string verboseInfo(const image::ImageDetail& d);

// runtime.v1.AuthConfig as plain fields.
struct Auth {
  std::string username, password, auth, serverAddress, identityToken, registryToken;
  bool empty() const {
    return username.empty() && password.empty() && auth.empty() && identityToken.empty() && registryToken.empty();
  }
};
// The X-Registry-Auth value (base64 JSON) ImageTransfer::pull takes; ""
// for no credentials. `auth` is base64("user:password") as containerd's
// ParseAuth reads it: InvalidArgument when it does not decode to that.
Result<std::string> registryAuthHeader(const Auth& a);

// Bytes (st_blocks) and inodes under a directory, not crossing into other
// file systems, each hard-linked inode counted once. A missing directory
// counts 0.
struct FsUsage {
  uint64_t bytes = 0;
  uint64_t inodes = 0;
};
Result<FsUsage> dirUsage(const std::string& dir);

// A one-file image in the namespace of `images` (the k8s.io view): the file
// at hostPath becomes /<name> (mode 0755, root) of a single-layer image
// tagged repoTag, with ENTRYPOINT ["/<name>"] and the label
// io.berth.file.sha256=<hex of the file>. When repoTag already names an
// image with that label value, nothing is imported. Returns the image id.
// NotFound when the file is missing.
Result<std::string> ensureFileImage(image::ImageService& images, const std::string& hostPath,
                                    const std::string& name, const std::string& repoTag);

}  // namespace berth::cri
