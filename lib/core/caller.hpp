// On whose behalf the library acts. Normally the real user id; the set-uid helper runs
// as root throughout (so that the daemons it starts are wholly root's, and a user cannot
// signal them) and names the user who called it instead.
#pragma once

#include <sys/types.h>

namespace personalnet::sys {

uid_t caller_uid();
void set_caller_uid(uid_t uid);

// The caller's mount namespace (an fd the helper holds), when it is not the process's
// own: a helper serving a process inside a file space stays in the host's namespace
// (docs/SECURITY.md, rule 2) and looks the caller's file space up by this. -1: our own.
int caller_mntns();
void set_caller_mntns(int fd);

}  // namespace personalnet::sys
