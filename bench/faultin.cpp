// Fault-in and give-back (issue 12, comparisons 6 and 7).
//
// faultin.commit_touch_1g/<variant>: commit 1 GiB and write every byte of it once (memset of the
// whole range, the same write for every variant), against the same memset on 1 GiB already
// committed and touched (`resident`: the bandwidth ceiling, on huge pages where the OS gives
// them). Variants: `plain` (commit, then the first write faults every page in), `prefault`
// (commit_options::prefault: the commit populates the pages, then they are written), `huge` (a
// reservation with huge_pages::prefer: transparent huge pages where the OS gives them),
// `prefault_huge` (both). Each round reserves, times commit + memset, and releases; the reserve
// and release are not timed. Counters: cpu_ns (the thread CPU time of commit + memset, as is
// Google Benchmark's CPU time), huge_bytes (AnonHugePages of /proc/self/smaps_rollup before the
// release: what the round obtained, which varies from run to run), first_ns and first_cpu_ns
// (see commit_touch).
//
// decommit.strategies/<variant> (Linux): give back a committed, touched 64 MiB range. Only the
// give-back is timed; the range is mapped, committed and touched before it, and measured and
// unmapped after it, outside the timing. Variants: `map_fixed` (mmap MAP_FIXED PROT_NONE over the
// range, what vmem's decommit does), `dontneed_mprotect` (MADV_DONTNEED, then mprotect
// PROT_NONE), `dontneed` (MADV_DONTNEED), `free` (MADV_FREE), `vmem_decommit`
// (reservation::decommit), `vmem_discard` (reservation::discard). Counters, what each leaves:
//   resident_bytes  bytes of the range still resident just after (mincore)
//   charged_before  bytes of the range charged to the commit limit before the give-back, and
//   charged_bytes   after it: the range's mappings with VM_ACCOUNT ("ac" in VmFlags of
//                   /proc/self/smaps). That flag is what Committed_AS counts for a private
//                   mapping; reading it per mapping is exact, where Committed_AS is system-wide
//                   and moves with every other process on a shared machine.
//   faults          1 if a read of the range faults just after
//   old_pages       share of the pages reading their old contents afterwards (after access is
//   zero_pages      restored, for the strategies that fault) / reading zero
// MADV_FREE leaves the pages resident until the kernel needs memory: its resident_bytes and
// old_pages show that honestly.
//
// Both use kind::one_round: the time reported is the manual time of the timed part only.
// decommit.strategies pauses the timer around the rest, so its CPU time is the give-back's too.
#include <vmem/vmem.hpp>

#include "common.hpp"

#include <chrono>
#include <csetjmp>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include <cerrno>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#if !defined(MAP_ANONYMOUS) && defined(MAP_ANON)
#define MAP_ANONYMOUS MAP_ANON
#endif
#if defined(__linux__) && !defined(MADV_FREE)
#define MADV_FREE 8 // Linux 4.5; older headers lack it
#endif

namespace {

using namespace vmem_bench;
using clock_type = std::chrono::steady_clock;

// Workload sizes.
constexpr std::size_t faultin_workload = 1 * gib;
constexpr std::size_t faultin_smoke = 16 * mib;
constexpr std::size_t decommit_workload = 64 * mib;
constexpr std::size_t decommit_smoke = 1 * mib;
constexpr std::size_t decommit_cycles = 4; // give-backs per repetition
constexpr unsigned char fill = 0x5A;       // what every byte is written with (never zero)

std::size_t faultin_bytes = faultin_workload;
std::size_t decommit_bytes = decommit_workload;

double seconds(clock_type::time_point a, clock_type::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

// The calling thread's CPU time.
double thread_cpu_seconds() {
    return thread_cpu_ns() * 1e-9;
}

// A value of /proc/self/smaps_rollup ("AnonHugePages:  2048 kB"), in bytes; 0 if absent.
double smaps_rollup_bytes(const char* field) {
    const long long kb = proc_kib("/proc/self/smaps_rollup", (std::string(field) + ":").c_str());
    return kb > 0 ? static_cast<double>(kb) * 1024.0 : 0.0;
}

// --- faultin.commit_touch_1g --------------------------------------------------------------------

// 1 GiB committed and touched, kept while the `resident` repetitions follow each other. With
// huge pages where the OS gives them: a memset over them is faster than over normal pages (fewer
// TLB misses), so this is the higher ceiling; huge_bytes says what it got.
struct resident_scene : scene {
    vmem::reservation r;
    resident_scene() {
        std::error_code ec;
        vmem::reserve_options ro;
        ro.huge = vmem::huge_pages::prefer;
        r = vmem::reservation(faultin_bytes, ro, ec);
        if (!ec)
            r.commit(r.base(), faultin_bytes, vmem::access::read_write, ec);
        if (ec) {
            problem = "reserving and committing the resident range: " + ec.message();
            return;
        }
        std::memset(r.base(), 0, faultin_bytes);
    }
};

void commit_touch_resident(benchmark::State& state) {
    auto* s = enter_scene<resident_scene>(state);
    if (s == nullptr)
        return;
    unsigned char value = fill;
    double cpu = 0;
    for (auto _ : state) {
        const double c0 = thread_cpu_seconds();
        const auto t0 = clock_type::now();
        std::memset(s->r.base(), value++, faultin_bytes);
        benchmark::ClobberMemory();
        const auto t1 = clock_type::now();
        cpu += thread_cpu_seconds() - c0;
        state.SetIterationTime(seconds(t0, t1));
    }
    const double k = state.iterations() > 0 ? static_cast<double>(state.iterations()) : 1.0;
    state.counters["cpu_ns"] = cpu / k * 1e9;
    state.counters["huge_bytes"] = smaps_rollup_bytes("AnonHugePages");
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * faultin_bytes));
}

