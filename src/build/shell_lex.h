#pragma once
// Dockerfile shell-word processing: the variable expansion and word
// splitting BuildKit's shell lexer applies to instruction arguments (ENV,
// LABEL, COPY, WORKDIR, ...) and that the parser uses to find heredocs.
// Pure functions of their input; thread-safe.
//
// Supported: $VAR, ${VAR}, ${VAR:-w} ${VAR-w} ${VAR:+w} ${VAR+w}
// ${VAR:?w} ${VAR?w}, ${VAR#p} ${VAR##p} ${VAR%p} ${VAR%%p} (shell globs
// `*` `?`), ${VAR/p/r} ${VAR//p/r}; single quotes (literal), double quotes
// (expansion inside, escape only before `"` `$` and the escape token), the
// escape token (backslash or backtick) outside quotes. Unset variables
// expand to "" unless skipUnsetEnv is set.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace berth::build {

// Looks a variable up: nullopt when it is unset (an empty value is set).
using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;

// Lookup over "KEY=VALUE" entries (a later entry wins; an entry without
// '=' sets KEY to ""). Keeps a copy of the entries.
EnvLookup envFromList(std::vector<std::string> entries);
// Lookup over (key, value) pairs (a later pair wins). Keeps a copy.
EnvLookup envFromPairs(std::vector<std::pair<std::string, std::string>> pairs);
// Nothing is set.
EnvLookup emptyEnv();

struct LexOptions {
  char escape = '\\';         // '\\' or '`' (the Dockerfile's escape directive)
  bool rawQuotes = false;     // keep quote characters in the output
  bool rawEscapes = false;    // keep escape characters in the output
  bool skipUnsetEnv = false;  // leave $VAR / ${VAR...} text as is when VAR is unset
  bool skipProcessQuotes = false;  // quotes are ordinary characters
};

// Expands one word: quotes removed, variables substituted, whitespace kept.
// Errors (InvalidArgument) carry BuildKit's text, e.g.
// `failed to process "${X": syntax error: missing '}'`.
Result<std::string> processWord(std::string_view word, const EnvLookup& env,
                                const LexOptions& opts = {});

// Expands and splits on unquoted whitespace (whitespace that came from an
// unquoted variable also splits); an empty quoted word ("") yields no word,
// as in BuildKit.
Result<std::vector<std::string>> processWords(std::string_view word, const EnvLookup& env,
                                              const LexOptions& opts = {});

// Go's %q of a string (the quoting BuildKit's messages use): double quotes,
// with \" \\ \a \b \f \n \r \t \v and \xNN for other control bytes.
std::string goQuote(std::string_view s);

}  // namespace berth::build
