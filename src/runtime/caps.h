#pragma once
// Capabilities without libcap: names -> bit masks, bounding-set drop via
// prctl, the rest via the capset syscall.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "runtime/spec.h"

namespace berth::runtime {

// "CAP_CHOWN" or "chown" -> 0; -1 when the name is unknown.
int capByName(std::string_view name);
// 0 -> "CAP_CHOWN"; "CAP_<n>" for numbers beyond the table.
std::string capName(int cap);

// Sets as bit masks over capability numbers, restricted to what the kernel
// knows (cap_last_cap) and what this process holds.
struct CapSets {
  uint64_t bounding = 0, effective = 0, inheritable = 0, permitted = 0, ambient = 0;
};

// lastCap: /proc/sys/kernel/cap_last_cap; heldPermitted: the caller's
// permitted set (requests outside it are dropped instead of failing).
CapSets capSetsFor(const Capabilities& caps, int lastCap, uint64_t heldPermitted);

// The running kernel's highest capability number (40 on 6.x).
int lastCapability();
// The calling process's permitted set.
uint64_t currentPermitted();

// Drops every capability not in sets.bounding from the bounding set.
Result<> dropBounding(const CapSets& sets, int lastCap);
// capset(effective, permitted, inheritable) then the ambient set. Call after
// the uid switch (with PR_SET_KEEPCAPS set before it).
Result<> applyCapSets(const CapSets& sets, int lastCap);

}  // namespace berth::runtime
