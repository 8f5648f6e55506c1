// vmem::arena beside what users pick instead (issue 12, comparisons 4 and 5), with Google
// Benchmark. vmem is used through its public API; the baselines are malloc / free and
// std::pmr::monotonic_buffer_resource.
//
// arena.small_alloc/<variant>: 10 M allocations of 32 bytes (100 k under --smoke), one store into
// each, then everything freed the way each allocator's user frees everything. One iteration (a
// round) is all of that, timed; each benchmark runs one round untimed first, so every allocator is
// timed in its steady state: what it keeps stays resident, what it gives back is faulted in again
// in every round, as in a program that repeats the work.
//   malloc            malloc each, keeping the pointers (a user of malloc must, to free them),
//                     then free each. glibc keeps the freed chunks, so malloc works on resident
//                     memory from the second round on.
//   arena             one arena with the default options, reused: allocate (the inline noexcept
//                     form), then reset(), which decommits what lies past keep_committed: the
//                     rest of the 320 MiB is faulted in again in the next round.
//   arena.keep_all    keep_committed = the capacity: reset() decommits nothing and every round
//                     works on resident memory, as malloc's does (the allocation path alone).
//   arena.throwing    arena.keep_all through the throwing allocate(size, alignment) (inline too,
//                     with only the throw out of line): what arena_resource and pmr containers pay.
//   monotonic         a std::pmr::monotonic_buffer_resource, default-constructed (upstream: the
//                     new/delete resource) at the start of each round and destroyed (released)
//                     at its end: its big blocks go back to the OS and are faulted in again.
//   monotonic.buffer  the same over one resident buffer that holds the whole round (its initial
//                     buffer): the counterpart of arena.keep_all.
// Alignment: alignof(std::max_align_t) everywhere (malloc's own). After each malloc or monotonic
// benchmark the heap is trimmed (malloc_trim), so no benchmark gets another's freed memory.
//
// arena.reset_cycle/<variant>: one iteration is a frame that allocates 64 MiB (4 MiB under
// --smoke) in pieces of 64 KiB..1 MiB (a fixed pseudo-random sequence), writes one byte in every
// page of each piece (the writes that fault memory in; writing the frame's data itself costs the
// same whatever holds it) and frees it all. One frame runs untimed first.
//   never_give_back    one 64 MiB buffer, malloc'd and touched before the frames, carved by a bump
//                      pointer each frame and never given back (the limit, at 64 MiB resident).
//   malloc_each_frame  malloc(64 MiB), carved, touched, free() (glibc maps and unmaps it).
//   arena              an arena with the default options: allocate each piece, reset().
//   arena.keep_0, arena.keep_16m, arena.keep_64m
//                      keep_committed 0, 16 MiB, 64 MiB (default commit step, no prefault).
//   arena.prefault     keep_committed 0, each commit step populated (arena_options::prefault).
//   arena.step_64k, arena.step_4m
//                      keep_committed 0, commit steps of 64 KiB and 4 MiB (beside the 1 MiB default
//                      of arena.keep_0).
//   arena.huge         keep_committed 0, huge_pages::prefer (counter huge_bytes: what it got).
// Counter resident_between_frames: the process's resident memory after the last frame less before
// the variant set anything up (/proc/self/statm), in bytes: what the pattern holds between frames.
#include <vmem/vmem.hpp>

#include "common.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory_resource>
#include <string>
#include <system_error>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace {

using namespace vmem_bench;

// Workload sizes.
constexpr std::size_t small_size = 32;
constexpr std::size_t small_count = 10 * 1000 * 1000;
constexpr std::size_t small_count_smoke = 100 * 1000;
constexpr std::size_t frame_bytes = 64 * mib;
constexpr std::size_t frame_bytes_smoke = 4 * mib;
constexpr std::size_t piece_min = 64 * kib;
constexpr std::size_t piece_max = 1 * mib;
constexpr std::size_t align = alignof(std::max_align_t);

struct scale {
    std::size_t count = small_count;
    std::size_t frame = frame_bytes;
};
scale config;

