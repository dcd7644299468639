#include "lib/core/seccomp.hpp"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

namespace personalnet::seccomp {

namespace {

#if defined(__x86_64__)
constexpr __u32 kNative = AUDIT_ARCH_X86_64;
constexpr __u32 kCompat = AUDIT_ARCH_I386;
constexpr __u32 kNativeIoctl = 16;              // __NR_ioctl, x86-64
constexpr __u32 kCompatIoctl = 54;              // __NR_ioctl, i386
constexpr __u32 kX32Ioctl = 0x40000000U | 514;  // x32's own ioctl (__X32_SYSCALL_BIT | 514)
#elif defined(__aarch64__)
constexpr __u32 kNative = AUDIT_ARCH_AARCH64;
constexpr __u32 kCompat = AUDIT_ARCH_ARM;
constexpr __u32 kNativeIoctl = 29;         // __NR_ioctl, arm64 (asm-generic)
constexpr __u32 kCompatIoctl = 54;         // __NR_ioctl, 32-bit ARM EABI
constexpr __u32 kX32Ioctl = kNativeIoctl;  // no x32: the check repeats the native one
#else
#error "personalnet's TIOCSTI filter knows x86-64 and AArch64 only: add the architecture's ioctl numbers"
#endif
static_assert(SYS_ioctl == kNativeIoctl, "the filter's ioctl number is not this architecture's");

constexpr __u32 kArchOffset = offsetof(seccomp_data, arch);
constexpr __u32 kNrOffset = offsetof(seccomp_data, nr);
// The low 32 bits of args[1]: where they are in the 64-bit field depends on byte order.
constexpr __u32 kCmdOffset = offsetof(seccomp_data, args) + sizeof(__u64) +
                             (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? 0 : sizeof(__u32));

sock_filter stmt(__u16 code, __u32 k) { return sock_filter{code, 0, 0, k}; }
sock_filter jeq(__u32 k, __u8 jt, __u8 jf) { return sock_filter{BPF_JMP | BPF_JEQ | BPF_K, jt, jf, k}; }

}  // namespace

TtyFilter::TtyFilter() {
    // Jump offsets count instructions skipped after the jump itself.
    insns_ = {
        /* 0 */ stmt(BPF_LD | BPF_W | BPF_ABS, kArchOffset),
        /* 1 */ jeq(kNative, 2, 0),  // -> 4
        /* 2 */ jeq(kCompat, 5, 0),  // -> 8
        /* 3 */ stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        // The native ABI (and x32's system calls, which carry the native architecture).
        /* 4 */ stmt(BPF_LD | BPF_W | BPF_ABS, kNrOffset),
        /* 5 */ jeq(kNativeIoctl, 5, 0),  // -> 11
        /* 6 */ jeq(kX32Ioctl, 4, 0),     // -> 11
        /* 7 */ stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        // The 32-bit ABI.
        /* 8 */ stmt(BPF_LD | BPF_W | BPF_ABS, kNrOffset),
        /* 9 */ jeq(kCompatIoctl, 1, 0),  // -> 11
        /* 10 */ stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        // ioctl: the command, as the kernel reads it (unsigned int).
        /* 11 */ stmt(BPF_LD | BPF_W | BPF_ABS, kCmdOffset),
        /* 12 */ jeq(TIOCSTI, 2, 0),    // -> 15
        /* 13 */ jeq(TIOCLINUX, 1, 0),  // -> 15
        /* 14 */ stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        /* 15 */ stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
    };
    prog_.len = static_cast<unsigned short>(insns_.size());
    prog_.filter = insns_.data();
}

int TtyFilter::install() const noexcept {
    if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog_) != 0) return errno;
    return 0;
}

}  // namespace personalnet::seccomp
