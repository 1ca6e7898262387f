#pragma once
// COPY / ADD (moby builder/dockerfile/copy.go): finding the sources in a
// root (the build context, or an image's root filesystem mounted read-only
// for --from), hashing them for the cache ("file:<hex>", "dir:<hex>",
// "multi:<hex>"), and writing the layer tar a COPY produces, without a
// container. Also the read-only mount of an image's layers (MountedRoot)
// that COPY --from, RUN --mount=from= and the destination lookups use.

#include <sys/stat.h>

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/fd.h"
#include "common/result.h"
#include "common/unpack_limits.h"

struct archive;

namespace berth::build {

struct CopyInfo {
  std::string rel;   // path inside the root (resolved, cleaned, no leading '/'; "" = the root)
  bool dir = false;
  std::string hash;  // "file:<hex>" or "dir:<hex>"
};

// The sources `orig` names in root. context: root is the build context,
// so paths leaving it are refused ("forbidden path outside the build
// context: ../x ()") and a missing one reads "file not found in build
// context or excluded by .dockerignore: stat x: file does not exist".
// Wildcards (* ? [) match with Go's filepath.Match rules; no match is
// "no source files were specified". Symlinks resolve inside root.
Result<std::vector<CopyInfo>> collectCopySources(const std::string& root, std::string_view orig, bool allowWildcards,
                                                 bool context);
// One info: its hash; several: "multi:" + sha256 of the hashes joined by ','.
std::string sourcesHash(const std::vector<CopyInfo>& infos);
// The hash of a file or directory tree (contents, modes, link targets, names).
Result<std::string> hashPath(const std::string& abs, bool dir);

// Go's filepath.Match for one path (no '/' crossing by '*').
bool goPathMatch(std::string_view pattern, std::string_view name);

// An uncompressed PAX tar written to a sink: the layer of a COPY / ADD.
// Names are relative to the image root, without a leading '/'.
class LayerTar {
 public:
  using Sink = std::function<Result<>(const void*, size_t)>;
  explicit LayerTar(Sink sink);
  ~LayerTar();
  LayerTar(const LayerTar&) = delete;
  LayerTar& operator=(const LayerTar&) = delete;

  struct Owner {
    uint32_t uid = 0, gid = 0;
  };
  // A directory entry with the given attributes (once per name).
  Result<> dir(const std::string& name, uint32_t mode, Owner owner, int64_t mtime);
  // A regular file with content `data`.
  Result<> data(const std::string& name, std::string_view data, uint32_t mode, Owner owner, int64_t mtime);
  // The file, link or directory tree at abs (lstat'ed) as name; chmod
  // replaces the permission bits of everything written.
  Result<> tree(const std::string& name, const std::string& abs, Owner owner, std::optional<uint32_t> chmod);
  // Every entry of the archive at path (plain, gzip, bzip2, xz, zstd tar)
  // under directory name. owner: forced owner, or nullopt to keep the tar's.
  // limits: a compressed archive expanding beyond the ratio, or the
  // data-root's free space below the reserve, is InvalidArgument.
  // After any error the LayerTar is spent: its destructor writes nothing more.
  Result<> extract(const std::string& name, const std::string& path, std::optional<Owner> owner,
                   const UnpackLimits& limits = {});
  bool hasDir(const std::string& name) const { return dirs_.count(name) > 0; }
  Result<> finish();

 private:
  Result<> entry(const std::string& name, const struct stat& st, const std::string& linkTarget, int fd,
                 const std::string& src);
  Result<> fail(const std::string& what);
  Sink sink_;
  ::archive* a_ = nullptr;
  std::optional<Error> sinkError_;
  bool finished_ = false;
  std::set<std::string> dirs_;
};

// Whether path is a tar archive (after decompression) ADD unpacks.
bool isArchive(const std::string& path);

// An image's layers mounted read-only on a fresh directory under tmpBase
// (overlay for several layers, a bind mount for one, an empty directory for
// none); unmounted and removed on destruction.
class MountedRoot {
 public:
  static Result<std::unique_ptr<MountedRoot>> mount(const std::vector<std::string>& lowers, const std::string& tmpBase);
  ~MountedRoot();
  const std::string& path() const { return path_; }
  int fd() const { return fd_.get(); }

 private:
  MountedRoot() = default;
  std::string path_;
  bool mounted_ = false;
  UniqueFd fd_;
};

}  // namespace berth::build