// One fault-in: reserve, commit + memset (measured: wall and thread CPU seconds), the huge pages
// obtained, release. With `timed`, called while Google Benchmark's timer is paused, it runs the
// timer for commit + memset only.
struct fault_in_result {
    double wall = 0, cpu = 0, huge_bytes = 0;
};
bool fault_in(const vmem::reserve_options& ro, const vmem::commit_options& co, bool timed,
              fault_in_result& out, benchmark::State& state) {
    std::error_code ec;
    vmem::reservation r(faultin_bytes, ro, ec);
    if (!check(state, ec, "reserve"))
        return false;
    if (timed)
        state.ResumeTiming();
    const double c0 = thread_cpu_seconds();
    const auto t0 = clock_type::now();
    r.commit(r.base(), faultin_bytes, vmem::access::read_write, co, ec);
    if (!ec)
        std::memset(r.base(), fill, faultin_bytes);
    benchmark::ClobberMemory();
    const auto t1 = clock_type::now();
    const double c1 = thread_cpu_seconds();
    if (timed)
        state.PauseTiming();
    if (!check(state, ec, "commit"))
        return false;
    out.wall = seconds(t0, t1);
    out.cpu = c1 - c0;
    out.huge_bytes = smaps_rollup_bytes("AnonHugePages");
    r.release(ec);
    return check(state, ec, "release");
}

// Each round faults in twice, the same way: first untimed, then timed. On a virtual machine the
// host may have taken back the memory the guest kernel had free (virtio-balloon free page
// reporting gives it blocks of huge-page size or more, about 2 s after they are freed), and the
// first write to a huge page then waits for the host to provide it again: seen here, 10 to 30
// times the fault-in of memory the host still backs, and whether a round meets it depends on what
// ran before it. The first fault-in puts the host in the same state for every timed round (it
// backs what the timed one gets), so the time is the guest's own cost, as on a machine without
// a host; what the first one cost is reported as counters (first_ns, first_cpu_ns).
template <bool Prefault, bool Huge>
void commit_touch(benchmark::State& state) {
    leave_scene();
    vmem::reserve_options ro;
    if (Huge)
        ro.huge = vmem::huge_pages::prefer;
    vmem::commit_options co;
    co.prefault = Prefault;
    fault_in_result first, timed;
    double first_wall = 0, first_cpu = 0, cpu = 0, huge = 0;
    for (auto _ : state) {
        state.PauseTiming();
        if (!fault_in(ro, co, false, first, state) || !fault_in(ro, co, true, timed, state))
            break; // errored, so the timer may stay paused
        state.ResumeTiming();
        state.SetIterationTime(timed.wall);
        cpu += timed.cpu;
        first_wall += first.wall;
        first_cpu += first.cpu;
        huge += timed.huge_bytes;
    }
    const double k = state.iterations() > 0 ? static_cast<double>(state.iterations()) : 1.0;
    state.counters["cpu_ns"] = cpu / k * 1e9;
    state.counters["first_ns"] = first_wall / k * 1e9;
    state.counters["first_cpu_ns"] = first_cpu / k * 1e9;
    state.counters["huge_bytes"] = huge / k;
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * faultin_bytes));
}

