#pragma once
// Command-line flags with docker/pflag semantics.
//
// - long flags `--name value`, `--name=value`; bool flags take no separate
//   value but accept `--rm=false`;
// - short flags `-e K=V`, `-eK=V`, combined bools `-it`, `-itd`, and a value
//   flag at the end of a group (`-ite FOO=1`);
// - repeatable list flags (`-e A -e B`);
// - `--` ends flag parsing; with interspersed(false) (run/create/exec) the
//   first positional also ends it so the container command keeps its flags.
// Error texts are pflag's, which the docker CLI prints verbatim.
// Not thread safe; one FlagSet per command invocation.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace berth::cli {

enum class FlagKind { Bool, String, List, Int };

struct FlagDef {
  std::string name;
  char shorthand = 0;
  FlagKind kind = FlagKind::String;
  std::string typeName;  // shown in help: "string", "list", "int", "bytes"...
  std::string defValue;  // shown as "(default ...)" when not the zero value
  std::string usage;
  bool hidden = false;
  std::string defText;  // overrides the printed default, e.g. "[]" or "map[]"
  std::string aliasOf;  // a hidden second name whose values go to this flag (--net -> --network)
};

class FlagSet {
 public:
  FlagSet() = default;

  // Definitions. typeName defaults to the pflag name of the kind.
  void addBool(std::string name, char shorthand, std::string usage, bool def = false);
  void addString(std::string name, char shorthand, std::string usage, std::string def = "",
                 std::string typeName = "string");
  void addList(std::string name, char shorthand, std::string usage, std::string typeName = "list");
  void addInt(std::string name, char shorthand, std::string usage, int64_t def = 0,
              std::string typeName = "int");
  void hide(const std::string& name);
  // A hidden flag `alias` that sets `target` (docker's --net, --net-alias,
  // --dns-opt): values of both land in one list, in command-line order.
  void addAlias(const std::string& alias, const std::string& target);
  void setDefaultText(const std::string& name, std::string text);
  // When false, the first positional argument ends flag parsing.
  void setInterspersed(bool v) { interspersed_ = v; }

  // Parses args (without the command words). Returns the positionals.
  // Errors carry pflag's message ("unknown flag: --bogus"); a `--help`
  // (or `-h` when no flag owns that shorthand) sets helpRequested().
  Result<std::vector<std::string>> parse(const std::vector<std::string>& args);

  bool helpRequested() const { return help_; }
  bool has(const std::string& name) const { return defs_.count(name) != 0; }
  bool changed(const std::string& name) const { return changed_.count(name) != 0; }
  bool getBool(const std::string& name) const;
  std::string getString(const std::string& name) const;
  const std::vector<std::string>& getList(const std::string& name) const;
  int64_t getInt(const std::string& name) const;

  // pflag's FlagUsagesWrapped(cols): the "Options:" block body.
  std::string usages(int cols) const;
  bool empty() const { return order_.empty(); }

 private:
  Result<> set(FlagDef& def, const std::string& value, const std::string& display);
  FlagDef* findShort(char c);

  std::map<std::string, FlagDef> defs_;
  std::vector<std::string> order_;
  std::map<std::string, std::string> values_;
  std::map<std::string, std::vector<std::string>> lists_;
  std::map<std::string, bool> changed_;
  bool interspersed_ = true;
  bool help_ = false;
};

// pflag's word wrapper: wraps s to width w with every line after the first
// indented by i columns (exposed for tests).
std::string pflagWrap(int i, int w, const std::string& s);

// Values a command parses itself from a string flag, refused in pflag's
// words: invalid argument "<arg>" for "--<flag>" flag: strconv.ParseInt:
// parsing "<value>": invalid syntax (or "value out of range").
Result<int64_t> parseInt64FlagValue(const std::string& value, const std::string& arg, const std::string& flag);
Result<uint16_t> parseUint16Flag(const std::string& value, const std::string& flag);
// --cpus: a non-negative decimal number of CPUs, else "invalid argument
// "<v>" for "--cpus" flag: failed to parse <v> as a rational number".
Result<double> parseCpusFlag(const std::string& value);

}  // namespace berth::cli
