#pragma once
// Image references (engine-api.md §8.9), Docker's grammar and normalisation:
// "busybox" == "docker.io/library/busybox", "user/img" ==
// "docker.io/user/img", "127.0.0.1:5000/a/b:v1" keeps its registry. Stored
// and displayed in familiar (short) form: "busybox:latest".

#include <string>
#include <string_view>

#include "common/result.h"

namespace berth::image {

struct Reference {
  std::string domain;  // "docker.io", "127.0.0.1:5000", "localhost"
  std::string path;    // "library/busybox", "apiprobe/uniq"
  std::string tag;     // "" when none
  std::string digest;  // "sha256:<hex>" or ""

  // Full name: "docker.io/library/busybox".
  std::string name() const { return domain + "/" + path; }
  // Short name: "busybox", "user/img", "127.0.0.1:5000/a/b".
  std::string familiarName() const;
  // Short form with tag and/or digest: "busybox:latest", "b@sha256:...".
  std::string familiarString() const;
  // Full form with tag and/or digest.
  std::string string() const;
  bool nameOnly() const { return tag.empty() && digest.empty(); }
};

// Parses and normalises a user reference (ParseNormalizedNamed).
// InvalidArgument "invalid reference format..." when malformed, including a
// bare 64-hex string (an image id, not a name).
Result<Reference> parseReference(std::string_view s);
// Adds tag "latest" when the reference has neither tag nor digest.
Reference withDefaultTag(Reference r);
// True when s is a valid tag ([\w][\w.-]{0,127}).
bool isValidTag(std::string_view s);
// Go's path.Match subset used by the `reference` filter: * ? [...] and \.
bool globMatch(std::string_view pattern, std::string_view s);

}  // namespace berth::image
