// libFuzzer target: image references (src/image/reference.*).
// Input: a reference as a user types it ("busybox", "127.0.0.1:5000/a/b:v1",
// "x@sha256:..."). After a '\n', the rest is matched as a `reference=`
// filter glob against the part before it.
// Checks beyond "no crash, no UB": a parsed reference prints back to a
// string that parses to the same reference (name, tag, digest), in both the
// full and (unless ambiguous, see below) the familiar form.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "image/reference.h"

using berth::image::Reference;

namespace {

void same(const Reference& a, const Reference& b) {
  if (a.domain != b.domain || a.path != b.path || a.tag != b.tag || a.digest != b.digest) std::abort();
}

// splitDockerDomain's test for a first component naming a registry.
bool looksLikeDomain(std::string_view c) {
  if (c == "localhost") return true;
  for (char ch : c)
    if (ch == '.' || ch == ':' || (ch >= 'A' && ch <= 'Z')) return true;
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view ref = in.substr(0, in.find('\n'));

  auto r = berth::image::parseReference(ref);
  if (r) {
    auto full = berth::image::parseReference(r->string());
    if (!full) std::abort();
    same(*r, *full);
    // The familiar form drops "docker.io/": when the path's first component
    // itself looks like a domain ("docker.io/localhost/x"), the short form
    // names another registry. Docker's FamiliarString has the same
    // ambiguity; berth keeps it, so the check skips those.
    // "docker.io/a.b_c/x" gives "a.b_c/x", not even a valid reference.
    if (!(r->domain == "docker.io" && looksLikeDomain(r->path.substr(0, r->path.find('/'))))) {
      auto familiar = berth::image::parseReference(r->familiarString());
      if (!familiar) std::abort();
      same(*r, *familiar);
    }
    Reference tagged = berth::image::withDefaultTag(*r);
    if (r->nameOnly() && tagged.tag != "latest") std::abort();
    (void)tagged.familiarName();
  }
  (void)berth::image::isValidTag(ref);
  if (auto nl = in.find('\n'); nl != std::string_view::npos) (void)berth::image::globMatch(in.substr(nl + 1), ref);
  return 0;
}
