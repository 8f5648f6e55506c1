// What vmem costs over the system calls it wraps: the goals of issue 7, measured with Google
// Benchmark. POSIX only: the baseline is mmap / mprotect / munmap with the flags
// src/posix/memory.cpp uses (reserve: mmap PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS; commit:
// mprotect; decommit: mmap MAP_FIXED PROT_NONE with the same flags; release: munmap; protect:
// mprotect). vmem is used through its public API only.
//
// Each benchmark is named `<summary name>/<variant>`: `raw` is the system calls, `vmem` the
// members of vmem::reservation, `vmem.free` the free functions. scripts/bench runs them all in one
// process with repetitions in random order (so vmem and raw are interleaved) and bench/summary.py
// turns the medians into ratios.
//
// `--smoke` (bench/common.hpp): small scenes and a few iterations each, to show that every
// benchmark runs; no timing means anything then.
#include <vmem/vmem.hpp>

#include "common.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <cerrno>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#if !defined(MAP_ANONYMOUS) && defined(MAP_ANON)
#define MAP_ANONYMOUS MAP_ANON
#endif

namespace {

using namespace vmem_bench;

// Workload sizes (what a user asks for), rounded to whole pages or granules where they are used.
constexpr std::size_t reservation_workload = 64 * kib;
constexpr std::size_t range_64k = 64 * kib;
constexpr std::size_t range_2m = 2 * mib;
constexpr std::size_t stall_workload = 1 * gib; // released by thread A in overhead.release_stall

// The scale of the scenes; --smoke makes them small (register_overhead sets it).
struct scale {
    std::size_t runs = 131072;         // committed runs of the fragmented reservation
    std::size_t reservations = 100000; // live reservations of overhead.registry_100k
    std::size_t few_reservations = 10; // its baseline
    std::size_t stall_bytes = stall_workload;
};
scale config;

// --- The system calls, exactly as src/posix/memory.cpp makes them -------------------------------

constexpr int reserve_flags = MAP_PRIVATE | MAP_ANONYMOUS;

void* raw_reserve(std::size_t size) noexcept {
    void* p = mmap(nullptr, size, PROT_NONE, reserve_flags, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
}
bool raw_commit(void* p, std::size_t size) noexcept {
    return mprotect(p, size, PROT_READ | PROT_WRITE) == 0;
}
bool raw_decommit(void* p, std::size_t size) noexcept {
    return mmap(p, size, PROT_NONE, reserve_flags | MAP_FIXED, -1, 0) != MAP_FAILED;
}
bool raw_protect(void* p, std::size_t size, int prot) noexcept {
    return mprotect(p, size, prot) == 0;
}
bool raw_release(void* p, std::size_t size) noexcept {
    return munmap(p, size) == 0;
}

std::size_t max_map_count() {
    std::size_t n = 0;
    if (FILE* f = std::fopen("/proc/sys/vm/max_map_count", "r")) {
        unsigned long v = 0;
        if (std::fscanf(f, "%lu", &v) == 1)
            n = v;
        std::fclose(f);
    } else {
        n = SIZE_MAX; // not Linux: no such limit to check
    }
    return n;
}

// Every other page committed needs about two mappings per run; the rest of the process has a few.
// A scene that this machine cannot hold is not a failure: the message starts with "skipped: ", and
// bench/summary.py reports it as skipped.
std::string mapping_limit_problem(std::size_t runs) {
    const std::size_t need = 2 * runs + 4096;
    const std::size_t have = max_map_count();
    if (have >= need)
        return {};
    return "skipped: needs vm.max_map_count >= " + std::to_string(need) + " (it is " +
           std::to_string(have) + "); scripts/bench raises it when run as root";
}

// One vmem reservation of 2 * runs pages with every even page committed read_write: `runs`
// committed runs, each its own mapping in the kernel too.
struct fragmented_vmem : scene {
    vmem::reservation r;
    std::size_t runs = config.runs;
    fragmented_vmem() {
        problem = mapping_limit_problem(runs);
        if (!problem.empty())
            return;
        std::error_code ec;
        r = vmem::reservation(2 * runs * page(), {}, ec);
        for (std::size_t i = 0; !ec && i < runs; ++i)
            r.commit(at(r.base(), 2 * i * page()), page(), vmem::access::read_write, ec);
        if (ec)
            problem = "setting up " + std::to_string(runs) + " committed runs: " + ec.message();
        else if (r.committed_bytes() != runs * page())
            problem = "committed_bytes() disagrees with the runs committed";
    }
    // A committed page in the middle.
    void* target() const { return at(r.base(), 2 * (runs / 2) * page()); }
};

// The same layout made with the system calls.
struct fragmented_raw : scene {
    void* base = nullptr;
    std::size_t runs = config.runs;
    fragmented_raw() {
        problem = mapping_limit_problem(runs);
        if (!problem.empty())
            return;
        base = raw_reserve(2 * runs * page());
        bool ok = base != nullptr;
        for (std::size_t i = 0; ok && i < runs; ++i)
            ok = raw_commit(at(base, 2 * i * page()), page());
        if (!ok)
            problem = std::string("setting up the raw runs: ") + std::strerror(errno);
    }
    ~fragmented_raw() override {
        if (base != nullptr)
            raw_release(base, 2 * runs * page());
    }
    void* target() const { return at(base, 2 * (runs / 2) * page()); }
};

// `count` live reservations of one granule each, made with the free functions, and a fixed
// pseudo-random sequence of them to work on (the same sequence for every count).
template <bool Many>
struct registry_scene : scene {
    std::vector<void*> bases;
    std::vector<void*> targets; // a power of two long
    registry_scene() {
        const std::size_t count = Many ? config.reservations : config.few_reservations;
        bases.reserve(count);
        std::error_code ec;
        for (std::size_t i = 0; i < count; ++i) {
            void* p = vmem::reserve(vmem::allocation_granularity(), {}, ec);
            if (ec) {
                problem = "reserving " + std::to_string(count) + " reservations: " + ec.message();
                return;
            }
            bases.push_back(p);
        }
        std::uint64_t x = 0x9E3779B97F4A7C15u; // xorshift64
        targets.resize(std::size_t{1} << 16);
        for (void*& t : targets) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            t = bases[x % count];
        }
    }
    ~registry_scene() override {
        std::error_code ec;
        for (void* p : bases)
            vmem::release(p, ec);
    }
};

// --- overhead.reserve_release --------------------------------------------------------------------

std::size_t reservation_bytes() {
    return round_up(reservation_workload, vmem::allocation_granularity());
}

void reserve_release_raw(benchmark::State& state) {
    leave_scene();
    const std::size_t n = reservation_bytes();
    for (auto _ : state) {
        void* p = raw_reserve(n);
        if (!check(state, p != nullptr, "mmap") || !check(state, raw_release(p, n), "munmap"))
            break;
    }
}

void reserve_release_vmem(benchmark::State& state) {
    leave_scene();
    const std::size_t n = reservation_bytes();
    std::error_code ec;
    for (auto _ : state) {
        vmem::reservation r(n, {}, ec);
        if (!check(state, ec, "reservation"))
            break;
        r.release(ec);
        if (!check(state, ec, "reservation::release"))
            break;
    }
}

void reserve_release_free(benchmark::State& state) {
    leave_scene();
    const std::size_t n = reservation_bytes();
    std::error_code ec;
    for (auto _ : state) {
        void* p = vmem::reserve(n, {}, ec);
        if (!check(state, ec, "vmem::reserve"))
            break;
        vmem::release(p, ec);
        if (!check(state, ec, "vmem::release"))
            break;
    }
}

// --- overhead.commit_decommit_64k / _2m ----------------------------------------------------------
//
// An untouched range strictly inside a live reservation (a granule of reserved pages each side),
// committed read_write and decommitted.

std::size_t around(std::size_t range) {
    return round_up(range, vmem::allocation_granularity()) + 2 * vmem::allocation_granularity();
}

template <std::size_t Range>
void commit_decommit_raw(benchmark::State& state) {
    leave_scene();
    const std::size_t n = round_up(Range, page());
    void* base = raw_reserve(around(n));
    if (!check(state, base != nullptr, "mmap"))
        return;
    void* p = at(base, vmem::allocation_granularity());
    for (auto _ : state) {
        if (!check(state, raw_commit(p, n), "mprotect") ||
            !check(state, raw_decommit(p, n), "mmap(MAP_FIXED)"))
            break;
    }
    raw_release(base, around(n));
}

template <std::size_t Range>
void commit_decommit_vmem(benchmark::State& state) {
    leave_scene();
    const std::size_t n = round_up(Range, page());
    std::error_code ec;
    vmem::reservation r(around(n), {}, ec);
    if (!check(state, ec, "reservation"))
        return;
    void* p = at(r.base(), vmem::allocation_granularity());
    for (auto _ : state) {
        r.commit(p, n, vmem::access::read_write, ec);
        if (!check(state, ec, "reservation::commit"))
            break;
        r.decommit(p, n, ec);
        if (!check(state, ec, "reservation::decommit"))
            break;
    }
}

template <std::size_t Range>
void commit_decommit_free(benchmark::State& state) {
    leave_scene();
    const std::size_t n = round_up(Range, page());
    std::error_code ec;
    void* base = vmem::reserve(around(n), {}, ec);
    if (!check(state, ec, "vmem::reserve"))
        return;
    void* p = at(base, vmem::allocation_granularity());
    for (auto _ : state) {
        vmem::commit(p, n, vmem::access::read_write, ec);
        if (!check(state, ec, "vmem::commit"))
            break;
        vmem::decommit(p, n, ec);
        if (!check(state, ec, "vmem::decommit"))
            break;
    }
    vmem::release(base, ec);
}

// --- overhead.protect ---------------------------------------------------------------------------
//
// A committed 64 KiB range inside a live reservation, between read and read_write (one iteration
// is both calls).

void protect_raw(benchmark::State& state) {
    leave_scene();
    const std::size_t n = round_up(range_64k, page());
    void* base = raw_reserve(around(n));
    if (!check(state, base != nullptr, "mmap"))
        return;
    void* p = at(base, vmem::allocation_granularity());
    if (check(state, raw_commit(p, n), "mprotect")) {
        for (auto _ : state) {
            if (!check(state, raw_protect(p, n, PROT_READ), "mprotect") ||
                !check(state, raw_protect(p, n, PROT_READ | PROT_WRITE), "mprotect"))
                break;
        }
    }
    raw_release(base, around(n));
}

void protect_vmem(benchmark::State& state) {
    leave_scene();
    const std::size_t n = round_up(range_64k, page());
    std::error_code ec;
    vmem::reservation r(around(n), {}, ec);
    if (!check(state, ec, "reservation"))
        return;
    void* p = at(r.base(), vmem::allocation_granularity());
    r.commit(p, n, vmem::access::read_write, ec);
    if (!check(state, ec, "reservation::commit"))
        return;
    for (auto _ : state) {
        r.protect(p, n, vmem::access::read, ec);
        if (!check(state, ec, "reservation::protect"))
            break;
        r.protect(p, n, vmem::access::read_write, ec);
        if (!check(state, ec, "reservation::protect"))
            break;
    }
}

void protect_free(benchmark::State& state) {
    leave_scene();
    const std::size_t n = round_up(range_64k, page());
    std::error_code ec;
    void* base = vmem::reserve(around(n), {}, ec);
    if (!check(state, ec, "vmem::reserve"))
        return;
    void* p = at(base, vmem::allocation_granularity());
    vmem::commit(p, n, vmem::access::read_write, ec);
    if (check(state, ec, "vmem::commit")) {
        for (auto _ : state) {
            vmem::protect(p, n, vmem::access::read, ec);
            if (!check(state, ec, "vmem::protect"))
                break;
            vmem::protect(p, n, vmem::access::read_write, ec);
            if (!check(state, ec, "vmem::protect"))
                break;
        }
    }
    vmem::release(base, ec);
}

// overhead.protect.runs_131072: one committed page among 131072 committed runs, the same.

void protect_runs_raw(benchmark::State& state) {
    auto* s = enter_scene<fragmented_raw>(state);
    if (s == nullptr)
        return;
    void* p = s->target();
    state.counters["runs"] = static_cast<double>(s->runs);
    for (auto _ : state) {
        if (!check(state, raw_protect(p, page(), PROT_READ), "mprotect") ||
            !check(state, raw_protect(p, page(), PROT_READ | PROT_WRITE), "mprotect"))
            break;
    }
}

void protect_runs_vmem(benchmark::State& state) {
    auto* s = enter_scene<fragmented_vmem>(state);
    if (s == nullptr)
        return;
    void* p = s->target();
    state.counters["runs"] = static_cast<double>(s->runs);
    std::error_code ec;
    for (auto _ : state) {
        s->r.protect(p, page(), vmem::access::read, ec);
        if (!check(state, ec, "reservation::protect"))
            break;
        s->r.protect(p, page(), vmem::access::read_write, ec);
        if (!check(state, ec, "reservation::protect"))
            break;
    }
}

void protect_runs_free(benchmark::State& state) {
    auto* s = enter_scene<fragmented_vmem>(state);
    if (s == nullptr)
        return;
    void* p = s->target();
    state.counters["runs"] = static_cast<double>(s->runs);
    std::error_code ec;
    for (auto _ : state) {
        vmem::protect(p, page(), vmem::access::read, ec);
        if (!check(state, ec, "vmem::protect"))
            break;
        vmem::protect(p, page(), vmem::access::read_write, ec);
        if (!check(state, ec, "vmem::protect"))
            break;
    }
}

// --- overhead.registry_100k ---------------------------------------------------------------------
//
// A free-function commit + decommit of one page of a pseudo-randomly chosen live reservation:
// with 100 000 of them (`many`) against 10 (`few`, the baseline). `raw.many` / `raw.few` do the
// same system calls on as many plain mappings: how much of any difference is the kernel's.

template <bool Many>
void registry_vmem(benchmark::State& state) {
    auto* s = enter_scene<registry_scene<Many>>(state);
    if (s == nullptr)
        return;
    state.counters["reservations"] = static_cast<double>(s->bases.size());
    const std::size_t mask = s->targets.size() - 1;
    std::size_t i = 0;
    std::error_code ec;
    for (auto _ : state) {
        void* p = s->targets[i++ & mask];
        vmem::commit(p, page(), vmem::access::read_write, ec);
        if (!check(state, ec, "vmem::commit"))
            break;
        vmem::decommit(p, page(), ec);
        if (!check(state, ec, "vmem::decommit"))
            break;
    }
}

template <bool Many>
struct raw_registry_scene : scene {
    std::vector<void*> bases;
    std::vector<void*> targets;
    raw_registry_scene() {
        const std::size_t count = Many ? config.reservations : config.few_reservations;
        bases.reserve(count);
        for (std::size_t i = 0; i < count; ++i) {
            void* p = raw_reserve(vmem::allocation_granularity());
            if (p == nullptr) {
                problem = std::string("mmap: ") + std::strerror(errno);
                return;
            }
            bases.push_back(p);
        }
        std::uint64_t x = 0x9E3779B97F4A7C15u;
        targets.resize(std::size_t{1} << 16);
        for (void*& t : targets) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            t = bases[x % count];
        }
    }
    ~raw_registry_scene() override {
        for (void* p : bases)
            raw_release(p, vmem::allocation_granularity());
    }
};

