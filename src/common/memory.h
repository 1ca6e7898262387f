#pragma once

namespace berth {

// Drops this process's mappings of read-only ELF segments (text, rodata)
// and returns free heap to the kernel. The pages stay in the page cache and
// fault back in on use, so afterwards RSS holds only what the idle loop
// touches rather than everything start-up ran. allObjects: also the shared
// libraries (berthd); otherwise only the executable (the static monitor).
void dropStartupPages(bool allObjects = false);

}  // namespace berth
