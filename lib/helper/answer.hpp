// The helper's answers: "ok" with what was asked for (spaces, file changes, an exit
// status), or "error" with the errno and the one-line message, which the library returns
// as its own Error so that callers see the same text as root does.
#pragma once

#include <vector>

#include "lib/helper/request.hpp"
#include "personalnet/space.hpp"

namespace personalnet::helper {

Message ok_answer();
Message error_answer(const Error& e);
void add_space(Message& m, const SpaceInfo& i);  // several may follow each other
void add_change(Message& m, const FileChange& c);
// An administrator's network the caller may bind: "NAME", newline, its label ("0x4e01" or
// ""), newline, its definition's path.
void add_network(Message& m, const NetworkInfo& n);
void add_exit(Message& m, int status);

// The error an answer carries ({} for "ok"); EPROTO for something that is neither.
Status error_of(const Message& m);
Result<std::vector<SpaceInfo>> spaces_of(const Message& m);
Result<std::vector<FileChange>> changes_of(const Message& m);
Result<std::vector<NetworkInfo>> networks_of(const Message& m);
Result<int> exit_of(const Message& m);

}  // namespace personalnet::helper
