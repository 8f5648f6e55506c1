// Runs a program (the suite) on a Linux that refuses writable and executable memory at once, as
// macOS on Apple silicon does outside MAP_JIT and OpenBSD's W^X do: a seccomp filter makes every
// mmap and mprotect asking for PROT_WRITE | PROT_EXEC fail with EACCES, and nothing else. The suite
// then finds capabilities::write_execute false and takes its refusal branches (the
// read_write_execute commit or protect fails and changes nothing), which otherwise first run on the
// hosted macOS machine.
//   refuse_write_execute <program> [arguments...]
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

#if defined(__x86_64__)
constexpr unsigned native_arch = AUDIT_ARCH_X86_64;
#elif defined(__i386__)
constexpr unsigned native_arch = AUDIT_ARCH_I386;
#elif defined(__aarch64__)
constexpr unsigned native_arch = AUDIT_ARCH_AARCH64;
#else
#error "refuse_write_execute: add this architecture's AUDIT_ARCH_ value"
#endif

constexpr unsigned wx = PROT_WRITE | PROT_EXEC;

sock_filter statement(unsigned short code, unsigned k) {
    return sock_filter{code, 0, 0, k};
}
sock_filter jump(unsigned short code, unsigned k, unsigned char yes, unsigned char no) {
    return sock_filter{code, yes, no, k};
}

bool install() {
    // The calls that set a protection, with it in their third argument.
    const unsigned calls[] = {
#if defined(__NR_mmap)
        __NR_mmap,
#endif
#if defined(__NR_mmap2)
        __NR_mmap2,
#endif
        __NR_mprotect,
#if defined(__NR_pkey_mprotect)
        __NR_pkey_mprotect,
#endif
    };
    constexpr std::size_t n = sizeof calls / sizeof calls[0];
    sock_filter program[10 + n];
    std::size_t i = 0;
    const unsigned allow = SECCOMP_RET_ALLOW;
    // Another architecture's calls (a 32-bit call from a 64-bit process): allowed as they are.
    program[i++] = statement(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch));
    program[i++] = jump(BPF_JMP | BPF_JEQ | BPF_K, native_arch, 1, 0);
    program[i++] = statement(BPF_RET | BPF_K, allow);
    program[i++] = statement(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr));
    // One test per call: on a match, go on to the protection check after the last of them.
    for (std::size_t c = 0; c < n; ++c)
        program[i++] =
            jump(BPF_JMP | BPF_JEQ | BPF_K, calls[c], static_cast<unsigned char>(n - c), 0);
    program[i++] = statement(BPF_RET | BPF_K, allow);
    // The low 32 bits of the third argument (the protection) on a little-endian machine.
    program[i++] = statement(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[2]));
    program[i++] = statement(BPF_ALU | BPF_AND | BPF_K, wx);
    program[i++] = jump(BPF_JMP | BPF_JEQ | BPF_K, wx, 0, 1);
    program[i++] = statement(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EACCES & SECCOMP_RET_DATA));
    program[i++] = statement(BPF_RET | BPF_K, allow);
    sock_fprog fprog{static_cast<unsigned short>(i), program};
    return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
           prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) == 0;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: refuse_write_execute <program> [arguments...]\n");
        return 2;
    }
    if (!install()) {
        std::fprintf(stderr, "refuse_write_execute: seccomp: %s\n", std::strerror(errno));
        return 2;
    }
    // The filter works: W+X is refused, and writable or executable memory alone is not.
    const long page = sysconf(_SC_PAGESIZE);
    void* p = mmap(nullptr, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED || mprotect(p, page, PROT_READ | PROT_WRITE | PROT_EXEC) == 0 ||
        errno != EACCES || mprotect(p, page, PROT_READ | PROT_EXEC) != 0 ||
        mprotect(p, page, PROT_READ | PROT_WRITE) != 0) {
        std::fprintf(stderr, "refuse_write_execute: the filter does not act as it should\n");
        return 2;
    }
    munmap(p, page);
    std::printf("refuse_write_execute: PROT_WRITE | PROT_EXEC is refused from here on\n");
    std::fflush(stdout);
    execv(argv[1], argv + 1);
    std::fprintf(stderr, "refuse_write_execute: cannot run %s: %s\n", argv[1],
                 std::strerror(errno));
    return 2;
}
