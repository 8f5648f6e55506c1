// vmem tests, POSIX: the probe (see ../probe.hpp).
#include "../probe.hpp"

#include <atomic>
#include <csetjmp>
#include <cstdint>
#include <csignal>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/resource.h>
#include <sys/wait.h>
#if defined(__linux__)
#include <sched.h>
#include <sys/mount.h>
#elif defined(__APPLE__)
#include <mach/mach.h>
#elif defined(__FreeBSD__)
#include <sys/param.h>
#include <sys/sysctl.h>
#include <sys/user.h>
#elif defined(__NetBSD__) || defined(__OpenBSD__)
#include <sys/param.h>
#include <sys/sysctl.h>
#endif

namespace vmem_probe {

namespace {

// volatile: the stores around a touch must not be merged or dropped. To the compiler the touch is
// a plain read that cannot jump back here, so `landing = &here; touch(); landing = nullptr;`
// would otherwise lose its first store at -O2.
thread_local sigjmp_buf* volatile landing = nullptr;

// Signal actions are process-wide, so the handler stays installed while any thread is probing:
// the first probe installs it, the last one puts back what was there before (Boost.Test's own
// handler, during a test). A fault that is not a probe's goes to that previous handler.
std::mutex install_lock;
int probes_running = 0;
struct sigaction previous_segv {
}, previous_bus{};

extern "C" void on_fault(int sig, siginfo_t* info, void* context) {
    if (landing != nullptr)
        siglongjmp(*landing, 1);
    const struct sigaction& previous = sig == SIGSEGV ? previous_segv : previous_bus;
    if ((previous.sa_flags & SA_SIGINFO) != 0 && previous.sa_sigaction != nullptr) {
        previous.sa_sigaction(sig, info, context);
    } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
        previous.sa_handler(sig);
    } else {
        sigaction(sig, &previous, nullptr); // the fault repeats and takes its default course
    }
}

void enter_probe() {
    std::lock_guard<std::mutex> hold(install_lock);
    if (probes_running++ > 0)
        return;
    struct sigaction act {};
    act.sa_sigaction = on_fault;
    sigemptyset(&act.sa_mask);
    act.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &act, &previous_segv);
    sigaction(SIGBUS, &act, &previous_bus); // macOS reports some faults as SIGBUS
}

void leave_probe() {
    std::lock_guard<std::mutex> hold(install_lock);
    if (--probes_running > 0)
        return;
    sigaction(SIGSEGV, &previous_segv, nullptr);
    sigaction(SIGBUS, &previous_bus, nullptr);
}

// Runs `touch` with faults caught; true when it completed without one.
template <class F>
bool without_fault(F touch) noexcept {
    enter_probe();
    sigjmp_buf here;
    bool ok = false;
    if (sigsetjmp(here, 1) == 0) {
        landing = &here;
        std::atomic_signal_fence(std::memory_order_seq_cst);
        touch();
        std::atomic_signal_fence(std::memory_order_seq_cst);
        ok = true;
    }
    landing = nullptr;
    leave_probe();
    return ok;
}

// mincore as the system declares it: Linux takes `unsigned char*` for the vector, macOS and the
// BSDs `char*`, and the address is `void*`, `const void*` or (older systems) `caddr_t`. The
// parameter types are deduced from mincore itself, so one call compiles against every prototype
// (C++17 deduces through glibc's noexcept too). Each entry is one byte whatever its type.
template <class Address, class Length, class Vector>
int call_mincore(int (*system_mincore)(Address, Length, Vector*), const void* addr,
                 std::size_t length, unsigned char* vec) noexcept {
    static_assert(sizeof(Vector) == 1, "mincore reports one byte per page");
    return system_mincore(static_cast<Address>(const_cast<void*>(addr)),
                          static_cast<Length>(length), reinterpret_cast<Vector*>(vec));
}

int page_states(const void* addr, std::size_t length, unsigned char* vec) noexcept {
    return call_mincore(&::mincore, addr, length, vec);
}

} // namespace

bool can_read(const void* p) noexcept {
    return without_fault([p] { (void)*static_cast<const volatile unsigned char*>(p); });
}

bool can_write(void* p) noexcept {
    if (!can_read(p))
        return false;
    return without_fault([p] {
        volatile unsigned char* b = static_cast<volatile unsigned char*>(p);
        *b = *b;
    });
}

std::optional<std::size_t> resident_bytes(const void* p, std::size_t size) {
    const std::size_t page = os_page_size();
    const auto first = reinterpret_cast<std::uintptr_t>(p) & ~(page - 1);
    const auto last = (reinterpret_cast<std::uintptr_t>(p) + size + page - 1) & ~(page - 1);
    std::vector<unsigned char> in_core((last - first) / page);
    if (page_states(reinterpret_cast<const void*>(first), last - first, in_core.data()) != 0)
        return std::nullopt;
    std::size_t n = 0;
    for (unsigned char c : in_core)
        n += (c & 1) != 0 ? page : 0;
    return n;
}

