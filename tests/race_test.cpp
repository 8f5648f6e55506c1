// vmem tests: operations racing the release of their reservation (the Concurrency contract: an
// operation racing a release either completes before it or fails with errc::not_reserved, and
// never touches memory outside a live vmem reservation). Each case runs rounds until a deadline,
// so it stays short on a slow or busy machine. Boost.Test's assertions are not thread-safe: the
// threads count what went wrong and the main thread checks the counts.
#include "common.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <thread>
#include <vector>

using namespace vmem_test;

namespace {

using steady = std::chrono::steady_clock;

// How long each case keeps racing. The rounds are short; a slow machine runs fewer of them.
constexpr std::chrono::milliseconds race_budget{1500};
// How long the main thread waits for the workers to make progress before it moves on anyway.
constexpr std::chrono::milliseconds patience{50};
// How long a call may take before the test calls it stuck (a call waiting on the lock of a record
// that a release freed never returns).
constexpr std::chrono::seconds stuck_after{5};

// Joins `threads` once `finished` says they all returned. If some do not within stuck_after,
// detaches them all instead, so that the test fails rather than hangs, and returns false.
bool join_unless_stuck(std::vector<std::thread>& threads, const std::atomic<unsigned>& finished) {
    const auto give_up = steady::now() + stuck_after;
    while (finished.load() < threads.size() && steady::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const bool all = finished.load() == threads.size();
    for (auto& t : threads)
        all ? t.join() : t.detach();
    return all;
}

// A small random number generator of each thread's own (xorshift): no locks, no heap.
struct random_bits {
    std::uint32_t state;
    std::uint32_t operator()() noexcept {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        return state;
    }
    std::size_t below(std::size_t n) noexcept { return (*this)() % n; }
};

// Commit, decommit or protect a random run of pages of [base, base + pages * page()), through
// the free functions, which find the reservation in the registry.
void random_operation(unsigned char* base, std::size_t pages, random_bits& random,
                      std::error_code& ec) noexcept {
    const std::size_t first = random.below(pages);
    const std::size_t count = 1 + random.below(pages - first);
    unsigned char* at = base + first * page();
    const std::size_t size = count * page();
    switch (random.below(5)) {
    case 0:
        vmem::commit(at, size, vmem::access::read_write, ec);
        break;
    case 1:
        vmem::commit(at, size, vmem::access::read, ec);
        break;
    case 2:
        vmem::decommit(at, size, ec);
        break;
    case 3:
        vmem::protect(at, size, vmem::access::read, ec);
        break;
    default:
        vmem::protect(at, size, vmem::access::read_write, ec);
        break;
    }
}

// What the racing calls answered. Any answer not in `allowed` is unexpected; the first one is
// kept for the report.
struct answers {
    std::atomic<long> succeeded{0}, refused{0}, unexpected{0};
    std::atomic<int> unexpected_value{0};
    std::atomic<const std::error_category*> unexpected_category{nullptr};

    void count(const std::error_code& ec, std::initializer_list<vmem::errc> allowed) noexcept {
        if (!ec) {
            ++succeeded;
            return;
        }
        for (vmem::errc e : allowed) {
            if (ec == e) {
                ++refused;
                return;
            }
        }
        if (unexpected++ == 0) {
            unexpected_value = ec.value();
            unexpected_category = &ec.category();
        }
    }

    std::string first_unexpected() const {
        const std::error_category* c = unexpected_category.load();
        return c == nullptr ? "none" : c->name() + (": " + c->message(unexpected_value.load()));
    }
};

// Workers that run random operations on the reservation at `target` while the main thread
// releases it. The main thread starts and stops them round by round; a worker reports itself
// busy before it looks at the state, so once the main thread has seen it idle after a stop, the
// worker makes no more calls until the next start.
class racers {
public:
    explicit racers(unsigned count) : busy_(count) {
        for (unsigned t = 0; t < count; ++t)
            threads_.emplace_back([this, t] { run(t); });
    }
    ~racers() {
        state_ = quit;
        join_unless_stuck(threads_, finished_);
    }
    racers(const racers&) = delete;
    racers& operator=(const racers&) = delete;

    // Starts a round on [base, base + pages * page()).
    void start(unsigned char* base, std::size_t pages) {
        target_ = base;
        pages_ = pages;
        state_ = running;
    }
    // Stops the round and waits until no call of it is under way; false if one is stuck.
    bool stop() {
        state_ = idle;
        const auto give_up = steady::now() + stuck_after;
        for (auto& b : busy_) {
            while (b.load()) {
                if (steady::now() >= give_up)
                    return false;
                std::this_thread::yield();
            }
        }
        return true;
    }
    // Waits until the workers have made `calls` more calls (or `patience` has passed).
    void let_run(long calls) const {
        const long until = calls_.load() + calls;
        const auto give_up = steady::now() + patience;
        while (calls_.load() < until && steady::now() < give_up)
            std::this_thread::yield();
    }

    // Set by the main thread once the release has returned and its own memory is mapped where
    // the reservation was: every call that starts after that must be refused with not_reserved.
    std::atomic<bool> foreign_mapped{false};
    answers before_foreign, after_foreign;

private:
    enum state { idle, running, quit };

    void run(unsigned t) {
        random_bits random{0x9e3779b9u * (t + 1)};
        for (;;) {
            busy_[t] = true;
            const int s = state_.load();
            bool lost = false;
            if (s == running) {
                const bool foreign = foreign_mapped.load();
                std::error_code ec;
                random_operation(target_.load(), pages_.load(), random, ec);
                if (foreign)
                    after_foreign.count(ec, {vmem::errc::not_reserved});
                else // the same reservation, or a new one at the same place and of the same size
                    before_foreign.count(ec, {vmem::errc::not_reserved, vmem::errc::not_committed});
                lost = ec == vmem::errc::not_reserved;
                ++calls_;
            }
            busy_[t] = false;
            if (s == quit) {
                ++finished_;
                return;
            }
            if (s != running || lost) // idle, or the race is over: let the main thread on
                std::this_thread::yield();
        }
    }

    std::vector<std::atomic<bool>> busy_;
    std::atomic<int> state_{idle};
    std::atomic<unsigned char*> target_{nullptr};
    std::atomic<std::size_t> pages_{1};
    std::atomic<long> calls_{0};
    std::atomic<unsigned> finished_{0};
    std::vector<std::thread> threads_;
};

// True when every page of [p, p + size) can be written (and so read).
bool all_writable(void* p, std::size_t size) {
    for (std::size_t offset = 0; offset < size; offset += page())
        if (!vmem_probe::can_write(bytes(p) + offset))
            return false;
    return true;
}

// The number of pages of [p, p + size) that can be read.
std::size_t readable_pages(void* p, std::size_t size) {
    std::size_t n = 0;
    for (std::size_t offset = 0; offset < size; offset += page())
        n += vmem_probe::can_read(bytes(p) + offset) ? 1 : 0;
    return n;
}

} // namespace

BOOST_AUTO_TEST_SUITE(races_with_release)

// Workers commit, decommit and protect pages of an unowned reservation through the free
// functions while the main thread releases it, then either maps memory of its own at the same
// address (straight through the OS) or reserves there again through vmem. A call that lost the
// race must be refused with not_reserved, and no late call may reach the memory that took the
// address: a late decommit's mmap(MAP_FIXED) would wipe it, a late commit or protect would
// change its access, and a late call of either kind after that memory is gone would leave a
// mapping behind.
BOOST_AUTO_TEST_CASE(a_call_racing_release_completes_before_it_or_reports_not_reserved) {
    const std::size_t size = std::max(granularity(), 16 * page());
    const std::size_t pages = size / page();
    racers workers(2);
    random_bits random{12345};
    long rounds = 0, release_errors = 0, foreign_rounds = 0, clobbered = 0, left_behind = 0;
    const auto deadline = steady::now() + race_budget;
    while (steady::now() < deadline) {
        std::error_code ec;
        void* base = vmem::reserve(size, {}, ec);
        BOOST_TEST_REQUIRE(!ec, "reserve: " << ec.message());
        vmem::commit(base, size / 2, vmem::access::read_write, ec);
        BOOST_TEST_REQUIRE(!ec, "commit: " << ec.message());

        workers.foreign_mapped = false;
        workers.start(bytes(base), pages);
        workers.let_run(static_cast<long>(random.below(24))); // release at a varying moment
        vmem::release(base, ec);
        release_errors += ec ? 1 : 0;

        const bool own_memory = rounds % 2 == 0;
        void* mine = nullptr;
        vmem::reservation again;
        const unsigned seed = static_cast<unsigned>(rounds);
        if (own_memory) {
            mine = vmem_probe::map_foreign(base, size);
            if (mine != nullptr) {
                // A late commit or protect may already have taken write access away; the fill
                // then faults here, which fails the test as surely as the check below.
                BOOST_TEST_CHECKPOINT("filling the test's own memory where the reservation was");
                fill_pattern(mine, size, seed);
                workers.foreign_mapped = true;
                ++foreign_rounds;
            }
        } else { // a new vmem reservation of the same size: the workers may use it, legitimately
            vmem::reserve_options exactly;
            exactly.address = base;
            exactly.at = vmem::placement::exact;
            again = vmem::reservation(size, exactly, ec);
        }
        workers.let_run(64);
        BOOST_TEST_REQUIRE(workers.stop(), "a call racing the release never returned");

        if (mine != nullptr) {
            if (!has_pattern(mine, size, seed) || !all_writable(mine, size))
                ++clobbered;
            vmem_probe::unmap_foreign(mine, size);
        }
        again.release(ec);
        // Nothing of vmem's may remain where the reservation was: a late decommit that ran after
        // the memory that took the address was unmapped (or that kept it from landing at all)
        // leaves an inaccessible mapping here. (A mapping someone else made meanwhile, a
        // sanitizer's runtime say, would be readable.)
        if (!is_free(base, size) && readable_pages(base, size) == 0)
            ++left_behind;
        ++rounds;
    }

    BOOST_TEST_MESSAGE("rounds " << rounds << ", with own memory mapped " << foreign_rounds
                                 << "; calls before it: " << workers.before_foreign.succeeded
                                 << " succeeded, " << workers.before_foreign.refused
                                 << " refused; after it: " << workers.after_foreign.refused
                                 << " refused");
    BOOST_TEST(rounds >= 10);
    BOOST_TEST(foreign_rounds >= 1);
    BOOST_TEST(release_errors == 0);
    BOOST_TEST(workers.before_foreign.unexpected == 0,
               "first unexpected answer: " << workers.before_foreign.first_unexpected());
    BOOST_TEST(workers.after_foreign.succeeded == 0);
    BOOST_TEST(workers.after_foreign.unexpected == 0,
               "first unexpected answer: " << workers.after_foreign.first_unexpected());
    BOOST_TEST(clobbered == 0); // the program's own memory lost its data or its access
    BOOST_TEST(left_behind == 0, "a range vmem released was still mapped afterwards");
}

// Many reservations, found through the registry by several threads at once, while the main
// thread releases them one by one and reserves new ones (of other sizes, so the new ones land
// across the old addresses). No call may crash, touch a released reservation or fail with an
// OS error; afterwards each reservation's bookkeeping agrees with the OS.
BOOST_AUTO_TEST_CASE(the_registry_serves_calls_on_many_reservations_while_others_are_released) {
    constexpr std::size_t slots = 32;
    const std::size_t unit = std::max(granularity(), 4 * page());
    const std::size_t unit_pages = unit / page();
    std::atomic<void*> live[slots];
    for (auto& slot : live)
        slot = vmem::reserve(unit);

    std::atomic<bool> done{false};
    std::atomic<unsigned> finished{0};
    answers seen;
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < 2; ++t) {
        workers.emplace_back([&, t] {
            random_bits random{0x85ebca6bu * (t + 1)};
            while (!done.load()) {
                void* p = live[random.below(slots)].load();
                if (p == nullptr)
                    continue;
                std::error_code ec;
                random_operation(bytes(p), unit_pages, random, ec);
                // p may have been released, and the address taken by another reservation that
                // starts before it or ends inside the range: each answer describes the
                // reservations live when the call ran.
                seen.count(ec, {vmem::errc::not_reserved, vmem::errc::not_committed,
                                vmem::errc::outside_reservation, vmem::errc::spans_reservations});
            }
            ++finished;
        });
    }

