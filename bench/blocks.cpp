// Two of the building blocks against what users write instead (issue 12, items 8 and 9). POSIX
// only, like the rest of vmem_bench. vmem is used through its public API only.
//
// ring.wrap/<variant>/<size>: one producer thread and one consumer thread move 1 GiB of records
// through a ring of ring_capacity bytes (rounded up to the allocation granularity; smoke: 16 MiB).
// A record is an 8-byte sequence number followed by `size` bytes of payload whose last 8 bytes
// repeat the sequence number: a ring's capacity is a whole number of pages, so a record of a
// power-of-two size alone would divide it and never cross the end; size + 8 does not divide it,
// so about one record a lap crosses the end (a wrap: 2048 per GiB with 512 KiB). The producer
// memcpys each record into the ring and the consumer memcpys it out into a buffer of its own and
// checks its sequence number at both ends and a word of payload in the middle (so nothing is
// optimised away, and a wrapped record's two halves are both seen).
// - `vmem`: vmem::ring_buffer. The producer copies into write_span() and commits; the consumer
//   copies out of read_span() and consumes: one memcpy each way, wrapped or not (the double
//   mapping makes the span contiguous).
// - `split`: the same head/tail protocol (64-bit counters on their own cache lines, release and
//   acquire), written by hand over a plain buffer of the same capacity: a record that crosses the
//   end is copied in two memcpy calls each way.
// Time: wall clock for the whole run (manual time). Counters: `wraps` (records that crossed the
// end), `copies_per_record` (memcpy calls in and out per record: 2 for vmem, 2 + 2 * wraps /
// records for split), `records`, and `cpu_ns`: the CPU time of both threads together, waiting
// included (less sensitive than the wall clock to a loaded machine's scheduling).
//
// guard.stacks/<variant>: 10 000 stacks of 64 KiB with a one-page guard below (smoke: 100) are
// created, all kept alive, then destroyed. The time per stack (create + destroy; the /proc reads
// between them are not timed) is the manual time. Counters, taken while all are alive:
// `mappings` (the kernel mappings in /proc/self/maps that hold a byte of a stack or a guard),
// `mappings_per_stack`, `maps_delta` (lines of /proc/self/maps less those before: can be off
// either way, as a new mapping may merge with a neighbour that was there before), `vm_size`
// (VmSize of /proc/self/status less before, in bytes), `stacks`.
// - `vmem`: vmem::guarded_stack with its default options: guards as vmem makes them, mapping-free
//   where capabilities::guard_pages_free (Linux 6.13+ MADV_GUARD_INSTALL; counter
//   `guard_pages_free`), else PROT_NONE remaps.
// - `prot_none`: by hand, what users write: mmap the stack and its guard read-write, mprotect the
//   guard PROT_NONE (a mapping of its own); munmap.
// - `madv_guard`: by hand, the mapping-free guard alone: mmap read-write, madvise the guard
//   MADV_GUARD_INSTALL; munmap (skipped where the kernel has no guard markers). What vmem's own
//   bookkeeping and calls add to it.
// vmem has no switch to force PROT_NONE guards where markers exist, so there is no such variant.
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
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <cerrno>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#if !defined(MAP_ANONYMOUS) && defined(MAP_ANON)
#define MAP_ANONYMOUS MAP_ANON
#endif
// Linux 6.13 (include/uapi/asm-generic/mman-common.h); older C library headers lack it.
#if defined(__linux__) && !defined(MADV_GUARD_INSTALL)
#define MADV_GUARD_INSTALL 102
#endif