template <bool Many>
void registry_raw(benchmark::State& state) {
    auto* s = enter_scene<raw_registry_scene<Many>>(state);
    if (s == nullptr)
        return;
    state.counters["reservations"] = static_cast<double>(s->bases.size());
    const std::size_t mask = s->targets.size() - 1;
    std::size_t i = 0;
    for (auto _ : state) {
        void* p = s->targets[i++ & mask];
        if (!check(state, raw_commit(p, page()), "mprotect") ||
            !check(state, raw_decommit(p, page()), "mmap(MAP_FIXED)"))
            break;
    }
}

// --- overhead.committed_bytes -------------------------------------------------------------------
//
// committed_bytes() of a reservation with one committed run (the baseline) and with 131072.

void committed_bytes_one_run(benchmark::State& state) {
    leave_scene();
    std::error_code ec;
    vmem::reservation r(2 * config.runs * page(), {}, ec);
    if (!check(state, ec, "reservation"))
        return;
    r.commit(r.base(), page(), vmem::access::read_write, ec);
    if (!check(state, ec, "reservation::commit"))
        return;
    for (auto _ : state)
        benchmark::DoNotOptimize(r.committed_bytes());
}

void committed_bytes_many_runs(benchmark::State& state) {
    auto* s = enter_scene<fragmented_vmem>(state);
    if (s == nullptr)
        return;
    state.counters["runs"] = static_cast<double>(s->runs);
    for (auto _ : state)
        benchmark::DoNotOptimize(s->r.committed_bytes());
}

