// libFuzzer target: the docker CLI's Go-template engine (src/cli/format/):
// the parser (template_parse.cpp), the evaluator and its functions
// (template.cpp, template_value.cpp), docker's table mode (tabwrite in
// table.cpp) and the human-size parsers of human.cpp.
// Input: a --format value; after the first NUL byte, an optional JSON
// document used as the data (a fixed `ps`-like row when absent or not JSON).
// Checks: no crash, no UB, no leak. Output size is bounded by the
// evaluator's own limits only, so a huge {{range N}} costs time, not a crash.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cli/format/human.h"
#include "cli/format/template.h"

using namespace berth::cli::format;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto nul = in.find('\0');
  std::string_view format = in.substr(0, nul);
  Value dot = Value::parse(R"({"ID":"0123456789ab","Image":"busybox","Command":"\"sh -c 'echo hi'\"",
      "Names":"web","Labels":{"a":"1","b":"x,y"},"Ports":[1,2.5,"3"],"Size":1234567,"Null":null,"T":true})");
  if (nul != std::string_view::npos) {
    auto parsed = Value::parse(in.substr(nul + 1), nullptr, false);
    if (!parsed.is_discarded()) dot = std::move(parsed);
  }

  ExecOptions plain, strict;
  strict.missingKeyError = true;
  strict.methods["Label"] = [](const Value& recv, const std::vector<Value>& args) -> berth::Result<Value> {
    if (args.size() != 1 || !args[0].is_string()) return berth::makeError(berth::Code::InvalidArgument, "one key");
    if (!recv.is_object() || !recv.contains("Labels") || !recv["Labels"].is_object()) return Value("");
    return recv["Labels"].value(args[0].get<std::string>(), std::string());
  };
  if (auto t = Template::parse(std::string(format))) {
    (void)t->execute(dot, plain);
    (void)t->execute(dot, strict);
    (void)t->executeHeader(containerHeaders());
  }
  (void)formatList(format, {dot, dot}, containerHeaders(), plain);
  (void)isTableFormat(format);
  (void)prepareFormat(format);
  (void)headerFor(format, imageHeaders());
  (void)fromHumanSize(format);
  (void)ramInBytes(format);
  (void)displayWidth(format);
  (void)ellipsis(format, int(size % 40));
  (void)psCommand(format);
  return 0;
}