void register_faultin() {
    faultin_bytes = round_up(smoke() ? faultin_smoke : faultin_workload, page());
    const std::string name = "faultin.commit_touch_1g/";
    add(name + "resident", commit_touch_resident, kind::one_round);
    add(name + "plain", commit_touch<false, false>, kind::one_round);
    add(name + "prefault", commit_touch<true, false>, kind::one_round);
    add(name + "huge", commit_touch<false, true>, kind::one_round);
    add(name + "prefault_huge", commit_touch<true, true>, kind::one_round);
}

family faultin_family{"faultin", register_faultin};

// --- decommit.strategies ------------------------------------------------------------------------

#if defined(__linux__)

enum class strategy { map_fixed, dontneed_mprotect, dontneed, free, vmem_decommit, vmem_discard };

bool is_vmem(strategy s) {
    return s == strategy::vmem_decommit || s == strategy::vmem_discard;
}

// Bytes of [lo, hi) in mappings charged to the commit limit: VM_ACCOUNT, "ac" in the VmFlags line
// of /proc/self/smaps. -1 if smaps cannot be read.
double charged_bytes(const void* addr, std::size_t size) {
    const auto lo = reinterpret_cast<std::uintptr_t>(addr);
    const std::uintptr_t hi = lo + size;
    FILE* f = std::fopen("/proc/self/smaps", "r");
    if (f == nullptr)
        return -1;
    double charged = 0;
    std::uintptr_t start = 0, end = 0;
    char line[512];
    while (std::fgets(line, sizeof line, f) != nullptr) {
        unsigned long a = 0, b = 0;
        if (std::strncmp(line, "VmFlags:", 8) == 0) {
            if (start < hi && end > lo && std::strstr(line, " ac") != nullptr)
                charged += static_cast<double>((end < hi ? end : hi) - (start > lo ? start : lo));
        } else if (std::sscanf(line, "%lx-%lx ", &a, &b) == 2) {
            start = a;
            end = b;
        }
    }
    std::fclose(f);
    return charged;
}

double resident_bytes(void* addr, std::size_t size, std::vector<unsigned char>& pages) {
    pages.resize(size / page());
    if (mincore(addr, size, pages.data()) != 0)
        return -1;
    std::size_t resident = 0;
    for (unsigned char p : pages)
        resident += p & 1;
    return static_cast<double>(resident * page());
}

// Whether reading *p faults (SIGSEGV or SIGBUS), without dying of it.
sigjmp_buf probe_jump;
void on_fault(int) {
    siglongjmp(probe_jump, 1);
}
bool read_faults(const void* p) {
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fault;
    sigemptyset(&sa.sa_mask);
    struct sigaction old_segv, old_bus;
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
    volatile bool faulted = true;
    if (sigsetjmp(probe_jump, 1) == 0) {
        (void)*static_cast<const volatile unsigned char*>(p);
        faulted = false;
    }
    sigaction(SIGSEGV, &old_segv, nullptr);
    sigaction(SIGBUS, &old_bus, nullptr);
    return faulted;
}

// One range to give back: a raw mapping made as vmem makes a reservation and commits it, or a
// vmem::reservation.
struct range {
    vmem::reservation r;
    void* base = nullptr;
    std::size_t size = 0;

