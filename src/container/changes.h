#pragma once
// A container's filesystem changes, read from its overlay upper dir and the
// image's layer dirs (no mount needed):
//  * computeChanges: `docker diff` (GET /containers/{id}/changes);
//  * writeLayerTar: the changes as an OCI layer tar (docker commit): overlay
//    whiteouts (char device 0/0) become ".wh.<name>", opaque directories
//    get a ".wh..wh..opq" entry;
//  * writeMergedTar: the merged root filesystem (docker export), lower
//    layers overlaid with the upper dir, whiteouts applied.
// Tars are PAX (xattrs as SCHILY.xattr, trusted.overlay.* dropped), names
// without a "./" prefix, numeric owners, hard links kept.

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"

namespace berth::container {

enum class ChangeKind { Modified = 0, Added = 1, Deleted = 2 };

struct Change {
  std::string path;  // "/tmp/new"
  ChangeKind kind = ChangeKind::Modified;
  bool opaque = false;  // a directory whose lower contents are hidden
};

// Where tar bytes go; false = the reader went away (stop, Cancelled).
using TarSink = std::function<bool(const void* data, size_t n)>;

// lowers: topmost first, as ImageService::layerDirs returns them. Order:
// depth-first, names sorted bytewise within a directory (Go's filepath.Walk,
// as docker diff lists them). A directory that exists below is listed as
// changed when something under it changed or its mode/owner did. Paths the
// runtime creates as mount points (/dev, /proc, /sys, /etc/hosts,
// /etc/hostname, /etc/resolv.conf, /.dockerenv) are left out like Docker's
// init layer leaves them out.
Result<std::vector<Change>> computeChanges(const std::string& upper, const std::vector<std::string>& lowers);

// Writes the layer tar of `changes` (computeChanges of the same upper).
Result<> writeLayerTar(const std::string& upper, const std::vector<Change>& changes, const TarSink& sink);

// Writes the merged filesystem of upper over lowers (topmost first).
Result<> writeMergedTar(const std::string& upper, const std::vector<std::string>& lowers, const TarSink& sink);

}  // namespace berth::container
