#pragma once
// run mode through an external OCI runtime (--runtime PATH): see external.cpp.

#include "monitor/run.h"
#include "monitor/session.h"
#include "runtime/spec.h"

namespace berth::monitor {

int runWithRuntime(Session& session, const RunOptions& o, const runtime::Spec& spec);

}  // namespace berth::monitor