    bool make(strategy s, std::size_t n, std::error_code& ec) {
        size = n;
        if (is_vmem(s)) {
            r = vmem::reservation(n, {}, ec);
            if (!ec)
                r.commit(r.base(), n, vmem::access::read_write, ec);
            base = r.base();
            return !ec;
        }
        void* p = mmap(nullptr, n, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED || mprotect(p, n, PROT_READ | PROT_WRITE) != 0) {
            ec.assign(errno, std::system_category());
            if (p != MAP_FAILED)
                munmap(p, n);
            return false;
        }
        base = p;
        return true;
    }
    bool give_back(strategy s, std::error_code& ec) {
        int rc = 0;
        switch (s) {
        case strategy::map_fixed:
            rc = mmap(base, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
                         MAP_FAILED
                     ? -1
                     : 0;
            break;
        case strategy::dontneed_mprotect:
            rc = madvise(base, size, MADV_DONTNEED);
            if (rc == 0)
                rc = mprotect(base, size, PROT_NONE);
            break;
        case strategy::dontneed:
            rc = madvise(base, size, MADV_DONTNEED);
            break;
        case strategy::free:
            rc = madvise(base, size, MADV_FREE);
            break;
        case strategy::vmem_decommit:
            r.decommit(base, size, ec);
            return !ec;
        case strategy::vmem_discard:
            r.discard(base, size, ec);
            return !ec;
        }
        if (rc != 0)
            ec.assign(errno, std::system_category());
        return rc == 0;
    }
    // Access back, for reading what the range holds after a strategy that makes it fault.
    bool restore(strategy s, std::error_code& ec) {
        if (s == strategy::vmem_decommit) {
            r.commit(base, size, vmem::access::read_write, ec);
            return !ec;
        }
        if (mprotect(base, size, PROT_READ | PROT_WRITE) != 0) {
            ec.assign(errno, std::system_category());
            return false;
        }
        return true;
    }
    void drop() {
        if (!is_vmem_range() && base != nullptr)
            munmap(base, size);
        r = vmem::reservation();
        base = nullptr;
    }
    bool is_vmem_range() const { return static_cast<bool>(r); }
    ~range() { drop(); }
};

template <strategy S>
void strategies(benchmark::State& state) {
    leave_scene();
    const std::size_t n = decommit_bytes;
    std::vector<unsigned char> pages;
    double resident = 0, charged = 0, charged_before = 0, faults = 0, old_pages = 0, zero = 0;
    for (auto _ : state) {
        state.PauseTiming();
        range g;
        std::error_code ec;
        if (!check(state, g.make(S, n, ec) ? std::error_code() : ec, "map and commit"))
            break;
        std::memset(g.base, fill, n);
        charged_before += charged_bytes(g.base, n);
        state.ResumeTiming();
        const auto t0 = clock_type::now();
        const bool ok = g.give_back(S, ec);
        const auto t1 = clock_type::now();
        if (!check(state, ok ? std::error_code() : ec, "give back"))
            break;
        state.SetIterationTime(seconds(t0, t1));
        state.PauseTiming();
        resident += resident_bytes(g.base, n, pages);
        charged += charged_bytes(g.base, n);
        const bool faulted = read_faults(g.base);
        faults += faulted ? 1 : 0;
        if (faulted && !g.restore(S, ec)) {
            check(state, ec, "restoring access");
            break;
        }
        std::size_t old = 0, zeros = 0;
        for (std::size_t off = 0; off < n; off += page()) {
            const unsigned char c =
                *static_cast<const volatile unsigned char*>(static_cast<void*>(at(g.base, off)));
            old += c == fill;
            zeros += c == 0;
        }
        const double count = static_cast<double>(n / page());
        old_pages += static_cast<double>(old) / count;
        zero += static_cast<double>(zeros) / count;
        g.drop();
        state.ResumeTiming();
    }
    const double k = state.iterations() > 0 ? static_cast<double>(state.iterations()) : 1.0;
    state.counters["bytes"] = static_cast<double>(n);
    state.counters["resident_bytes"] = resident / k;
    state.counters["charged_before"] = charged_before / k;
    state.counters["charged_bytes"] = charged / k;
    state.counters["faults"] = faults / k;
    state.counters["old_pages"] = old_pages / k;
    state.counters["zero_pages"] = zero / k;
}

#else

template <int>
void not_linux(benchmark::State& state) {
    leave_scene();
    state.SkipWithError("skipped: decommit.strategies compares Linux's ways to give memory back");
}

#endif

void register_decommit() {
    decommit_bytes = round_up(smoke() ? decommit_smoke : decommit_workload, page());
    const std::size_t cycles = smoke() ? 1 : decommit_cycles;
    const std::string name = "decommit.strategies/";
#if defined(__linux__)
    add(name + "map_fixed", strategies<strategy::map_fixed>, kind::one_round)->Iterations(cycles);
    add(name + "dontneed_mprotect", strategies<strategy::dontneed_mprotect>, kind::one_round)
        ->Iterations(cycles);
    add(name + "dontneed", strategies<strategy::dontneed>, kind::one_round)->Iterations(cycles);
    add(name + "free", strategies<strategy::free>, kind::one_round)->Iterations(cycles);
    add(name + "vmem_decommit", strategies<strategy::vmem_decommit>, kind::one_round)
        ->Iterations(cycles);
    add(name + "vmem_discard", strategies<strategy::vmem_discard>, kind::one_round)
        ->Iterations(cycles);
#else
    (void)cycles;
    for (const char* v :
         {"map_fixed", "dontneed_mprotect", "dontneed", "free", "vmem_decommit", "vmem_discard"})
        add(name + v, not_linux<0>, kind::one_round);
#endif
}

family decommit_family{"decommit", register_decommit};

} // namespace
