// Quoting words for sh, bash and zsh: the one quoter behind the printed command lines
// (--print-args, --dry-run) and the generated completion scripts.
#pragma once
#include <string>
#include <string_view>

namespace sb::shell {

// `word` in single quotes, each ' written as '\'' : the shell reads back exactly `word`.
std::string single_quote(std::string_view word);

// `word` as it is when it needs no quoting (letters, digits, -_./:=@%+,), else
// single_quote(word). The empty word is ''.
std::string quote(std::string_view word);

}  // namespace sb::shell
