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
#if defined(__APPLE__)
    using vec_t = char;
#else
    using vec_t = unsigned char;
#endif
    if (mincore(reinterpret_cast<void*>(first), last - first,
                reinterpret_cast<vec_t*>(in_core.data())) != 0)
        return std::nullopt;
    std::size_t n = 0;
    for (unsigned char c : in_core)
        n += (c & 1) != 0 ? page : 0;
    return n;
}

std::optional<std::size_t> process_resident_bytes() {
#if defined(__linux__)
    std::ifstream statm("/proc/self/statm");
    std::size_t total = 0, resident = 0;
    if (statm >> total >> resident)
        return resident * os_page_size();
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
#else
    return "posix";
#endif
}

} // namespace vmem_probe
