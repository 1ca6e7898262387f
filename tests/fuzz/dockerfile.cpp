// libFuzzer target: the Dockerfile parser (src/build/dockerfile.*), which
// also runs the shell lexer on ARG/ENV/FROM words.
// Input: a whole Dockerfile. For a Dockerfile that parses, every stage's
// RUN --mount values go through parseMount (with and without an expander),
// heredocs through chompHeredoc, and ONBUILD triggers are parsed again as
// the child build would parse them.
// Checks: no crash, no UB, no leak; instruction counts are consistent.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "build/dockerfile.h"

namespace {

using namespace berth::build;

void visit(const Instruction& ins) {
  for (const auto& m : ins.mounts) {
    (void)parseMount(m);
    (void)parseMount(m, [](std::string_view v) -> berth::Result<std::string> { return std::string(v) + "x"; });
  }
  for (const auto& h : ins.heredocs) (void)chompHeredoc(h.content);
  if (ins.kind == InstructionKind::Onbuild && !ins.expression.empty())
    (void)parseDockerfile("FROM scratch\n" + ins.expression + "\n", "onbuild");
  (void)instructionName(ins.kind);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto df = parseDockerfile(text);
  if (!df) return 0;
  size_t n = df->metaArgs.size();
  for (const auto& st : df->stages) {
    n += 1 + st.commands.size();
    visit(st.from);
    for (const auto& ins : st.commands) visit(ins);
    if (!st.name.empty() && df->stageIndex(st.name) < 0) std::abort();
  }
  if (n != df->instructionCount()) std::abort();
  return 0;
}
