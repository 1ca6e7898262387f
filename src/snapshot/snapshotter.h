#pragma once
// Unpacked layer snapshots keyed by chain id (DESIGN.md): each layer is
// unpacked once into <root>/<chainid-hex>/fs and used as an overlay
// lowerdir. A layer holds only its own changes; OCI whiteouts are
// converted to overlay form while unpacking (".wh.x" -> char device 0/0
// "x", ".wh..wh..opq" -> xattr trusted.overlay.opaque=y on the directory).
//
// Crash safety: a layer is unpacked under <root>/.tmp-<random>/fs, synced
// (syncfs) and renamed to <root>/<hex> only when complete; init() removes
// leftover .tmp-* directories.
//
// Thread safety: all methods may be called from any thread. Two apply()
// calls for the same chain id both unpack; the first rename wins.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/unpack_limits.h"

namespace berth::snapshot {

struct UnpackStats {
  int64_t size = 0;     // bytes of regular files (hard links once) + symlink targets
  int64_t entries = 0;  // tar entries processed
};

// Unpacks the tar stream readable from tarFd (plain or gzip/bzip2/xz/zstd)
// into destDir, an existing directory. Runs libarchive in a helper thread
// whose cwd is destDir (unshare(CLONE_FS)), with SECURE_NODOTDOT,
// SECURE_SYMLINKS and SECURE_NOABSOLUTEPATHS; owners are the numeric ids of
// the tar (never the host's passwd), modes (setuid too), times, xattrs
// (except trusted.overlay.*, which would steer overlayfs), device nodes and
// hard links are kept. A hard link's target must be an earlier non-directory
// entry of the layer, else InvalidArgument. Leading "/" and "./" are stripped; an entry or hard-link target
// that leaves the root ("../x") or a path through a symlink fails with
// InvalidArgument; a malformed archive fails with InvalidArgument.
// limits: a compressed layer expanding beyond limits.maxExpansionRatio, or
// free space on limits.fsPath below limits.minFreeBytes, stops the unpack
// with InvalidArgument (the caller removes destDir).
Result<UnpackStats> unpackLayer(int tarFd, const std::string& destDir, const UnpackLimits& limits = {});

// Lexically cleans a tar entry name relative to the root: strips leading
// "/", resolves "." and "..". Returns "" for the root itself and
// InvalidArgument when ".." would leave the root.
Result<std::string> cleanEntryPath(std::string_view name);

class Snapshotter {
 public:
  // root is <data-root>/snapshots. Call init() once before use.
  // limits bound every apply() (common/unpack_limits.h).
  explicit Snapshotter(std::string root, UnpackLimits limits = {}) : root_(std::move(root)), limits_(std::move(limits)) {}
  Result<> init();

  // <root>/<hex>/fs for "sha256:<hex>"; InvalidArgument for a bad id.
  Result<std::string> dir(std::string_view chainId) const;
  bool exists(std::string_view chainId) const;

  struct Applied {
    bool created = false;  // false: the snapshot already existed, nothing unpacked
    UnpackStats stats;
  };
  // Unpacks the layer tar at tarPath as snapshot chainId unless it exists.
  Result<Applied> apply(std::string_view chainId, const std::string& tarPath);
  // Removes a snapshot; missing is fine.
  Result<> remove(std::string_view chainId);

  const std::string& root() const { return root_; }

 private:
  std::string root_;
  UnpackLimits limits_;
};

}  // namespace berth::snapshot
