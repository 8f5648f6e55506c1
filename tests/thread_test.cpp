// vmem tests: several threads at once. Boost.Test's assertions are not thread-safe, so the
// threads count what went wrong and the main thread checks the counts.
#include "common.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

using namespace vmem_test;

namespace {

constexpr unsigned threads = 4;
constexpr int rounds = 200;

} // namespace

BOOST_AUTO_TEST_SUITE(threads_at_once)

BOOST_AUTO_TEST_CASE(threads_working_on_their_own_ranges_of_one_reservation) {
    const std::size_t share = 8 * page();
    vmem::reservation r(threads * share);
    std::atomic<int> errors{0}, wrong_contents{0}, not_faulting{0};
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            unsigned char* mine = bytes(r) + t * share;
            for (int i = 0; i < rounds; ++i) {
                std::error_code ec;
                r.commit(mine, share, vmem::access::read_write, ec);
                errors += ec ? 1 : 0;
                if (ec)
                    continue;
                const unsigned seed = t * 1000 + static_cast<unsigned>(i);
                fill_pattern(mine, share, seed);
                wrong_contents += has_pattern(mine, share, seed) ? 0 : 1;
                r.decommit(mine + share / 2, share / 2, ec); // keep the first half
                errors += ec ? 1 : 0;
                not_faulting += vmem_probe::can_read(mine + share / 2) ? 1 : 0;
                r.decommit(mine, share / 2, ec);
                errors += ec ? 1 : 0;
            }
            std::error_code ec;
            r.commit(mine, page(), vmem::access::read_write, ec); // leave one page each
            errors += ec ? 1 : 0;
        });
    }
    for (auto& w : workers)
        w.join();
    BOOST_TEST(errors.load() == 0);
    BOOST_TEST(wrong_contents.load() == 0);
    BOOST_TEST(not_faulting.load() == 0);
    BOOST_TEST(r.committed_bytes() == threads * page());
}

// Each member of vmem::reservation takes the reservation's lock: guards and decommits on one page
// while another thread commits and decommits another leave bookkeeping that agrees with the OS
// (a member that skipped the lock races on the runs; ThreadSanitizer reports it).
BOOST_AUTO_TEST_CASE(guard_and_commit_on_one_reservation_from_two_threads) {
    vmem::reservation r(8 * page());
    std::thread guarding([&r] {
        for (int i = 0; i < 20000; ++i) {
            r.guard(r.base(), page());
            r.decommit(r.base(), page());
        }
    });
    for (int i = 0; i < 20000; ++i) {
        r.commit(bytes(r) + 4 * page(), page(), vmem::access::read_write);
        r.decommit(bytes(r) + 4 * page(), page());
    }
    guarding.join();
    BOOST_TEST(r.committed_bytes() == 0u);
    BOOST_TEST((vmem::query(r.base()).state == vmem::page_state::reserved));
    BOOST_TEST((vmem::query(bytes(r) + 4 * page()).state == vmem::page_state::reserved));
    r.commit(r.base(), r.size(), vmem::access::read_write);
    BOOST_TEST(r.committed_bytes() == r.size());
}

BOOST_AUTO_TEST_CASE(threads_reserving_and_releasing_side_by_side) {
    std::atomic<int> errors{0}, overlaps{0};
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            for (int i = 0; i < rounds; ++i) {
                std::error_code ec;
                void* p = vmem::reserve(granularity(), {}, ec);
                if (ec) {
                    ++errors;
                    continue;
                }
                vmem::commit(p, page(), vmem::access::read_write, ec); // through the registry
                errors += ec ? 1 : 0;
                // Another thread's reservation at the same place would have overwritten this.
                bytes(p)[0] = static_cast<unsigned char>(t);
                std::this_thread::yield();
                overlaps += bytes(p)[0] == static_cast<unsigned char>(t) ? 0 : 1;
                vmem::release(p, ec);
                errors += ec ? 1 : 0;
            }
        });
    }
    for (auto& w : workers)
        w.join();
    BOOST_TEST(errors.load() == 0);
    BOOST_TEST(overlaps.load() == 0);
}