namespace {

using namespace vmem_bench;
using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// --- ring.wrap ----------------------------------------------------------------------------------

constexpr std::size_t ring_workload = 1 * gib;        // payload bytes moved per run
constexpr std::size_t ring_smoke_workload = 16 * mib; // under --smoke
// Rounded up to the allocation granularity. Half the L2 cache of a core here; 7 records of 64 KiB,
// so the producer can run ahead of the consumer: with 256 KiB (3 such records) both rings took
// several times longer at 64 KiB than at 16 KiB in a trial here.
constexpr std::size_t ring_capacity = 512 * kib;
constexpr std::size_t sequence_bytes = sizeof(std::uint64_t);

std::size_t ring_bytes() {
    return round_up(ring_capacity, vmem::allocation_granularity());
}

// What one side of a run did.
struct ring_counts {
    std::size_t copies = 0; // memcpy calls into or out of the ring
    std::size_t wraps = 0;  // records that crossed the end of the buffer
    bool failed = false;    // commit or consume refused (never expected)
};

// Spins briefly, then gives the core away: the machine may have fewer free cores than threads.
void back_off(unsigned& spins) {
    if (++spins > 16)
        std::this_thread::yield();
}

// vmem::ring_buffer, used as its header says.
class vmem_ring {
public:
    static constexpr const char* name = "vmem::ring_buffer";
    explicit vmem_ring(std::error_code& ec) : ring_(ring_bytes(), ec) {}
    std::size_t capacity() const { return ring_.capacity(); }
    // Touches every page of both views, as the split ring's buffer is touched: no first-touch
    // fault is timed.
    void warm() { std::memset(ring_.memory().data(), 0, 2 * ring_.capacity()); }

    // Producer: false when the record does not fit yet.
    bool put(const unsigned char* record, std::size_t n, ring_counts& c) {
        const vmem::byte_span<unsigned char> free = ring_.write_span();
        if (free.size() < n)
            return false;
        std::memcpy(free.data(), record, n); // one contiguous span, wrapped or not
        ++c.copies;
        if (free.data() + n > ring_.memory().data() + ring_.capacity())
            ++c.wraps;
        std::error_code ec;
        ring_.commit(n, ec);
        c.failed |= static_cast<bool>(ec);
        return true;
    }
    // Consumer: false when no whole record is there yet.
    bool get(unsigned char* out, std::size_t n, ring_counts& c) {
        const vmem::byte_span<const unsigned char> ready = ring_.read_span();
        if (ready.size() < n)
            return false;
        std::memcpy(out, ready.data(), n);
        ++c.copies;
        if (ready.data() + n > ring_.memory().data() + ring_.capacity())
            ++c.wraps;
        std::error_code ec;
        ring_.consume(n, ec);
        c.failed |= static_cast<bool>(ec);
        return true;
    }

private:
    vmem::ring_buffer ring_;
};

// The hand-written SPSC ring: ring_buffer's protocol over a plain buffer, a wrapped record split
// into two memcpy calls.
class split_ring {
public:
    static constexpr const char* name = "split ring buffer";
    explicit split_ring(std::error_code& ec)
        : capacity_(ring_bytes()),
          data_(static_cast<unsigned char*>(std::aligned_alloc(page(), capacity_))) {
        if (data_ == nullptr)
            ec = std::make_error_code(std::errc::not_enough_memory);
    }
    ~split_ring() { std::free(data_); }
    split_ring(const split_ring&) = delete;
    split_ring& operator=(const split_ring&) = delete;
    std::size_t capacity() const { return capacity_; }
    void warm() { std::memset(data_, 0, capacity_); }

    bool put(const unsigned char* record, std::size_t n, ring_counts& c) {
        const std::uint64_t head = head_.value.load(std::memory_order_relaxed);
        const std::uint64_t tail = tail_.value.load(std::memory_order_acquire);
        if (capacity_ - static_cast<std::size_t>(head - tail) < n)
            return false;
        const auto at = static_cast<std::size_t>(head % capacity_);
        const std::size_t first = n < capacity_ - at ? n : capacity_ - at;
        std::memcpy(data_ + at, record, first);
        ++c.copies;
        if (first < n) {
            std::memcpy(data_, record + first, n - first);
            ++c.copies;
            ++c.wraps;
        }
        head_.value.store(head + n, std::memory_order_release);
        return true;
    }
    bool get(unsigned char* out, std::size_t n, ring_counts& c) {
        const std::uint64_t tail = tail_.value.load(std::memory_order_relaxed);
        const std::uint64_t head = head_.value.load(std::memory_order_acquire);
        if (static_cast<std::size_t>(head - tail) < n)
            return false;
        const auto at = static_cast<std::size_t>(tail % capacity_);
        const std::size_t first = n < capacity_ - at ? n : capacity_ - at;
        std::memcpy(out, data_ + at, first);
        ++c.copies;
        if (first < n) {
            std::memcpy(out + first, data_, n - first);
            ++c.copies;
            ++c.wraps;
        }
        tail_.value.store(tail + n, std::memory_order_release);
        return true;
    }

private:
    static constexpr std::size_t cache_line_pad = 128; // as ring_buffer's
    struct counter_line {
        unsigned char before[cache_line_pad];
        std::atomic<std::uint64_t> value{0};
        unsigned char after[cache_line_pad];
    };

