// vmem tests, POSIX: the probe (see ../probe.hpp).
#include "../probe.hpp"

#include <atomic>
#include <csetjmp>
#include <cstdint>
#include <cstdlib>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
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

extern "C" void on_fault(int) {
    if (landing != nullptr)
        siglongjmp(*landing, 1);
    std::abort(); // not ours: a real crash
}

// Runs `touch` with SIGSEGV and SIGBUS (macOS reports some faults as SIGBUS) caught; true when it
// completed without a fault.
template <class F>
bool without_fault(F touch) noexcept {
    struct sigaction act {};
    act.sa_handler = on_fault;
    sigemptyset(&act.sa_mask);
    act.sa_flags = SA_NODEFER;
    struct sigaction old_segv {
    }, old_bus{};
    sigaction(SIGSEGV, &act, &old_segv);
    sigaction(SIGBUS, &act, &old_bus);
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
    sigaction(SIGSEGV, &old_segv, nullptr);
    sigaction(SIGBUS, &old_bus, nullptr);
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
