// vmem tests: several threads at once. Boost.Test's assertions are not thread-safe, so the
// threads count what went wrong and the main thread checks the counts.
#include "common.hpp"

#include <atomic>
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

BOOST_AUTO_TEST_SUITE_END()