    random_bits random{777};
    long churned = 0, release_errors = 0, reserve_errors = 0;
    const auto deadline = steady::now() + race_budget;
    while (steady::now() < deadline) {
        std::atomic<void*>& slot = live[random.below(slots)];
        void* old = slot.exchange(nullptr);
        std::error_code ec;
        vmem::release(old, ec);
        release_errors += ec ? 1 : 0;
        void* fresh = vmem::reserve((1 + random.below(3)) * unit, {}, ec);
        reserve_errors += ec ? 1 : 0;
        slot = fresh != nullptr ? fresh : vmem::reserve(unit);
        ++churned;
    }
    done = true;
    BOOST_TEST_REQUIRE(join_unless_stuck(workers, finished), "a call never returned");

    // Workers commit with read or read_write and protect to the same, so a committed page is
    // readable and a reserved one is not.
    long disagreements = 0;
    for (auto& slot : live) {
        vmem::reservation r = vmem::reservation::adopt(slot.load());
        if (r.committed_bytes() != readable_pages(r.base(), r.size()) * page())
            ++disagreements;
    }
    BOOST_TEST_MESSAGE(churned << " reservations replaced; calls: " << seen.succeeded
                               << " succeeded, " << seen.refused << " refused");
    BOOST_TEST(churned >= 10);
    BOOST_TEST(release_errors == 0);
    BOOST_TEST(reserve_errors == 0);
    BOOST_TEST(seen.succeeded > 0);
    BOOST_TEST(seen.unexpected == 0, "first unexpected answer: " << seen.first_unexpected());
    BOOST_TEST(disagreements == 0,
               "committed_bytes() disagrees with the pages the OS lets us read");
}

BOOST_AUTO_TEST_SUITE_END()
