// libFuzzer target: the JSON request bodies of the container and exec
// routes (src/api/container_decode.*, go_json.*) and the small ones of
// request_decode.* (volumes, auth), decoded as dockerd decodes them.
// Input: byte 0 picks the decoder (create, commit, update, exec create,
// exec start, volume create, auth); the rest is the body as a client sends
// it, parsed with the bounded JSON parser berthd uses (common/json_limits).
// Checks: no crash, no UB, no leak, no exception out of a decoder (an
// escaping exception is a 500 in berthd); a create body that decodes
// decodes again to the same document (the decoders are idempotent).

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/container_decode.h"
#include "api/request_decode.h"
#include "common/json_limits.h"

using namespace berth::api;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto body = berth::parseJsonBounded(text);
  if (!body) return 0;
  switch (data[0] % 7) {
    case 0:
      if (auto d = decodeCreateBody(*body)) {
        auto again = decodeCreateBody(*d);
        if (!again || *again != *d) std::abort();
      }
      break;
    case 1: (void)decodeCommitConfig(*body); break;
    case 2: (void)decodeUpdateBody(*body); break;
    case 3: (void)decodeExecCreateBody(*body); break;
    case 4: (void)decodeExecStartBody(*body); break;
    case 5: (void)decodeVolumeCreateBody(*body); break;
    case 6: (void)decodeAuthBody(*body); break;
  }
  return 0;
}