// --- overhead.release_stall ---------------------------------------------------------------------
//
// Thread A (the benchmark's thread) releases a large reservation with every other page committed
// and touched (one mapping per run). Thread B meanwhile times its own commit + decommit of one
// page of its own reservation, call after call. Reported per round (one repetition): B's worst
// wait among the calls that overlapped the release (`worst_ns`), B's median call before the
// release began (`idle_median_ns`), and the release itself (the manual time).
//
// A wait is a call's wall-clock time less the time B spent runnable but not running (Linux's
// /proc/thread-self/schedstat run_delay): on a shared machine the scheduler may preempt B for
// milliseconds, which says nothing about vmem. `worst_wall_ns` keeps the wall-clock figure.
//
// `raw`: the system calls on both sides: the kernel's own stall, since munmap holds the address
// space's lock that mprotect and mmap need, whoever calls them. `raw.chunked`: the same, A
// releasing with one munmap per `stall_chunk` (what a release that lets others in between would
// cost B). `vmem`: free functions on both sides. `vmem.lookup`: vmem releases, and B makes a call
// that vmem refuses after looking its reservation up (protect of a reserved page), so with no
// system call: what vmem's own locks make B wait, without the kernel's.

enum class stall_kind { raw, raw_chunked, vmem, vmem_lookup };
constexpr std::size_t stall_chunk = 2 * mib;

