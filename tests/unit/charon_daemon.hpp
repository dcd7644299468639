// A real strongSwan charon for tests, confined to what the test owns: it runs in a
// network namespace the test made, in a private mount namespace with a tmpfs on /run
// (charon's pid file path is compiled in: /var/run/charon.pid), with its
// strongswan.conf, log and VICI socket in a directory of the test's.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "personalnet/error.hpp"

namespace pn_unit {

inline constexpr const char* kCharon = "/usr/lib/ipsec/charon";

class Charon {
public:
    // Writes dir/strongswan.conf (the library's, for SPI label `label` and the
    // datapath kernel_esp, plus a log file) and starts charon inside the network
    // namespace netns_fd, then waits until its VICI socket accepts. charon dies with the
    // calling thread (PR_SET_PDEATHSIG), so a crashed test leaves no daemon behind.
    static personalnet::Result<Charon> start(int netns_fd, const std::string& dir, uint16_t label,
                                             bool kernel_esp);

    Charon(Charon&& o) noexcept;
    Charon& operator=(Charon&&) = delete;
    Charon(const Charon&) = delete;
    Charon& operator=(const Charon&) = delete;
    ~Charon();  // stop()

    // SIGTERM, SIGKILL after 3 s, reaped. "" when it exited on its own after SIGTERM,
    // else what happened. Idempotent.
    std::string stop();

    pid_t pid() const { return pid_; }
    const std::string& vici() const { return vici_; }
    double start_ms() const { return start_ms_; }
    // The last lines of its log, for failure messages.
    std::string log_tail(size_t lines = 25) const;

private:
    Charon() = default;
    pid_t pid_ = -1;
    std::string dir_;
    std::string vici_;
    double start_ms_ = 0;
};

}  // namespace pn_unit