// Threads commit, decommit and protect the same pages of one reservation, through its members
// and through the free functions, while another thread keeps reading committed_bytes(). Calls on
// one reservation are serialised with their system calls, so whenever they stop, vmem's
// bookkeeping agrees with the OS page by page. (Without a per-reservation lock, or with the
// system call outside it, a commit's bookkeeping can land after a decommit's system call and the
// two disagree; TSan reports the unlocked access.) Several short bursts, each checked.
BOOST_AUTO_TEST_CASE(threads_on_the_same_pages_leave_bookkeeping_that_agrees_with_the_os) {
    const std::size_t pages = 16;
    vmem::reservation r(pages * page());
    std::atomic<int> errors{0}, insane_counts{0};
    std::atomic<long> calls{0}, reads{0};
    int disagreements = 0, bursts = 0;

    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1200);
    while (std::chrono::steady_clock::now() < deadline) {
        std::atomic<bool> done{false};
        std::vector<std::thread> workers;
        for (unsigned t = 0; t < 3; ++t) {
            workers.emplace_back([&, t] {
                std::uint32_t random = 0x9e3779b9u * (t + 1) + static_cast<std::uint32_t>(bursts);
                auto below = [&random](std::size_t n) {
                    random ^= random << 13;
                    random ^= random >> 17;
                    random ^= random << 5;
                    return random % n;
                };
                while (!done.load()) {
                    const std::size_t first = below(pages);
                    unsigned char* at = bytes(r) + first * page();
                    const std::size_t size = (1 + below(pages - first)) * page();
                    const bool member = below(2) == 0;
                    // Only read and read_write: a committed page is readable, a reserved one not.
                    const vmem::access a =
                        below(2) == 0 ? vmem::access::read : vmem::access::read_write;
                    std::error_code ec;
                    switch (below(3)) {
                    case 0:
                        if (member)
                            r.commit(at, size, a, ec);
                        else
                            vmem::commit(at, size, a, ec);
                        errors += ec ? 1 : 0;
                        break;
                    case 1:
                        if (member)
                            r.decommit(at, size, ec);
                        else
                            vmem::decommit(at, size, ec);
                        errors += ec ? 1 : 0;
                        break;
                    default:
                        if (member)
                            r.protect(at, size, a, ec);
                        else
                            vmem::protect(at, size, a, ec);
                        errors += ec && ec != vmem::errc::not_committed ? 1 : 0;
                        break;
                    }
                    ++calls;
                }
            });
        }
        std::thread checker([&] {
            while (!done.load()) {
                const std::size_t n = r.committed_bytes();
                insane_counts += n > r.size() || n % page() != 0 ? 1 : 0;
                ++reads;
            }
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(150));
        done = true;
        for (auto& w : workers)
            w.join();
        checker.join();
        ++bursts;

        std::size_t readable = 0;
        for (std::size_t i = 0; i < pages; ++i) {
            unsigned char* p = bytes(r) + i * page();
            const bool committed = vmem_probe::can_read(p);
            readable += committed ? 1 : 0;
            // protect refuses exactly the pages vmem believes reserved...
            std::error_code ec;
            r.protect(p, page(), vmem::access::read_write, ec);
            disagreements += (committed ? !ec : ec == vmem::errc::not_committed) ? 0 : 1;
            // ...and gives write access to the others.
            if (!ec)
                disagreements += vmem_probe::can_write(p) ? 0 : 1;
        }
        disagreements += r.committed_bytes() == readable * page() ? 0 : 1;
    }
    BOOST_TEST_MESSAGE(bursts << " bursts, " << calls.load() << " calls, " << reads.load()
                              << " reads of committed_bytes()");
    BOOST_TEST(calls.load() > 0);
    BOOST_TEST(reads.load() > 0);
    BOOST_TEST(errors.load() == 0);
    BOOST_TEST(insane_counts.load() == 0);
    BOOST_TEST(disagreements == 0, "vmem's bookkeeping and the OS disagree after a burst");
}

BOOST_AUTO_TEST_SUITE_END()
