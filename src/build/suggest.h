#pragma once
// "Did you mean" hints on error messages, as BuildKit's suggest package
// gives them (unknown instructions, flags, mount keys and types).

#include <string>
#include <string_view>
#include <vector>

namespace berth::build {

// Returns `message` + " (did you mean X?)" when one of `options` is within
// edit distance 2 of `value` (the closest; ties go to the earlier option),
// `message` unchanged otherwise or when `value` is itself an option.
// Case-insensitive matching answers in the case of `value` when it is all
// upper case, in lower case otherwise.
std::string withSuggestion(std::string message, std::string_view value, const std::vector<std::string>& options,
                           bool caseSensitive);

}  // namespace berth::build
