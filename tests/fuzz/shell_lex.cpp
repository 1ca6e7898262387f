// libFuzzer target: the Dockerfile shell lexer (src/build/shell_lex.*),
// BuildKit's word expansion: quotes, escapes, $VAR, ${VAR:-x}, ${VAR#pat}...
// Input: byte 0 picks the LexOptions (escape '\\' or '`' and the four
// switches), the rest is the word. Variables set: A=a, EMPTY=, SP="a b",
// PATHX=/usr/local/bin; everything else is unset.
// Checks: no crash, no UB; processWords' words contain no unquoted
// separator when the word has no quotes, escapes, variables or '<'.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "build/shell_lex.h"

using namespace berth::build;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  LexOptions o;
  uint8_t b = data[0];
  o.escape = (b & 1) ? '`' : '\\';
  o.rawQuotes = b & 2;
  o.rawEscapes = b & 4;
  o.skipUnsetEnv = b & 8;
  o.skipProcessQuotes = b & 16;
  std::string_view word(reinterpret_cast<const char*>(data) + 1, size - 1);
  static const EnvLookup env = envFromList({"A=a", "EMPTY=", "SP=a b", "PATHX=/usr/local/bin"});
  (void)processWord(word, env, o);
  auto words = processWords(word, env, o);
  // "<<" keeps the blanks after it in its word (BuildKit's heredoc
  // handling), so words with '<' are not checked either.
  if (words && word.find_first_of("\"'$\\`<") == std::string_view::npos) {
    for (const auto& w : *words)
      if (w.empty() || w.find_first_of(" \t\n\v\f\r") != std::string::npos) std::abort();
  }
  (void)goQuote(word);
  return 0;
}
