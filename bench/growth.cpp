// Growth (issue 12): appending uint64_t to vmem::stable_vector against std::vector, against the
// limit (storing into memory already resident), and the peak resident memory each needs.
//
//   growth.vs_std_vector/<std_vector|stable_vector>       256 M elements
//   growth.vs_std_vector_64m/<std_vector|stable_vector>   64 M elements
//   growth.vs_limit/limit                                 256 M stores into resident memory
//   (these five: 5 repetitions, whatever --benchmark_repetitions says: seconds each)
//   growth.peak_rss/<std_vector|stable_vector>            2^24 + 2^20 elements: peak RSS / data
//   growth.series/<variant>/<count>                       every variant at 1 M ... 256 M (+ 1/16),
//   once
//
// One iteration (kind::one_round, manual time) constructs the container, appends N elements with
// push_back and destroys it: the time includes construction and destruction (the munmap of the
// pages), the counters say how much of it each part took. stable_vector's maximum is 2 N.
// Counters, per element: cpu_ns (the benchmark thread's CPU time, user and system: page faults,
// commits and the zeroing of pages run on this thread; the summary uses it, since the machine is
// shared), ns (wall-clock; the manual time), and fill_cpu_ns / fill_ns without the destruction.
// peak_over_data is the peak resident memory of the run (VmHWM, reset before it through
// /proc/self/clear_refs, less the resident memory before it) over N * 8 bytes; huge_bytes the
// transparent huge pages the run held at its end (AnonHugePages of /proc/self/smaps_rollup, less
// before), huge_fraction that over the data.
//
// growth.vs_limit/limit stores the same N values into an array reserved, committed, populated and
// written once before the clock starts (huge pages where the OS gives them): no fault, no growth,
// no system call: what the machine can do. Its fill_cpu_ns is compared with stable_vector's
// (construct and append; neither counts the release).
//
// Linux only in what it reads (/proc); elsewhere the counters that need /proc are left out.
#include <vmem/vmem.hpp>

#include "common.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace {

using namespace vmem_bench;
using element = std::uint64_t;

constexpr std::size_t million = std::size_t(1) << 20; // "M" elements: 2^20

// The scale; --smoke makes it small (register_growth sets it).
struct scale {
    std::size_t big = 256 * million;
    std::size_t mid = 64 * million;
    std::size_t peak = 16 * million + million; // just past a power of two
    // Each just past a power of two (+ 1/16), where std::vector's doubling shows in its peak.
    std::vector<std::size_t> series{17 * million / 16, 17 * million / 4, 17 * million, 68 * million,
                                    272 * million};
};
scale config;

// Workload commit steps of the series (sizes a user would pick).
constexpr std::size_t step_64k = 64 * kib;
constexpr std::size_t step_16m = 16 * mib;

// --- What /proc says
// ------------------------------------------------------------------------------

// Resets VmHWM to the current RSS (Linux 4.0+: "5" to /proc/self/clear_refs).
bool reset_peak() {
    FILE* f = std::fopen("/proc/self/clear_refs", "w");
    if (f == nullptr)
        return false;
    const bool ok = std::fputs("5", f) >= 0;
    return std::fclose(f) == 0 && ok;
}

// Wall-clock and thread CPU time of the parts of an iteration between start() and stop().
class stopwatch {
public:
    void start() {
        wall0_ = std::chrono::steady_clock::now();
        cpu0_ = thread_cpu_ns();
    }
    void stop() {
        cpu_ += thread_cpu_ns() - cpu0_;
        wall_ += std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - wall0_)
                     .count();
    }
    double wall_ns() const { return wall_; }
    double cpu_ns() const { return cpu_; }

private:
    std::chrono::steady_clock::time_point wall0_;
    double cpu0_ = 0;
    double wall_ = 0;
    double cpu_ = 0;
};

// Resident memory before a run and its peak, and the huge pages it held at its end.
class memory_watch {
public:
    // Resets the peak; false (and nothing measured) where the OS refuses it.
    bool start() {
        rss0_ = proc_kib("/proc/self/status", "VmRSS:");
        huge0_ = proc_kib("/proc/self/smaps_rollup", "AnonHugePages:");
        peak_ok_ = rss0_ >= 0 && reset_peak();
        return peak_ok_;
    }
    // At the run's end, the container still alive.
    void stop(benchmark::State& state, std::size_t data_bytes) {
        const long long hwm = proc_kib("/proc/self/status", "VmHWM:");
        const long long huge = proc_kib("/proc/self/smaps_rollup", "AnonHugePages:");
        if (peak_ok_ && hwm >= 0)
            state.counters["peak_over_data"] =
                double(hwm - rss0_) * double(kib) / double(data_bytes);
        if (huge0_ >= 0 && huge >= 0) {
            const double bytes = double(huge - huge0_) * double(kib);
            state.counters["huge_bytes"] = bytes;
            state.counters["huge_fraction"] = bytes / double(data_bytes);
        }
    }

private:
    long long rss0_ = -1;
    long long huge0_ = -1;
    bool peak_ok_ = false;
};

