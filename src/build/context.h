#pragma once
// The build context of POST /build (issue 13): the request body's tar
// (plain, gzip, bzip2 or xz, told by its magic) or a remote= source (a
// tarball or Dockerfile URL, a git repository) turned into a directory under
// <dataRoot>/build/tmp/, and the Dockerfile read from it, as dockerd's
// classic builder does (remotecontext.Detect). The Builder (builder.h)
// then reads the directory.
//
// Extraction streams (nothing is held whole in memory) through
// container::extractTarToRoot, so entry names with "..", absolute names,
// symlinks and hard links all stay inside the directory; relative symlinks
// whose target climbs out are refused as dockerd refuses them, device
// nodes are skipped, and the extracted bytes are bounded by
// ContextConfig::maxSize.
//
// Thread safety: a ContextSource may be used by several requests at once.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/io.h"
#include "common/result.h"
#include "common/unpack_limits.h"

namespace berth::build {

struct ContextConfig {
  std::string tmpDir;      // <dataRoot>/build/tmp; created on demand
  uint64_t maxSize = 0;    // bytes of file data a context may hold (0 = no limit)
  std::string gitBin = "git";
  UnpackLimits limits;     // expansion ratio and free-space reserve (common/unpack_limits.h)
};

// A context on disk; its directory is removed (recursively, not crossing
// mounts) when the object goes.
class PreparedContext {
 public:
  explicit PreparedContext(std::string dir) : root(dir), dir_(std::move(dir)) {}
  ~PreparedContext();
  PreparedContext(const PreparedContext&) = delete;
  PreparedContext& operator=(const PreparedContext&) = delete;

  const std::string& dir() const { return dir_; }  // the context root (a git subdir: that subdir)
  std::string root;            // what is removed: dir() or the clone above it; "" = nothing
  std::string dockerfile;      // the Dockerfile's path in the context as found ("Dockerfile", "dockerfile", "sub/Df")
  std::string dockerfileText;  // its content, read before .dockerignore may remove it

 private:
  std::string dir_;
};

// Download progress for remote= (bytes read so far); false stops the
// download (the client went away).
using ProgressFn = std::function<bool(int64_t current)>;

class ContextSource {
 public:
  virtual ~ContextSource() = default;
  // Extracts the tar in body. dockerfile: the dockerfile= parameter ("" =
  // "Dockerfile"). Errors (dockerd's words): InvalidArgument "forbidden path
  // outside the build context: P (FULL)", "invalid tar: ...", "invalid
  // symlink ...", "build context is larger than the limit of N bytes (...)";
  // NotFound "Cannot locate specified Dockerfile: P"; Cancelled when the
  // body broke off.
  virtual Result<std::unique_ptr<PreparedContext>> fromTar(BodyReader& body, const std::string& dockerfile) = 0;
  // remote=: a git URL (https://...git, git://, git@..., github.com/...,
  // with #ref:subdir), or an http(s) URL of a tarball or of a plain
  // Dockerfile (which then is the Dockerfile of an empty context).
  virtual Result<std::unique_ptr<PreparedContext>> fromRemote(const std::string& remote, const std::string& dockerfile,
                                                              const ProgressFn& progress) = 0;
};

std::unique_ptr<ContextSource> makeContextSource(ContextConfig cfg);

// Removes the contexts (docker-builder<hex>) an earlier berthd left in
// tmpDir (called at start-up); other entries are the builder's.
void removeContextLeftovers(const std::string& tmpDir);

// moby's urlutil: IsGitURL (https?://...\.git(#...)?, git://, git@,
// github.com/ prefix) and IsURL (http:// or https://).
bool isGitUrl(std::string_view s);
bool isUrl(std::string_view s);

struct GitSource {
  std::string url;     // what `git fetch` gets ("github.com/x" gains "https://")
  std::string ref;     // "" = the default branch
  std::string subdir;  // "" = the repository root
};
// Splits "URL#ref:subdir" as moby's gitutils.parseRemoteURL does.
Result<GitSource> parseGitUrl(std::string_view remote);

}  // namespace berth::build