std::optional<std::size_t> process_resident_bytes() {
#if defined(__linux__)
    // proc(5): VmRSS of /proc/self/status, in kB. (statm counts the kernel's pages, which are not
    // the page the process is told of when tests/pagesize emulates a bigger one.)
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        std::size_t kib = 0;
        if (line.rfind("VmRSS:", 0) == 0 && std::istringstream(line.substr(6)) >> kib)
            return kib * 1024;
    }
#elif defined(__APPLE__)
    // MACH_TASK_BASIC_INFO gives resident_size in bytes (mach/task_info.h).
    mach_task_basic_info_data_t info{};
    mach_msg_type_number_t count = MACH_TASK_BASIC_INFO_COUNT;
    if (task_info(mach_task_self(), MACH_TASK_BASIC_INFO, reinterpret_cast<task_info_t>(&info),
                  &count) == KERN_SUCCESS)
        return static_cast<std::size_t>(info.resident_size);
#elif defined(__FreeBSD__)
    // kern.proc.pid.<pid>: one struct kinfo_proc (sys/user.h); ki_rssize is in pages.
    int mib[] = {CTL_KERN, KERN_PROC, KERN_PROC_PID, static_cast<int>(getpid())};
    struct kinfo_proc info {};
    std::size_t length = sizeof(info);
    if (sysctl(mib, 4, &info, &length, nullptr, 0) == 0 && length >= sizeof(info))
        return static_cast<std::size_t>(info.ki_rssize) * os_page_size();
#elif defined(__NetBSD__) || defined(__OpenBSD__)
    // NetBSD's kern.proc2 and OpenBSD's kern.proc take two more levels, the size of one element
    // and how many are wanted, and give struct kinfo_proc2 (NetBSD) or struct kinfo_proc
    // (OpenBSD, the same layout renamed); p_vm_rssize is in pages.
#if defined(__NetBSD__)
    using process_info = struct kinfo_proc2;
    const int which = KERN_PROC2;
#else
    using process_info = struct kinfo_proc;
    const int which = KERN_PROC;
#endif
    int mib[] = {CTL_KERN,
                 which,
                 KERN_PROC_PID,
                 static_cast<int>(getpid()),
                 static_cast<int>(sizeof(process_info)),
                 1};
    process_info info{};
    std::size_t length = sizeof(info);
    if (sysctl(mib, 6, &info, &length, nullptr, 0) == 0 && length >= sizeof(info))
        return static_cast<std::size_t>(info.p_vm_rssize) * os_page_size();
#endif
    return std::nullopt;
}

std::optional<std::size_t> commit_charge() {
#if defined(__linux__)
    std::ifstream meminfo("/proc/meminfo");
    std::string line;
    while (std::getline(meminfo, line)) {
        if (line.rfind("Committed_AS:", 0) == 0) {
            std::istringstream fields(line.substr(13));
            std::size_t kib = 0;
            if (fields >> kib)
                return kib * 1024;
        }
    }
#endif
    return std::nullopt;
}

void* map_foreign(void* at, std::size_t size) noexcept {
#if !defined(MAP_ANONYMOUS) && defined(MAP_ANON)
    const int anonymous = MAP_ANON;
#else
    const int anonymous = MAP_ANONYMOUS;
#endif
#if defined(MAP_FIXED_NOREPLACE)
    // Never MAP_FIXED alone: it would replace what is there. Kernels before 4.17 take this flag
    // as a hint, which the address check below catches.
    const int flags = MAP_PRIVATE | anonymous | MAP_FIXED_NOREPLACE;
#else
    const int flags = MAP_PRIVATE | anonymous;
#endif
    void* p = mmap(at, size, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (p == MAP_FAILED)
        return nullptr;
    if (p != at) {
        munmap(p, size);
        return nullptr;
    }
    return p;
}

void unmap_foreign(void* p, std::size_t size) noexcept {
    munmap(p, size);
}

std::size_t os_page_size() {
    return static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

std::size_t os_allocation_granularity() {
    return os_page_size();
}

std::string wine_version() {
    return {};
}

std::string platform_name() {
#if defined(__linux__)
    return "linux";
#elif defined(__APPLE__)
    return "macos";
#elif defined(__FreeBSD__)
    return "freebsd";
#elif defined(__NetBSD__)
    return "netbsd";
#elif defined(__OpenBSD__)
    return "openbsd";
#else
    return "posix";
#endif
}

// Probes added for the tests of execution, accounting and failure atomicity.

bool write_return_42(void* p) noexcept {
#if defined(__x86_64__) || defined(__i386__)
    static const unsigned char code[] = {0xB8, 0x2A, 0x00, 0x00, 0x00, 0xC3}; // mov eax, 42; ret
#elif defined(__aarch64__)
    static const std::uint32_t code[] = {0x52800540, 0xD65F03C0}; // mov w0, #42; ret
#endif
#if defined(__x86_64__) || defined(__i386__) || defined(__aarch64__)
    std::memcpy(p, code, sizeof(code));
    char* begin = static_cast<char*>(p);
    __builtin___clear_cache(begin, begin + sizeof(code));
    return true;
#else
    (void)p;
    return false;
#endif
}

bool can_execute(const void* p) noexcept {
    int (*function)() = nullptr;
    std::memcpy(&function, &p, sizeof(function)); // a data pointer to code, without a cast
    volatile int result = 0;
    const bool ran = without_fault([&] { result = function(); });
    return ran && result == 42;
}

std::optional<int> overcommit_mode() {
#if defined(__linux__)
    std::ifstream f("/proc/sys/vm/overcommit_memory");
    int mode = 0;
    if (f >> mode)
        return mode;
#endif
    return std::nullopt;
}

namespace {

// A "Name:   123 kB" field of a /proc file, in bytes.
std::optional<std::size_t> proc_kib_field(const char* file, const std::string& name) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(name + ":", 0) == 0) {
            std::istringstream fields(line.substr(name.size() + 1));
            std::size_t kib = 0;
            if (fields >> kib)
                return kib * 1024;
        }
    }
    return std::nullopt;
}

} // namespace