// Gives the heap's free memory back to the OS (glibc's malloc_trim), so that what one benchmark
// freed is not what the next one's malloc gets: malloc(64 MiB) in arena.reset_cycle would be
// carved from the 320 MiB that arena.small_alloc/malloc freed, resident already.
// Every benchmark here starts with it (and with no scene).
void fresh_start() {
    leave_scene();
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

// --- arena.small_alloc ---------------------------------------------------------------------------

std::size_t small_capacity() {
    return round_up(config.count * small_size + mib, page());
}

// Each runs one round untimed first: every allocator is measured in its steady state (malloc's
// heap and a kept arena hold their memory already; what the others give back is faulted in again
// in every timed round, as it would be in a program that repeats the work).

void small_malloc(benchmark::State& state) {
    fresh_start();
    const std::size_t n = config.count;
    std::vector<void*> pointers(n, nullptr);
    auto round = [&] {
        for (std::size_t i = 0; i < n; ++i) {
            void* p = std::malloc(small_size);
            if (p == nullptr)
                break;
            *static_cast<std::uint64_t*>(p) = i;
            benchmark::DoNotOptimize(p);
            pointers[i] = p;
        }
        bool ok = true;
        for (void*& p : pointers) {
            ok = ok && p != nullptr;
            std::free(p);
            p = nullptr;
        }
        return check(state, ok, "malloc");
    };
    if (!round())
        return;
    for (auto _ : state) {
        if (!round())
            break;
    }
    fresh_start();
}

template <bool Throwing, bool KeepAll>
void small_arena(benchmark::State& state) {
    fresh_start();
    const std::size_t n = config.count;
    vmem::arena_options o;
    if (KeepAll)
        o.keep_committed = small_capacity();
    std::error_code ec;
    vmem::arena a(small_capacity(), o, ec);
    if (!check(state, ec, "arena"))
        return;
    auto round = [&] {
        for (std::size_t i = 0; i < n; ++i) {
            void* p;
            if (Throwing) {
                p = a.allocate(small_size, align);
            } else {
                p = a.allocate(small_size, align, ec);
                if (p == nullptr)
                    break;
            }
            *static_cast<std::uint64_t*>(p) = i;
            benchmark::DoNotOptimize(p);
        }
        if (!check(state, ec, "arena::allocate"))
            return false;
        a.reset(ec);
        return check(state, ec, "arena::reset");
    };
    if (!round())
        return;
    for (auto _ : state) {
        if (!round())
            break;
    }
    state.counters["committed_after_reset"] = static_cast<double>(a.committed());
}

// A monotonic resource over one resident buffer that holds the whole round (its initial buffer):
// release() goes back to the start of it, as arena.keep_all's reset() does.
void small_monotonic_buffer(benchmark::State& state) {
    fresh_start();
    const std::size_t n = config.count;
    const std::size_t bytes = small_capacity();
    void* buffer = std::malloc(bytes);
    if (!check(state, buffer != nullptr, "malloc"))
        return;
    auto round = [&] {
        std::pmr::monotonic_buffer_resource mono(buffer, bytes);
        for (std::size_t i = 0; i < n; ++i) {
            void* p = mono.allocate(small_size, align);
            *static_cast<std::uint64_t*>(p) = i;
            benchmark::DoNotOptimize(p);
        }
    };
    round();
    for (auto _ : state)
        round();
    std::free(buffer);
    fresh_start();
}

void small_monotonic(benchmark::State& state) {
    fresh_start();
    const std::size_t n = config.count;
    auto round = [&] {
        std::pmr::monotonic_buffer_resource mono;
        for (std::size_t i = 0; i < n; ++i) {
            void* p = mono.allocate(small_size, align);
            *static_cast<std::uint64_t*>(p) = i;
            benchmark::DoNotOptimize(p);
        }
    };
    round();
    for (auto _ : state)
        round();
    fresh_start();
}

// --- arena.reset_cycle ---------------------------------------------------------------------------

// The sizes of one frame's pieces: 64 KiB..1 MiB, pseudo-random, the same for every variant and
// frame, adding up to the frame exactly.
const std::vector<std::size_t>& pieces() {
    static const std::vector<std::size_t> sizes = [] {
        std::vector<std::size_t> v;
        std::uint64_t x = 0x9E3779B97F4A7C15u; // xorshift64
        std::size_t total = 0;
        while (total < config.frame) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            std::size_t s = piece_min + static_cast<std::size_t>(x % (piece_max - piece_min + 1));
            if (s > config.frame - total)
                s = config.frame - total;
            v.push_back(s);
            total += s;
        }
        return v;
    }();
    return sizes;
}

// One store in every page a piece covers.
inline void touch(void* p, std::size_t size) {
    volatile unsigned char* b = static_cast<unsigned char*>(p);
    const std::size_t step = page();
    for (std::size_t off = 0; off < size; off += step)
        b[off] = 1;
    b[size - 1] = 1;
}

// A frame carved from a buffer of at least the frame's size plus the padding, by a bump pointer.
inline void carve_frame(unsigned char* buffer) {
    std::size_t top = 0;
    for (std::size_t s : pieces()) {
        top = round_up(top, align);
        touch(buffer + top, s);
        top += s;
    }
}

std::size_t frame_buffer_bytes() {
    return config.frame + pieces().size() * align;
}

