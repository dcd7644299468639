// Lexical checks shared by the policy parser and its decisions. They look at strings
// only, never at the file system: paths given to them must already be resolved.
#pragma once

#include <string>

namespace personalnet::policy {

// A user, group or overlay name: 1-32 of A-Z a-z 0-9 _ . -, not starting with '-' (it
// would read as an option) and not "." or "..".
bool is_name(const std::string& s);

// An absolute path with no ".", ".." or empty component and no control character ("/"
// itself qualifies): one string names one place, so prefixes can be compared lexically.
bool is_clean_path(const std::string& s);

// Whether path is prefix or lies below it, comparing whole components (/home/al does not
// cover /home/alice). Both must be clean paths.
bool path_covers(const std::string& prefix, const std::string& path);

}  // namespace personalnet::policy