void report_times(benchmark::State& state, const stopwatch& fill, const stopwatch& total,
                  std::size_t n) {
    state.SetIterationTime(total.wall_ns() / 1e9);
    state.counters["ns"] = total.wall_ns() / double(n);
    state.counters["cpu_ns"] = total.cpu_ns() / double(n);
    state.counters["fill_ns"] = fill.wall_ns() / double(n);
    state.counters["fill_cpu_ns"] = fill.cpu_ns() / double(n);
    state.counters["elements"] = double(n);
}

// --- The variants
// ---------------------------------------------------------------------------------

enum class container { std_vector, std_vector_reserve, stable_vector };

struct variant {
    const char* name;
    container c;
    vmem::stable_vector_options options;
};

vmem::stable_vector_options options(std::size_t step, bool prefault, bool huge) {
    vmem::stable_vector_options o;
    o.commit_step = step;
    o.prefault = prefault;
    if (huge)
        o.huge = vmem::huge_pages::prefer;
    return o;
}

// Index 0-2 are the containers as users take them; the rest stable_vector with the options named
// and the others off (plain: the default step, no prefault, no huge pages; step 0 is the default
// step, stable_vector<element>::default_commit_step).
const variant variants[] = {
    {"std_vector", container::std_vector, {}},
    {"std_vector_reserve", container::std_vector_reserve, {}},
    {"stable_vector", container::stable_vector, {}},
    {"stable_vector.step_64k", container::stable_vector, options(step_64k, false, false)},
    {"stable_vector.step_16m", container::stable_vector, options(step_16m, false, false)},
    {"stable_vector.plain", container::stable_vector, options(0, false, false)},
    {"stable_vector.prefault", container::stable_vector, options(0, true, false)},
    {"stable_vector.huge", container::stable_vector, options(0, false, true)},
    {"stable_vector.prefault_huge", container::stable_vector, options(0, true, true)},
};
constexpr int n_variants = int(sizeof variants / sizeof variants[0]);

// One iteration: construct, append n elements, (measure), destroy. The heap's free memory goes
// back to the OS first (glibc's malloc_trim), as in arena.cpp: otherwise std::vector's smaller
// buffers come from chunks another benchmark freed, resident already, and neither their faults
// nor their share of the peak would be counted (under --smoke its peak_over_data read 0).
void run(benchmark::State& state, const variant& v, std::size_t n) {
    leave_scene();
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
    memory_watch memory;
    stopwatch fill, total;
    const bool peak = memory.start();
    (void)peak;
    if (v.c != container::stable_vector) {
        fill.start();
        std::optional<std::vector<element>> vec(std::in_place);
        if (v.c == container::std_vector_reserve)
            vec->reserve(n);
        for (std::size_t i = 0; i < n; ++i)
            vec->push_back(i);
        benchmark::DoNotOptimize(vec->data());
        benchmark::ClobberMemory();
        fill.stop();
        memory.stop(state, n * sizeof(element));
        total = fill;
        total.start();
        vec.reset();
        total.stop();
    } else {
        std::error_code ec;
        fill.start();
        std::optional<vmem::stable_vector<element>> vec(std::in_place, 2 * n, v.options, ec);
        if (!check(state, ec, "stable_vector"))
            return;
        for (std::size_t i = 0; i < n; ++i)
            vec->push_back(i);
        benchmark::DoNotOptimize(vec->data());
        benchmark::ClobberMemory();
        fill.stop();
        memory.stop(state, n * sizeof(element));
        std::error_code hec;
        const vmem::huge_page_report report = vec->reservation().huge_page_status(hec);
        if (!hec)
            state.counters["huge_page_size"] = double(report.page_size);
        state.counters["commit_step"] = double(vec->commit_step());
        total = fill;
        total.start();
        vec.reset();
        total.stop();
    }
    report_times(state, fill, total, n);
}

