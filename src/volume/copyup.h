#pragma once
// Copy-up: a new, empty volume mounted over a path the image has content at
// is filled with that content first, as Docker does. The image is given as
// its unpacked overlay layers (topmost first, overlay whiteouts: 0/0 char
// devices and trusted.overlay.opaque directories).

#include <string>
#include <vector>

#include "common/result.h"

namespace berth::volume {

// True when dir has no entries (or does not exist).
bool isEmptyDir(const std::string& dir);

// Merges `path` (absolute in the image) of the layers into dest (an existing
// directory): files, directories, symlinks, devices, fifos with modes and
// owners; dest takes the mode and owner of the image's directory. A path
// component that is a symlink in a layer is not followed (nothing is copied
// from outside the layer). Nothing to copy is no error.
Result<> copyImagePath(const std::vector<std::string>& layersTopFirst, const std::string& path,
                       const std::string& dest);

}  // namespace berth::volume
