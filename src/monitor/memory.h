#pragma once

namespace berth::monitor {

// Unmaps the pages of the executable's read-only segments (text, rodata)
// from this process and returns free heap to the kernel. They stay in the
// page cache and fault back in on use, so afterwards RSS holds only what
// the idle poll loop touches rather than everything container setup ran.
// Call once the process runs.
void dropStartupPages();

}  // namespace berth::monitor
