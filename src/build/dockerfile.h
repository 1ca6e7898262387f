#pragma once
// The Dockerfile parser: text -> typed instructions grouped in stages, with
// BuildKit's syntax (parser directives, continuations, comments, heredocs,
// flags, JSON vs shell forms) and the classic builder's error texts.
// Nothing is expanded here: arguments stay as written and the builder
// expands variables (build/shell_lex.h) where Docker does. Pure functions;
// thread-safe.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/until.h"

namespace berth::build {

enum class InstructionKind {
  Add, Arg, Cmd, Copy, Entrypoint, Env, Expose, From, Healthcheck, Label,
  Maintainer, Onbuild, Run, Shell, StopSignal, User, Volume, Workdir,
};

// "ADD", "ARG", ... as Docker spells the instruction.
std::string_view instructionName(InstructionKind kind);

// A here-document attached to RUN / COPY / ADD (`<<EOF`, `<<-EOF`, `<<"EOF"`).
struct Heredoc {
  std::string name;       // the delimiter word, quotes removed
  std::string content;    // the lines up to the delimiter, each with its '\n'
  bool expand = true;     // false when the delimiter was quoted
  bool chomp = false;     // `<<-`: leading tabs are stripped when used
  unsigned fd = 0;        // `3<<EOF`: the descriptor (0 when absent)
};

// Content with leading tabs removed from every line (what `<<-` means).
std::string chompHeredoc(std::string_view content);

// ENV / LABEL pair. noDelim marks the legacy `ENV key value` form.
struct KeyValue {
  std::string key;
  std::string value;
  bool noDelim = false;
};

// ARG name[=default].
struct ArgDef {
  std::string key;
  std::optional<std::string> value;
};

// A COPY/ADD source given inline as a heredoc.
struct InlineSource {
  std::string path;  // the heredoc's name
  std::string data;  // content, already chomped for `<<-`
  bool expand = true;
};

struct HealthcheckSpec {
  // {"NONE"}, {"CMD", args...} (exec form) or {"CMD-SHELL", command}.
  std::vector<std::string> test;
  int64_t intervalNs = 0, timeoutNs = 0, startPeriodNs = 0, startIntervalNs = 0;
  int retries = 0;
};

// One instruction. Common fields first; the rest are filled for the kinds
// named in their comment and left empty otherwise.
struct Instruction {
  InstructionKind kind = InstructionKind::Run;
  std::string keyword;           // as written ("copy", "FROM")
  std::string original;          // the logical line, continuations joined ("Step N/M : <original>")
  int startLine = 0;             // 1-based, first physical line
  int endLine = 0;               // last physical line (heredoc bodies included)
  std::vector<std::string> flags;  // raw builder flags ("--from=build")
  std::vector<std::string> args;   // arguments as BuildKit's parser splits them
  bool json = false;             // exec (JSON array) form
  std::vector<Heredoc> heredocs;

  // RUN, CMD, ENTRYPOINT, SHELL: the exec array, or one shell string.
  // ENTRYPOINT with no argument leaves it empty.
  std::vector<std::string> cmdLine;
  bool prependShell = false;     // shell form: run through SHELL
  // RUN: raw --mount values (parseMount() at dispatch), --network, --security.
  std::vector<std::string> mounts;
  std::string network;
  std::string security;

  // COPY, ADD
  std::vector<std::string> sources;
  std::vector<InlineSource> inlineSources;
  std::string dest;
  std::string from;              // COPY --from
  std::string chown, chmod, checksum;
  bool link = false;
  bool parents = false;          // COPY --parents
  std::optional<bool> keepGitDir, unpack;  // ADD
  std::vector<std::string> excludes;       // --exclude (repeatable)

  // FROM: image (unexpanded), stage name (lower-cased) and --platform.
  std::string baseName;
  std::string stageName;
  std::string platform;

  std::vector<KeyValue> pairs;   // ENV, LABEL
  std::vector<ArgDef> argDefs;   // ARG
  std::vector<std::string> ports;    // EXPOSE, sorted as Docker sorts them
  std::vector<std::string> volumes;  // VOLUME
  std::string value;             // WORKDIR path, USER, STOPSIGNAL, MAINTAINER
  std::optional<HealthcheckSpec> health;  // HEALTHCHECK
  // ONBUILD: the trigger text (keyword onwards, heredoc bodies appended),
  // stored in the image config and parsed with parseDockerfile() by a
  // build that uses the image as its base.
  std::string expression;
  std::string triggerKeyword;    // ONBUILD: the trigger's instruction, upper-cased
};

struct Stage {
  std::string name;       // lower-cased `AS` name, "" when unnamed
  std::string baseName;   // FROM argument, unexpanded ("scratch", "${BASE}", "build")
  std::string platform;   // --platform, unexpanded
  Instruction from;
  std::vector<Instruction> commands;
};

struct Dockerfile {
  char escape = '\\';
  std::string syntax;                 // `# syntax=` directive (accepted, not acted on)
  std::vector<Instruction> metaArgs;  // ARG instructions before the first FROM
  std::vector<Stage> stages;
  std::vector<std::string> warnings;  // e.g. empty continuation lines

  // Index of the stage named `name` (case-insensitive), or -1.
  int stageIndex(std::string_view name) const;
  // Instructions in total (meta ARGs, FROMs and commands): the M of "Step N/M".
  size_t instructionCount() const;
};

// Parses a whole Dockerfile. `name` is the file's name used in messages.
// Errors are InvalidArgument with Docker's texts:
//  - "the Dockerfile (Dockerfile) cannot be empty"
//  - "failed to parse Dockerfile: <reason>" for syntax (bad directive,
//    unterminated heredoc, JSON of non-strings, "file with no instructions")
//  - "dockerfile parse error on line N: <reason>" for an instruction
//    ("unknown instruction: FOO", "FROM requires either one or three arguments", ...)
//  - "no build stage in current context" before the first FROM.
Result<Dockerfile> parseDockerfile(std::string_view text, std::string_view name = "Dockerfile");

enum class MountType { Bind, Cache, Tmpfs, Secret, Ssh };
enum class CacheSharing { Shared, Private, Locked };

std::string_view mountTypeName(MountType type);

// A `RUN --mount=` specification.
struct MountSpec {
  MountType type = MountType::Bind;
  std::string target;
  std::string source;
  std::string from;
  std::string id;
  CacheSharing sharing = CacheSharing::Shared;
  bool readOnly = true;     // defaults: false for cache and tmpfs, true otherwise
  bool required = false;    // secret, ssh
  std::optional<uint32_t> mode, uid, gid;  // cache, secret, ssh only
  int64_t sizeBytes = 0;    // tmpfs size=
  std::optional<std::string> env;  // secret env=
};

// Parses one --mount value (CSV of key=value). `expand`, when given, is
// applied to every value first (the builder passes its variable expansion).
// Errors are InvalidArgument with BuildKit's texts.
Result<MountSpec> parseMount(std::string_view spec,
                             const std::function<Result<std::string>(std::string_view)>& expand = nullptr);

// Go's time.ParseDuration, for HEALTHCHECK's options: common/until.h.
using berth::parseGoDuration;

}  // namespace berth::build
