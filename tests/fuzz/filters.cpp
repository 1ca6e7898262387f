// libFuzzer target: the filters= decoder (src/common/filters.*).
// Input: the raw filters= value as it arrives in a query, both the map form
// {"label":{"a=b":true}} and the list form {"label":["a=b"]}.
// Checks: a decoded value re-encoded in the list form decodes to the same
// map; checkFilterKeys answers for it without crashing.

#include <cstdint>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "common/filters.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string raw(reinterpret_cast<const char*>(data), size);
  auto f = berth::parseFilters(raw);
  if (!f) return 0;
  (void)berth::checkFilterKeys(*f, {"label", "name", "id", "status", "dangling", "reference"});
  nlohmann::json list = nlohmann::json::object();
  for (const auto& [k, vs] : *f) list[k] = vs;
  // nlohmann's parser accepted only UTF-8, so the dump cannot throw.
  auto again = berth::parseFilters(list.dump());
  if (!again || *again != *f) std::abort();
  return 0;
}