// Storing n values into memory already resident: the limit.
// The limit: the same appends into a stable_vector whose pages are already committed and faulted
// in (resize(n) wrote them, clear() kept them), on huge pages where the kernel has them: what
// push_back costs with no fault and no growth.
void run_limit(benchmark::State& state, std::size_t n) {
    leave_scene();
    vmem::stable_vector_options o;
    o.huge = vmem::huge_pages::prefer;
    std::optional<vmem::stable_vector<element>> vec;
    try {
        vec.emplace(2 * n, o);
        vec->resize(n); // committed and written: resident
        vec->clear();
    } catch (const std::exception& e) {
        state.SkipWithError((std::string("setting up the resident vector: ") + e.what()).c_str());
        return;
    }
    benchmark::ClobberMemory();
    stopwatch fill;
    fill.start();
    for (std::size_t i = 0; i < n; ++i)
        vec->push_back(i);
    benchmark::DoNotOptimize(vec->data());
    benchmark::ClobberMemory();
    fill.stop();
    std::error_code hec;
    const vmem::huge_page_report report = vec->reservation().huge_page_status(hec);
    if (!hec) {
        state.counters["huge_bytes"] = double(report.huge_bytes);
        state.counters["huge_fraction"] = double(report.huge_bytes) / double(n * sizeof(element));
    }
    report_times(state, fill, fill, n);
}

enum class size_of_run { big, mid, peak };

std::size_t elements(size_of_run s) {
    return s == size_of_run::big ? config.big : s == size_of_run::mid ? config.mid : config.peak;
}

template <int V, size_of_run S>
void fixed(benchmark::State& state) {
    for (auto _ : state)
        run(state, variants[V], elements(S));
}

template <size_of_run S>
void limit(benchmark::State& state) {
    for (auto _ : state)
        run_limit(state, elements(S));
}

template <int V>
void series(benchmark::State& state) {
    for (auto _ : state)
        run(state, variants[V], static_cast<std::size_t>(state.range(0)));
}

template <int V>
void add_series() {
    auto* b = add(std::string("growth.series/") + variants[V].name, series<V>, kind::one_round);
    for (std::size_t count : config.series)
        b->Arg(static_cast<std::int64_t>(count));
    b->Repetitions(1);
    if constexpr (V + 1 < n_variants)
        add_series<V + 1>();
}

// The peak-RSS pair needs the peak reset; where the OS refuses it, they are skipped.
template <int V>
void peak_rss(benchmark::State& state) {
    if (!reset_peak()) {
        state.SkipWithError("skipped: /proc/self/clear_refs refused resetting the peak RSS");
        return;
    }
    for (auto _ : state) {
        run(state, variants[V], elements(size_of_run::peak));
        if (!state.counters.count("peak_over_data")) {
            state.SkipWithError("skipped: no VmHWM in /proc/self/status");
            break;
        }
    }
}

constexpr int std_vector = 0;
constexpr int stable_vector = 2;
constexpr int stable_vector_huge = 7; // "stable_vector.huge"

void register_growth() {
    if (smoke()) {
        config.big = million;
        config.mid = million / 4;
        config.peak = million / 16 + million / 256;
        config.series = {17 * million / 1024, 17 * million / 256};
    }
    // The 256 M runs take seconds each (std::vector about 13 s here): 5 repetitions.
    const int big_reps = smoke() ? 1 : 5;
    auto reps = [&](benchmark::internal::Benchmark* b, int n) {
        if (smoke())
            n = 1;
        if (n > 0)
            b->Repetitions(n);
    };
    reps(add("growth.vs_std_vector/std_vector", fixed<std_vector, size_of_run::big>,
             kind::one_round),
         big_reps);
    reps(add("growth.vs_std_vector/stable_vector", fixed<stable_vector, size_of_run::big>,
             kind::one_round),
         big_reps);
    // The option that reaches the goals where the kernel has huge pages at hand (not the default:
    // see stable_vector_options).
    reps(add("growth.vs_std_vector/stable_vector.huge", fixed<stable_vector_huge, size_of_run::big>,
             kind::one_round),
         big_reps);
    reps(add("growth.vs_std_vector_64m/std_vector", fixed<std_vector, size_of_run::mid>,
             kind::one_round),
         big_reps);
    reps(add("growth.vs_std_vector_64m/stable_vector", fixed<stable_vector, size_of_run::mid>,
             kind::one_round),
         big_reps);
    reps(add("growth.vs_limit/limit", limit<size_of_run::big>, kind::one_round), big_reps);
    reps(add("growth.peak_rss/std_vector", peak_rss<std_vector>, kind::one_round), 0);
    reps(add("growth.peak_rss/stable_vector", peak_rss<stable_vector>, kind::one_round), 0);
    add_series<0>();
}

family growth{"growth", register_growth};

} // namespace
