#pragma once
// The tiny init behind `run --init` (see init.cpp).

namespace berth::monitor {

// argv: ["/dev/init", "--", CMD, ARGS...]. Returns the command's exit status
// (128+signal when killed).
int initMain(int argc, char** argv);

}  // namespace berth::monitor
