// What every benchmark file of vmem_bench shares: sizes, failing a benchmark, scenes (costly state
// kept while one benchmark's calls last), registration, and the --smoke flag.
//
// Each file registers its benchmarks with a `vmem_bench::family` object at namespace scope; main
// (bench/main.cpp) registers every family after it has read --smoke, so a family can choose its
// scale from vmem_bench::smoke(). Benchmark names are `<summary name>/<variant>`; bench/summary.py
// turns their medians into the comparisons of build/bench/summary.json.
#ifndef VMEM_BENCH_COMMON_HPP
#define VMEM_BENCH_COMMON_HPP

#include <benchmark/benchmark.h>

#include <cstddef>
#include <memory>
#include <string>
#include <system_error>

namespace vmem_bench {

// Workload sizes (what a user asks for), rounded to whole pages or granules where they are used.
constexpr std::size_t kib = 1024;
constexpr std::size_t mib = 1024 * kib;
constexpr std::size_t gib = 1024 * mib;

// True under --smoke: small scenes and a few iterations, to show that every benchmark runs; no
// timing means anything then.
bool smoke() noexcept;

std::size_t page() noexcept; // vmem::page_size()
inline std::size_t round_up(std::size_t n, std::size_t unit) noexcept {
    return (n + unit - 1) / unit * unit;
}
inline char* at(void* base, std::size_t offset) noexcept {
    return static_cast<char*>(base) + offset;
}

// The calling thread's CPU time (user and system), in nanoseconds.
double thread_cpu_ns() noexcept;
// The number in kB after `field` (with its colon: "VmHWM:") in a /proc file of "Name:  123 kB"
// lines (/proc/self/status, /proc/self/smaps_rollup); -1 where the file or the field is absent.
long long proc_kib(const char* path, const char* field);
// The process's resident memory in bytes (/proc/self/statm); 0 where there is none.
double resident_bytes();

// Marks the run as errored (bench/summary.py counts it as failed), with strerror(errno) or the
// error's message. Returns `ok` / !ec. A message starting "skipped: " (state.SkipWithError) is a
// scene this machine cannot run: reported as skipped, not failed.
bool check(benchmark::State& state, bool ok, const char* what);
bool check(benchmark::State& state, const std::error_code& ec, const char* what);

// --- Scenes
// ---------------------------------------------------------------------------------------
//
// Google Benchmark calls a benchmark function several times per repetition; a scene survives
// between those calls and is torn down as soon as another benchmark runs (every benchmark calls
// enter_scene or leave_scene first), so that one benchmark's state never sits in memory while
// something else is measured.

struct scene {
    virtual ~scene() = default;
    std::string problem; // empty when set up; else why not ("skipped: ..." if the machine can't)
};

extern std::unique_ptr<scene> current_scene;

inline void leave_scene() {
    current_scene.reset();
}

// The current scene if it is a Scene, else a new one (nullptr, with the run errored, if it could
// not be set up).
template <class Scene>
Scene* enter_scene(benchmark::State& state) {
    if (auto* s = dynamic_cast<Scene*>(current_scene.get()))
        return s;
    current_scene.reset();
    auto fresh = std::make_unique<Scene>();
    if (!fresh->problem.empty()) {
        state.SkipWithError(fresh->problem.c_str());
        return nullptr;
    }
    Scene* s = fresh.get();
    current_scene = std::move(fresh);
    return s;
}

// --- Registration -------------------------------------------------------------------------------

// timed: Google Benchmark chooses the iterations (0.1 s a repetition; 3 iterations under --smoke).
// one_round: one iteration a repetition, timed by the benchmark (state.SetIterationTime).
enum class kind { timed, one_round };

benchmark::internal::Benchmark* add(const std::string& name, void (*fn)(benchmark::State&),
                                    kind k = kind::timed);

// `family f{"growth", register_growth};` at namespace scope in a benchmark file: main calls
// register_growth() once the flags are read.
struct family {
    family(const char* name, void (*register_all)());
};
void register_families();

} // namespace vmem_bench

#endif
