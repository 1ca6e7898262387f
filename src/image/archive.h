#pragma once
// Image archives for `docker save` / `docker load` (engine-api.md §8.10).
//
// Writing: the Docker 25+ layout, an OCI image layout (oci-layout,
// index.json, blobs/sha256/<hex>) plus the classic manifest.json and
// repositories, streamed as a tar.
//
// Reading: the tar is unpacked into a private directory (regular files and
// directories only; symlinks are remembered and resolved lexically inside
// that directory; "../x" fails), then one of three layouts is described:
// the classic docker-archive (manifest.json -> <hex>.json + <dir>/layer.tar),
// the Docker 25+ layout (manifest.json -> blobs/...), or a plain OCI layout
// (index.json -> manifest -> config and layers).
//
// Thread safety: free functions, no shared state.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/filters.h"
#include "common/io.h"
#include "common/result.h"
#include "common/unpack_limits.h"

namespace berth::image::archive {

// One image to write.
struct SaveImage {
  std::string configText;                // exact config bytes (sha256 = image id)
  std::vector<std::string> repoTags;     // familiar "busybox:latest"; empty = untagged
  struct Layer {
    std::string digest;     // blob digest, "sha256:<hex>"
    std::string mediaType;  // OCI layer media type of that blob
    std::string path;       // where the blob is on disk
    int64_t size = 0;
  };
  std::vector<Layer> layers;  // bottom first
};

// Writes the archive to out (one chunk per libarchive block). Errors after
// the first byte cannot be reported to the client; they abort the stream.
Result<> writeArchive(const std::vector<SaveImage>& images, StreamWriter& out);

// Unpacks a (possibly compressed) tar read from body into dir (existing,
// empty). InvalidArgument for something that is not a tar, for a hostile
// path, or for entries other than files, directories and symlinks, or past
// limits (a compressed archive expanding beyond the ratio, the data-root's
// free-space reserve): common/unpack_limits.h.
Result<> extractArchive(BodyReader& body, const std::string& dir, const UnpackLimits& limits = {});

// One image found in an unpacked archive.
struct LoadImage {
  std::string configPath;             // inside the unpacked dir
  std::string configDigest;           // expected digest when named by it, else ""
  std::vector<std::string> repoTags;  // familiar, as written in the archive
  struct Layer {
    std::string path;
    std::string digest;  // expected blob digest (OCI), "" when unknown
  };
  std::vector<Layer> layers;  // bottom first
};

// Reads manifest.json (preferred) or index.json of an unpacked archive.
// InvalidArgument when neither exists or they are malformed; digests of
// OCI manifests are verified here, configs and layers by the caller.
Result<std::vector<LoadImage>> readLayout(const std::string& dir);

}  // namespace berth::image::archive
