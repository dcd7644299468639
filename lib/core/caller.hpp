// On whose behalf the library acts. Normally the real user id; the set-uid helper runs
// as root throughout (so that the daemons it starts are wholly root's, and a user cannot
// signal them) and names the user who called it instead.
#pragma once

#include <sys/types.h>

namespace personalnet::sys {

uid_t caller_uid();
void set_caller_uid(uid_t uid);

}  // namespace personalnet::sys