// Nanoseconds this thread has spent runnable but waiting for a CPU; 0 where unknown.
class run_delay {
public:
    run_delay() : fd_(open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC)) {}
    ~run_delay() {
        if (fd_ >= 0)
            close(fd_);
    }
    run_delay(const run_delay&) = delete;
    run_delay& operator=(const run_delay&) = delete;
    std::int64_t now() const {
        char text[128];
        if (fd_ < 0)
            return 0;
        const ssize_t n = pread(fd_, text, sizeof text - 1, 0);
        if (n <= 0)
            return 0;
        text[n] = '\0';
        char* rest = nullptr;
        std::strtoull(text, &rest, 10);                                     // time on the CPU
        return static_cast<std::int64_t>(std::strtoull(rest, nullptr, 10)); // time waiting for it
    }

private:
    int fd_;
};

using clock_type = std::chrono::steady_clock;

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               clock_type::now().time_since_epoch())
        .count();
}

struct call_time {
    std::int64_t start;
    std::int64_t end;
    std::int64_t queued; // of which runnable, not running
    std::int64_t wait() const { return std::max<std::int64_t>(0, end - start - queued); }
};

constexpr bool is_raw(stall_kind k) {
    return k == stall_kind::raw || k == stall_kind::raw_chunked;
}

template <stall_kind Kind>
void release_stall(benchmark::State& state) {
    leave_scene();
    const std::size_t bytes = round_up(config.stall_bytes, vmem::allocation_granularity());
    const std::size_t pages = bytes / page();
    const std::string limit = mapping_limit_problem(pages / 2);
    if (!limit.empty()) {
        state.SkipWithError(limit.c_str());
        return;
    }
    std::vector<call_time> calls(std::size_t{1} << 20);
    for (auto _ : state) {
        // A's reservation: every other page committed read_write and written.
        std::error_code ec;
        void* big = is_raw(Kind) ? raw_reserve(bytes) : vmem::reserve(bytes, {}, ec);
        if (!check(state, big != nullptr && !ec, "reserving A's reservation"))
            break;
        bool ok = true;
        for (std::size_t i = 0; ok && i < pages; i += 2) {
            char* p = at(big, i * page());
            if (is_raw(Kind)) {
                ok = raw_commit(p, page());
            } else {
                vmem::commit(p, page(), vmem::access::read_write, ec);
                ok = !ec;
            }
            if (ok)
                *p = 1;
        }
        if (!check(state, ok, "committing A's pages"))
            break;

        // B's reservation.
        const std::size_t mine_bytes = vmem::allocation_granularity();
        void* mine = is_raw(Kind) ? raw_reserve(mine_bytes) : vmem::reserve(mine_bytes, {}, ec);
        if (!check(state, mine != nullptr && !ec, "reserving B's reservation"))
            break;

        std::atomic<std::size_t> done{0};
        std::atomic<bool> stop{false};
        std::atomic<bool> b_failed{false};
        std::thread b([&] {
            std::error_code bec;
            const run_delay delay;
            std::size_t n = 0;
            while (!stop.load(std::memory_order_relaxed) && n < calls.size()) {
                const std::int64_t q0 = delay.now();
                const std::int64_t t0 = now_ns();
                bool good = true;
                if (is_raw(Kind)) {
                    good = raw_commit(mine, page()) && raw_decommit(mine, page());
                } else if (Kind == stall_kind::vmem) {
                    vmem::commit(mine, page(), vmem::access::read_write, bec);
                    good = !bec;
                    if (good) {
                        vmem::decommit(mine, page(), bec);
                        good = !bec;
                    }
                } else {
                    vmem::protect(mine, page(), vmem::access::read, bec);
                    good = bec == vmem::errc::not_committed;
                }
                const std::int64_t t1 = now_ns();
                const std::int64_t q1 = delay.now();
                if (!good) {
                    b_failed = true;
                    break;
                }
                calls[n++] = {t0, t1, q1 - q0};
                done.store(n, std::memory_order_release);
            }
        });
        // Let B settle (its idle median), then release A's reservation under it.
        const std::int64_t settle_until = now_ns() + 20'000'000;
        while (done.load(std::memory_order_acquire) < 1000 && now_ns() < settle_until)
            std::this_thread::yield();
        const std::int64_t release_start = now_ns();
        if (Kind == stall_kind::raw) {
            ok = raw_release(big, bytes);
        } else if (Kind == stall_kind::raw_chunked) {
            for (std::size_t done_bytes = 0; ok && done_bytes < bytes; done_bytes += stall_chunk)
                ok = raw_release(at(big, done_bytes), std::min(stall_chunk, bytes - done_bytes));
        } else {
            vmem::release(big, ec);
            ok = !ec;
        }
        const std::int64_t release_end = now_ns();
        // Let B finish the call it is in, and a few more.
        const std::size_t after = done.load(std::memory_order_acquire);
        const std::int64_t linger_until = now_ns() + 5'000'000;
        while (done.load(std::memory_order_acquire) < after + 100 && now_ns() < linger_until &&
               !b_failed)
            std::this_thread::yield();
        stop = true;
        b.join();
        if (is_raw(Kind))
            raw_release(mine, mine_bytes);
        else
            vmem::release(mine, ec);
        if (!check(state, ok, "releasing A's reservation") ||
            !check(state, !b_failed, "thread B's call failed"))
            break;

        const std::size_t n = done.load(std::memory_order_acquire);
        std::vector<std::int64_t> idle;
        std::int64_t worst = 0;
        std::int64_t worst_wall = 0;
        std::size_t during = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const call_time& c = calls[i];
            if (c.end <= release_start) {
                idle.push_back(c.wait());
            } else if (c.start < release_end) {
                worst = std::max(worst, c.wait());
                worst_wall = std::max(worst_wall, c.end - c.start);
                ++during;
            }
        }
        std::int64_t idle_median = 0;
        if (!idle.empty()) {
            std::nth_element(idle.begin(), idle.begin() + idle.size() / 2, idle.end());
            idle_median = idle[idle.size() / 2];
        }
        state.SetIterationTime(static_cast<double>(release_end - release_start) / 1e9);
        state.counters["worst_ns"] = static_cast<double>(worst);
        state.counters["worst_wall_ns"] = static_cast<double>(worst_wall);
        state.counters["idle_median_ns"] = static_cast<double>(idle_median);
        state.counters["calls_during"] = static_cast<double>(during);
        state.counters["release_ns"] = static_cast<double>(release_end - release_start);
        state.counters["bytes"] = static_cast<double>(bytes);
    }
}