std::optional<std::size_t> memory_and_swap() {
    const auto ram = proc_kib_field("/proc/meminfo", "MemTotal");
    const auto swap = proc_kib_field("/proc/meminfo", "SwapTotal");
    if (!ram || !swap)
        return std::nullopt;
    return *ram + *swap;
}

std::optional<std::size_t> address_space_in_use() {
    return proc_kib_field("/proc/self/status", "VmSize");
}

bool is_unmapped(const void* p, std::size_t size) noexcept {
    const std::size_t page = os_page_size();
    const auto first = reinterpret_cast<std::uintptr_t>(p) & ~(page - 1);
    const auto last = reinterpret_cast<std::uintptr_t>(p) + size;
    unsigned char in_core = 0;
    for (std::uintptr_t at = first; at < last; at += page) {
        if (page_states(reinterpret_cast<const void*>(at), page, &in_core) == 0 || errno != ENOMEM)
            return false; // mapped (mincore works on any mapping, even PROT_NONE)
    }
    return true;
}

std::optional<std::string> run_in_child(std::string (*body)(void*), void* arg) {
    int out[2];
    if (pipe(out) != 0)
        return std::string("pipe failed: ") + std::strerror(errno);
    const pid_t child = fork();
    if (child < 0) {
        close(out[0]);
        close(out[1]);
        return std::string("fork failed: ") + std::strerror(errno);
    }
    if (child == 0) {
        // The test framework's handlers would resume the test tree in the child: undo them.
        for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGTRAP, SIGALRM})
            std::signal(sig, SIG_DFL);
        close(out[0]);
        std::string said;
        try {
            said = body(arg);
        } catch (...) {
            said = "the child's body threw";
        }
        const char* at = said.data();
        std::size_t left = said.size();
        while (left > 0) {
            const ssize_t n = write(out[1], at, left);
            if (n <= 0)
                break;
            at += n;
            left -= static_cast<std::size_t>(n);
        }
        _exit(0);
    }
    close(out[1]);
    std::string said;
    char buffer[512];
    for (;;) {
        const ssize_t n = read(out[0], buffer, sizeof(buffer));
        if (n > 0)
            said.append(buffer, static_cast<std::size_t>(n));
        else if (n == 0 || errno != EINTR)
            break;
    }
    close(out[0]);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(status))
        said += " [the child died of signal " + std::to_string(WTERMSIG(status)) + "]";
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        said += " [the child exited abnormally]";
    return said;
}

bool limit_writable_memory(std::size_t headroom) noexcept {
#if defined(__linux__)
    // VmData counts private writable memory (and the stack), which is what RLIMIT_DATA bounds.
    std::optional<std::size_t> data;
    try {
        data = proc_kib_field("/proc/self/status", "VmData");
    } catch (...) {
        return false;
    }
    if (!data)
        return false;
    struct rlimit limit {};
    if (getrlimit(RLIMIT_DATA, &limit) != 0)
        return false;
    const rlim_t wanted = static_cast<rlim_t>(*data + headroom);
    if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < wanted)
        return false;
    limit.rlim_cur = wanted;
    return setrlimit(RLIMIT_DATA, &limit) == 0;
#else
    (void)headroom;
    return false;
#endif
}

bool pretend_overcommit_mode(int mode) noexcept {
#if defined(__linux__)
    if (mode < 0 || mode > 9)
        return false;
    if (unshare(CLONE_NEWNS) != 0)
        return false;
    // Keep the bind mount below to this namespace.
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
        return false;
    char path[] = "/tmp/vmem-overcommit-XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0)
        return false;
    const char text[2] = {static_cast<char>('0' + mode), '\n'};
    const bool written = write(fd, text, sizeof(text)) == static_cast<ssize_t>(sizeof(text));
    close(fd);
    const bool bound =
        written && mount(path, "/proc/sys/vm/overcommit_memory", nullptr, MS_BIND, nullptr) == 0;
    unlink(path); // the mount keeps the file alive
    return bound;
#else
    (void)mode;
    return false;
#endif
}

} // namespace vmem_probe