    std::size_t capacity_;
    unsigned char* data_;
    counter_line head_;
    counter_line tail_;
};

std::uint64_t load_word(const unsigned char* p) {
    std::uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
void store_word(unsigned char* p, std::uint64_t v) {
    std::memcpy(p, &v, sizeof v);
}

template <class Ring, std::size_t Payload>
void ring_wrap(benchmark::State& state) {
    leave_scene();
    const std::size_t records = (smoke() ? ring_smoke_workload : ring_workload) / Payload;
    const std::size_t stride = sequence_bytes + Payload;
    const std::size_t middle = stride / 2 / sequence_bytes * sequence_bytes;
    // The producer's record: a pattern, with the sequence number stamped at both ends.
    std::vector<unsigned char> staging(stride);
    for (std::size_t i = 0; i < stride; ++i)
        staging[i] = static_cast<unsigned char>(i * 131 + 7);
    const std::uint64_t pattern = load_word(staging.data() + middle);
    std::vector<unsigned char> out(stride);
    ring_counts produced, consumed;
    double cpu = 0;
    for (auto _ : state) {
        std::error_code ec;
        Ring ring(ec);
        if (!check(state, ec, Ring::name))
            break;
        if (ring.capacity() < stride) {
            state.SkipWithError("the ring is smaller than a record");
            break;
        }
        ring.warm();
        produced = {};
        consumed = {};
        std::size_t bad = 0;
        std::uint64_t sum = 0;

        double producer_cpu = 0;
        const double consumer_cpu0 = thread_cpu_ns();
        const clock_type::time_point t0 = clock_type::now();
        std::thread producer([&] {
            const double cpu0 = thread_cpu_ns();
            for (std::uint64_t seq = 0; seq < records; ++seq) {
                store_word(staging.data(), seq);
                store_word(staging.data() + stride - sequence_bytes, seq);
                unsigned spins = 0;
                while (!ring.put(staging.data(), stride, produced))
                    back_off(spins);
            }
            producer_cpu = thread_cpu_ns() - cpu0;
        });
        for (std::uint64_t seq = 0; seq < records; ++seq) {
            unsigned spins = 0;
            while (!ring.get(out.data(), stride, consumed))
                back_off(spins);
            const std::uint64_t first = load_word(out.data());
            bad += first != seq;
            bad += load_word(out.data() + stride - sequence_bytes) != seq;
            bad += load_word(out.data() + middle) != pattern;
            sum += first;
        }
        producer.join();
        state.SetIterationTime(seconds_since(t0));
        cpu = producer_cpu + thread_cpu_ns() - consumer_cpu0;

        if (bad != 0 || sum != records * (records - 1) / 2 || produced.failed || consumed.failed) {
            state.SkipWithError(("records damaged or lost in " + std::string(Ring::name)).c_str());
            break;
        }
    }
    const auto moved = static_cast<std::size_t>(state.iterations()) * records * Payload;
    state.SetBytesProcessed(static_cast<std::int64_t>(moved));
    state.counters["records"] = static_cast<double>(records);
    state.counters["wraps"] = static_cast<double>(consumed.wraps);
    state.counters["copies_per_record"] =
        static_cast<double>(produced.copies + consumed.copies) / static_cast<double>(records);
    state.counters["cpu_ns"] = cpu;
}

void register_ring() {
    constexpr std::size_t k1 = 1 * kib, k4 = 4 * kib, k16 = 16 * kib, k64 = 64 * kib;
    add("ring.wrap/vmem/1k", ring_wrap<vmem_ring, k1>, kind::one_round);
    add("ring.wrap/split/1k", ring_wrap<split_ring, k1>, kind::one_round);
    add("ring.wrap/vmem/4k", ring_wrap<vmem_ring, k4>, kind::one_round);
    add("ring.wrap/split/4k", ring_wrap<split_ring, k4>, kind::one_round);
    add("ring.wrap/vmem/16k", ring_wrap<vmem_ring, k16>, kind::one_round);
    add("ring.wrap/split/16k", ring_wrap<split_ring, k16>, kind::one_round);
    add("ring.wrap/vmem/64k", ring_wrap<vmem_ring, k64>, kind::one_round);
    add("ring.wrap/split/64k", ring_wrap<split_ring, k64>, kind::one_round);
}

// --- guard.stacks -------------------------------------------------------------------------------

constexpr std::size_t stack_workload = 64 * kib; // usable bytes of each stack
constexpr std::size_t stack_count = 10000;
constexpr std::size_t stack_smoke_count = 100;

std::size_t stacks() {
    return smoke() ? stack_smoke_count : stack_count;
}
std::size_t stack_bytes() {
    return round_up(stack_workload, page());
}

// Lines of /proc/self/maps: the process's kernel mappings, with `overlapping` set to those that
// hold a byte of one of `ranges` (sorted, disjoint [begin, end) address ranges). 0 where there is
// no such file.
std::size_t mapping_count(const std::vector<std::pair<std::uintptr_t, std::uintptr_t>>& ranges,
                          std::size_t& overlapping) {
    overlapping = 0;
    std::string text;
    if (FILE* f = std::fopen("/proc/self/maps", "r")) {
        char chunk[1 << 14];
        std::size_t n;
        while ((n = std::fread(chunk, 1, sizeof chunk, f)) > 0)
            text.append(chunk, n);
        std::fclose(f);
    }
    std::size_t lines = 0;
    for (std::size_t at = 0; at < text.size(); ++lines) {
        std::size_t end = text.find('\n', at);
        if (end == std::string::npos)
            end = text.size();
        char* rest = nullptr;
        const auto begin = static_cast<std::uintptr_t>(std::strtoull(&text[at], &rest, 16));
        const auto last = static_cast<std::uintptr_t>(std::strtoull(rest + 1, nullptr, 16));
        // The first range that ends after this mapping begins: it overlaps if it begins before
        // the mapping ends.
        const auto r = std::upper_bound(
            ranges.begin(), ranges.end(), begin,
            [](std::uintptr_t a, const std::pair<std::uintptr_t, std::uintptr_t>& range) {
                return a < range.second;
            });
        overlapping += r != ranges.end() && r->first < last;
        at = end + 1;
    }
    return lines;
}

// VmSize of /proc/self/status in bytes; 0 where not known.
std::size_t vm_size() {
    std::size_t bytes = 0;
    if (FILE* f = std::fopen("/proc/self/status", "r")) {
        char line[256];
        unsigned long kb = 0;
        while (std::fgets(line, sizeof line, f) != nullptr)
            if (std::sscanf(line, "VmSize: %lu kB", &kb) == 1) {
                bytes = static_cast<std::size_t>(kb) * kib;
                break;
            }
        std::fclose(f);
    }
    return bytes;
}

// Why this machine cannot hold the stacks with two mappings each, or empty.
std::string stack_mapping_problem() {
    const std::size_t limit = vmem::query_capabilities().max_map_count;
    const std::size_t need = 2 * stacks() + 4096;
    if (limit == 0 || limit >= need)
        return {};
    return "skipped: needs vm.max_map_count >= " + std::to_string(need) + " (it is " +
           std::to_string(limit) + ")";
}

// Creates stacks() stacks with `create(i, why)` (false: failed, `why` says why), measures them
// alive (`where(i)`: the addresses of stack i and its guard), destroys them with `destroy(i, why)`.
// `mappings` counts the kernel mappings that hold a byte of a stack or a guard: the line count's
// difference (`maps_delta`) can be off either way, since a new mapping may merge with a
// neighbour that was there before.
template <class Create, class Where, class Destroy>
void stack_rounds(benchmark::State& state, Create create, Where where, Destroy destroy) {
    leave_scene();
    const std::string problem = stack_mapping_problem();
    if (!problem.empty()) {
        state.SkipWithError(problem.c_str());
        return;
    }
    const std::size_t count = stacks();
    double mappings = 0, delta = 0, size = 0;
    std::vector<std::pair<std::uintptr_t, std::uintptr_t>> ranges;
    ranges.reserve(count);
    for (auto _ : state) {
        std::size_t overlapping = 0;
        ranges.clear();
        const std::size_t maps_before = mapping_count(ranges, overlapping);
        const std::size_t vm_before = vm_size();
        std::string why;
        const clock_type::time_point t0 = clock_type::now();
        std::size_t made = 0;
        while (made < count && create(made, why))
            ++made;
        const double create_time = seconds_since(t0);
        for (std::size_t i = 0; i < made; ++i)
            ranges.push_back(where(i));
        std::sort(ranges.begin(), ranges.end());
        const std::size_t maps_alive = mapping_count(ranges, overlapping);
        mappings = static_cast<double>(overlapping);
        delta = static_cast<double>(maps_alive) - static_cast<double>(maps_before);
        size = static_cast<double>(vm_size()) - static_cast<double>(vm_before);
        const clock_type::time_point t1 = clock_type::now();
        bool destroyed = true;
        for (std::size_t i = 0; i < made; ++i)
            destroyed &= destroy(i, why);
        state.SetIterationTime((create_time + seconds_since(t1)) / static_cast<double>(count));
        if (made < count || !destroyed) {
            state.SkipWithError(why.c_str());
            break;
        }
    }
    state.counters["stacks"] = static_cast<double>(count);
    state.counters["mappings"] = mappings;
    state.counters["mappings_per_stack"] = mappings / static_cast<double>(count);
    state.counters["maps_delta"] = delta;
    state.counters["vm_size"] = size;
}

void stacks_vmem(benchmark::State& state) {
    std::vector<vmem::guarded_stack> all;
    all.reserve(stacks());
    stack_rounds(
        state,
        [&](std::size_t, std::string& why) {
            std::error_code ec;
            all.emplace_back(stack_bytes(), vmem::stack_options{}, ec);
            if (ec) {
                all.pop_back();
                why = "vmem::guarded_stack: " + ec.message();
            }
            return !ec;
        },
        [&](std::size_t i) {
            const auto base = reinterpret_cast<std::uintptr_t>(all[i].block().reservation_base());
            return std::make_pair(base, base + all[i].block().reservation_size());
        },
        [&](std::size_t i, std::string& why) {
            std::error_code ec;
            all[i].release(ec);
            if (ec)
                why = "vmem::guarded_stack::release: " + ec.message();
            if (i + 1 == all.size())
                all.clear();
            return !ec;
        });
    state.counters["guard_pages_free"] = vmem::query_capabilities().guard_pages_free ? 1 : 0;
}

// The hand-written stacks: [guard][stack] in one read-write mapping, the guard then made
// inaccessible: mprotect PROT_NONE, or with Markers madvise MADV_GUARD_INSTALL.
template <bool Markers>
void stacks_raw(benchmark::State& state) {
    const std::size_t total = page() + stack_bytes();
    std::vector<void*> all(stacks(), nullptr);
#if defined(__linux__)
    if (Markers) {
        void* p = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        const bool ok = p != MAP_FAILED && madvise(p, page(), MADV_GUARD_INSTALL) == 0;
        if (p != MAP_FAILED)
            munmap(p, total);
        if (!ok) {
            state.SkipWithError("skipped: no MADV_GUARD_INSTALL (Linux 6.13+)");
            return;
        }
    }
#else
    if (Markers) {
        state.SkipWithError("skipped: guard markers are Linux's (MADV_GUARD_INSTALL)");
        return;
    }
#endif
    stack_rounds(
        state,
        [&](std::size_t i, std::string& why) {
            void* p =
                mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED) {
                why = std::string("mmap: ") + std::strerror(errno);
                return false;
            }
#if defined(__linux__)
            const bool guarded = Markers ? madvise(p, page(), MADV_GUARD_INSTALL) == 0
                                         : mprotect(p, page(), PROT_NONE) == 0;
#else
            const bool guarded = mprotect(p, page(), PROT_NONE) == 0;
#endif
            if (!guarded) {
                why = std::string(Markers ? "madvise: " : "mprotect: ") + std::strerror(errno);
                munmap(p, total);
                return false;
            }
            all[i] = p;
            return true;
        },
        [&](std::size_t i) {
            const auto base = reinterpret_cast<std::uintptr_t>(all[i]);
            return std::make_pair(base, base + total);
        },
        [&](std::size_t i, std::string& why) {
            if (munmap(all[i], total) == 0)
                return true;
            why = std::string("munmap: ") + std::strerror(errno);
            return false;
        });
}

void register_guard() {
    add("guard.stacks/vmem", stacks_vmem, kind::one_round);
    add("guard.stacks/prot_none", stacks_raw<false>, kind::one_round);
    add("guard.stacks/madv_guard", stacks_raw<true>, kind::one_round);
}

} // namespace

namespace {
vmem_bench::family ring_family{"ring", register_ring};
vmem_bench::family guard_family{"guard", register_guard};
} // namespace