void register_overhead() {
    if (smoke()) {
        config.runs = 512;
        config.reservations = 1000;
        config.stall_bytes = 8 * mib;
    }
    add("overhead.reserve_release/raw", reserve_release_raw);
    add("overhead.reserve_release/vmem", reserve_release_vmem);
    add("overhead.reserve_release/vmem.free", reserve_release_free);

    add("overhead.commit_decommit_64k/raw", commit_decommit_raw<range_64k>);
    add("overhead.commit_decommit_64k/vmem", commit_decommit_vmem<range_64k>);
    add("overhead.commit_decommit_64k/vmem.free", commit_decommit_free<range_64k>);
    add("overhead.commit_decommit_2m/raw", commit_decommit_raw<range_2m>);
    add("overhead.commit_decommit_2m/vmem", commit_decommit_vmem<range_2m>);
    add("overhead.commit_decommit_2m/vmem.free", commit_decommit_free<range_2m>);

    add("overhead.protect/raw", protect_raw);
    add("overhead.protect/vmem", protect_vmem);
    add("overhead.protect/vmem.free", protect_free);
    add("overhead.protect.runs_131072/raw", protect_runs_raw);
    add("overhead.protect.runs_131072/vmem", protect_runs_vmem);
    add("overhead.protect.runs_131072/vmem.free", protect_runs_free);

    add("overhead.registry_100k/few", registry_vmem<false>);
    add("overhead.registry_100k/many", registry_vmem<true>);
    add("overhead.registry_100k/raw.few", registry_raw<false>);
    add("overhead.registry_100k/raw.many", registry_raw<true>);

    add("overhead.committed_bytes/one_run", committed_bytes_one_run);
    add("overhead.committed_bytes/many_runs", committed_bytes_many_runs);

    add("overhead.release_stall/raw", release_stall<stall_kind::raw>, kind::one_round);
    add("overhead.release_stall/raw.chunked", release_stall<stall_kind::raw_chunked>,
        kind::one_round);
    add("overhead.release_stall/vmem", release_stall<stall_kind::vmem>, kind::one_round);
    add("overhead.release_stall/vmem.lookup", release_stall<stall_kind::vmem_lookup>,
        kind::one_round);
}

family overhead{"overhead", register_overhead};

} // namespace