void cycle_never_give_back(benchmark::State& state) {
    fresh_start();
    const double before = resident_bytes();
    auto* buffer = static_cast<unsigned char*>(std::malloc(frame_buffer_bytes()));
    if (!check(state, buffer != nullptr, "malloc"))
        return;
    for (std::size_t off = 0; off < frame_buffer_bytes(); off += page())
        buffer[off] = 0; // resident before the first frame
    for (auto _ : state) {
        carve_frame(buffer);
        benchmark::ClobberMemory();
    }
    state.counters["resident_between_frames"] = resident_bytes() - before;
    std::free(buffer);
}

void cycle_malloc_each_frame(benchmark::State& state) {
    fresh_start();
    const double before = resident_bytes();
    auto frame = [&] {
        auto* buffer = static_cast<unsigned char*>(std::malloc(frame_buffer_bytes()));
        if (!check(state, buffer != nullptr, "malloc"))
            return false;
        carve_frame(buffer);
        benchmark::ClobberMemory();
        std::free(buffer);
        return true;
    };
    if (!frame())
        return;
    for (auto _ : state) {
        if (!frame())
            return;
    }
    state.counters["resident_between_frames"] = resident_bytes() - before;
}

struct cycle_options {
    std::size_t keep = 0;
    std::size_t step = 0; // 0: the default
    bool prefault = false;
    bool huge = false;
    bool defaults = false; // arena_options{} as it is, whatever its defaults are
};

template <const cycle_options& C>
void cycle_arena(benchmark::State& state) {
    fresh_start();
    const double before = resident_bytes();
    vmem::arena_options o;
    if (!C.defaults) {
        o.keep_committed = C.keep;
        o.commit_step = C.step;
        o.prefault = C.prefault;
        if (C.huge)
            o.huge = vmem::huge_pages::prefer;
    }
    std::error_code ec;
    vmem::arena a(2 * config.frame, o, ec);
    if (!check(state, ec, "arena"))
        return;
    auto frame = [&](bool report_huge) {
        for (std::size_t s : pieces()) {
            void* p = a.allocate(s, align, ec);
            if (p == nullptr)
                break;
            touch(p, s);
        }
        if (!check(state, ec, "arena::allocate"))
            return false;
        benchmark::ClobberMemory();
        if (report_huge) // untimed: reads /proc/self/smaps
            state.counters["huge_bytes"] =
                static_cast<double>(a.reservation().huge_page_status(ec).huge_bytes);
        a.reset(ec);
        return check(state, ec, "arena::reset");
    };
    if (!frame(false)) // untimed, as every variant's first frame
        return;
    for (auto _ : state) {
        if (!frame(false))
            return;
    }
    if (C.huge && !frame(true)) // one more frame, untimed, to see what it got
        return;
    state.counters["resident_between_frames"] = resident_bytes() - before;
    state.counters["keep_committed"] = static_cast<double>(a.keep_committed());
    state.counters["commit_step"] = static_cast<double>(a.commit_step());
}

constexpr cycle_options defaults{0, 0, false, false, true};
constexpr cycle_options keep_0{};
constexpr cycle_options keep_16m{16 * mib};
constexpr cycle_options keep_64m{64 * mib};
constexpr cycle_options prefault{0, 0, true};
constexpr cycle_options step_64k{0, 64 * kib};
constexpr cycle_options step_4m{0, 4 * mib};
constexpr cycle_options huge{0, 0, false, true};

void register_arena() {
    if (smoke()) {
        config.count = small_count_smoke;
        config.frame = frame_bytes_smoke;
    }
    add("arena.small_alloc/malloc", small_malloc);
    add("arena.small_alloc/arena", small_arena<false, false>);
    add("arena.small_alloc/arena.keep_all", small_arena<false, true>);
    add("arena.small_alloc/arena.throwing", small_arena<true, true>);
    add("arena.small_alloc/monotonic", small_monotonic);
    add("arena.small_alloc/monotonic.buffer", small_monotonic_buffer);

    add("arena.reset_cycle/never_give_back", cycle_never_give_back);
    add("arena.reset_cycle/malloc_each_frame", cycle_malloc_each_frame);
    add("arena.reset_cycle/arena", cycle_arena<defaults>);
    add("arena.reset_cycle/arena.keep_0", cycle_arena<keep_0>);
    add("arena.reset_cycle/arena.keep_16m", cycle_arena<keep_16m>);
    add("arena.reset_cycle/arena.keep_64m", cycle_arena<keep_64m>);
    add("arena.reset_cycle/arena.prefault", cycle_arena<prefault>);
    add("arena.reset_cycle/arena.step_64k", cycle_arena<step_64k>);
    add("arena.reset_cycle/arena.step_4m", cycle_arena<step_4m>);
    add("arena.reset_cycle/arena.huge", cycle_arena<huge>);
}

family f{"arena", register_arena};

} // namespace
