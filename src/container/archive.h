#pragma once
// docker cp: paths resolved inside a container's root and tar streams in
// and out of it (engine-api.md: /containers/{id}/archive). Every open goes
// through openat2(RESOLVE_IN_ROOT) on the root's fd, so neither a symlink
// (absolute or relative) nor ".." nor a hard link in an uploaded tar can
// reach outside the root: "/" and ".." stop at the container root.
// The root is a directory fd: a running container's /proc/PID/root or a
// stopped one's overlay mounted for the call.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/fd.h"
#include "common/result.h"
#include "common/unpack_limits.h"

namespace berth::container {

// Docker's ContainerPathStat (the X-Docker-Container-Path-Stat header).
struct PathStat {
  std::string name;        // base name of the path as asked
  int64_t size = 0;
  uint32_t mode = 0;       // Go os.FileMode bits
  int64_t mtimeNanos = 0;
  std::string linkTarget;  // symlinks: the fully resolved path inside the root
  bool isDir() const { return mode & (1u << 31); }
  nlohmann::json toJson() const;
};

// Go's os.FileMode for a struct stat st_mode.
uint32_t goFileMode(uint32_t stMode);
std::string base64Encode(std::string_view in);

// Lexical clean of an absolute container path ("/a/./b/../c" -> "/a/c";
// ".." stops at "/"). Keeps nothing of a trailing slash.
std::string cleanPath(std::string_view p);

// Follows symlinks component by component inside rootFd (absolute targets
// restart at the root, ".." stops there), as RESOLVE_IN_ROOT does; missing
// components are kept as written. followLast: also resolve the last
// component. Errors: ELOOP after 40 links ("too many levels of symbolic links").
Result<std::string> resolveInRoot(int rootFd, std::string_view path, bool followLast);

// openat2(rootFd, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS).
Result<UniqueFd> openInRoot(int rootFd, std::string_view path, int flags, int mode = 0);

// Opens (O_PATH, creating as needed with mode 0755) the directory dir
// inside the root; links on the way (dangling ones too) are followed
// inside the root.
Result<UniqueFd> mkdirsInRoot(int rootFd, const std::string& dir);

// Stat of path as `docker cp` sees it: the last component not followed,
// unless path ends in "/" or "/."; NotFound "Could not find the file P in
// container" (the caller appends the container).
Result<PathStat> statInRoot(int rootFd, std::string_view path);

using TarSink = std::function<bool(const void*, size_t)>;  // false: stop (client gone)
using TarSource = std::function<Result<size_t>(char*, size_t)>;  // 0 at the end

// Writes path as a tar: entries named after its base name ("." for a path
// ending in "/."), a directory with everything under it; symlinks stored as
// links, never followed.
Result<> writeTarFromRoot(int rootFd, std::string_view path, const TarSink& sink);

struct ExtractOptions {
  bool noOverwriteDirNonDir = false;  // a non-dir may not replace a dir, nor a dir a non-dir
  bool copyUIDGID = false;            // (API) chown to the container's user rather than root
  uint32_t uid = 0, gid = 0;          // every extracted entry is owned by these, as dockerd does
  // Build contexts (build/context.h): regular-file bytes above maxBytes (0 =
  // no limit) stop the extraction with InvalidArgument "larger than the
  // limit of N bytes"; device nodes are skipped (not created); a relative
  // symlink whose target climbs out of the extraction directory is refused
  // as dockerd refuses it ("invalid symlink \"a\" -> \"../../x\"").
  uint64_t maxBytes = 0;
  bool skipDevices = false;
  bool refuseEscapingSymlinks = false;
  // A compressed tar expanding beyond the ratio, or the data-root's free
  // space below the reserve, stops the extraction with InvalidArgument
  // (common/unpack_limits.h); what is already extracted stays.
  UnpackLimits limits;
};
// Extracts a tar into the directory dirPath (resolved, following links,
// inside the root; it must exist). Entry names are relative to it; any
// link in the way resolves inside the root. Regular files, directories,
// symlinks, hard links, fifos and devices; modes and times from the tar,
// owner opts.uid:opts.gid.
// InvalidArgument for a bad tar; NotFound when dirPath does not exist.
Result<> extractTarToRoot(int rootFd, std::string_view dirPath, const TarSource& source, const ExtractOptions& opts);

}  // namespace berth::container
