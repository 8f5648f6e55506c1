// vmem tests: commit.
#include "common.hpp"

#include "support/boost_test_data.hpp"
#include "support/oracle.hpp"

#include <algorithm>
#include <ostream>
#include <vector>

using namespace vmem_test;
namespace data = boost::unit_test::data;

namespace vmem {
// For Boost.Test's messages about data samples.
inline std::ostream& operator<<(std::ostream& os, access a) {
    switch (a) {
    case access::none:
        return os << "none";
    case access::read:
        return os << "read";
    case access::read_write:
        return os << "read_write";
    case access::read_execute:
        return os << "read_execute";
    case access::read_write_execute:
        return os << "read_write_execute";
    }
    return os << "access(" << static_cast<unsigned>(a) << ")";
}
} // namespace vmem

BOOST_TEST_DONT_PRINT_LOG_VALUE(vmem::access)

namespace {

// Whether this system grants `a`: read_write_execute only where capabilities::write_execute says
// so. Where it is refused, the tests below expect the refusal, and that it changed nothing.
bool granted(vmem::access a) {
    return a != vmem::access::read_write_execute || vmem::query_capabilities().write_execute;
}

} // namespace

BOOST_AUTO_TEST_SUITE(commit)

BOOST_AUTO_TEST_CASE(first_commit_reads_zero_and_is_writable) {
    vmem::reservation r(granularity());
    r.commit(r.base(), r.size(), vmem::access::read_write);
    BOOST_TEST(all_equal(r.base(), r.size(), 0));
    fill_pattern(r.base(), r.size(), 1);
    BOOST_TEST(has_pattern(r.base(), r.size(), 1));
}

BOOST_AUTO_TEST_CASE(covers_every_page_the_range_intersects) {
    vmem::reservation r(4 * page());
    // Two bytes straddling the boundary between pages 1 and 2.
    r.commit(bytes(r) + 2 * page() - 1, 2, vmem::access::read_write);
    BOOST_TEST(!vmem_probe::can_read(bytes(r)));
    BOOST_TEST(vmem_probe::can_write(bytes(r) + page()));
    BOOST_TEST(vmem_probe::can_write(bytes(r) + 3 * page() - 1));
    BOOST_TEST(!vmem_probe::can_read(bytes(r) + 3 * page()));
    BOOST_TEST(r.committed_bytes() == 2 * page());
    vmem_oracle::page_model model(4); // the OS agrees, run by run
    model.commit(1, 2, vmem::access::read_write);
    BOOST_TEST(vmem_oracle::agrees(r, model));
}

BOOST_AUTO_TEST_CASE(recommitting_keeps_the_contents) {
    vmem::reservation r(4 * page());
    r.commit(r.base(), 2 * page(), vmem::access::read_write);
    fill_pattern(r.base(), 2 * page(), 9);
    // Overlaps the committed pages and two new ones.
    r.commit(bytes(r) + page(), 3 * page(), vmem::access::read_write);
    BOOST_TEST(has_pattern(r.base(), 2 * page(), 9));
    BOOST_TEST(all_equal(bytes(r) + 2 * page(), 2 * page(), 0));
}

BOOST_AUTO_TEST_CASE(recommitting_sets_the_new_access) {
    vmem::reservation r(2 * page());
    r.commit(r.base(), r.size(), vmem::access::read_write);
    fill_pattern(r.base(), r.size(), 4);
    r.commit(r.base(), r.size(), vmem::access::read);
    vmem_oracle::page_model model(2); // the OS agrees, run by run
    model.commit(0, 2, vmem::access::read);
    BOOST_TEST(vmem_oracle::agrees(r, model));
    BOOST_TEST(vmem_probe::can_read(r.base()));
    BOOST_TEST(!vmem_probe::can_write(r.base()));
    BOOST_TEST(has_pattern(r.base(), r.size(), 4));
}

// Each access allows exactly what its name says; execution is probed below.
BOOST_DATA_TEST_CASE(access_allows_what_it_names,
                     data::make({vmem::access::none, vmem::access::read, vmem::access::read_write,
                                 vmem::access::read_execute, vmem::access::read_write_execute}),
                     a) {
    vmem::reservation r(2 * page());
    std::error_code ec;
    r.commit(r.base(), r.size(), a, ec);
    if (!granted(a)) { // refused whole: the pages stay reserved, and can be committed otherwise
        BOOST_TEST(static_cast<bool>(ec),
                   "committed although capabilities::write_execute is false");
        BOOST_TEST(r.committed_bytes() == 0u);
        BOOST_TEST(!vmem_probe::can_read(r.base()));
        BOOST_TEST(!vmem_probe::can_read(bytes(r) + page()));
        r.commit(r.base(), r.size(), vmem::access::read_write);
        BOOST_TEST(all_equal(r.base(), r.size(), 0));
        return;
    }
    BOOST_TEST_REQUIRE(!ec, ec.message());
    const unsigned bits = static_cast<unsigned>(a);
    const bool readable = (bits & 1u) != 0;
    const bool writable = (bits & 2u) != 0;
    BOOST_TEST(vmem_probe::can_read(bytes(r) + page()) == readable);
    BOOST_TEST(vmem_probe::can_write(bytes(r) + page()) == writable);
    if (readable)
        BOOST_TEST(all_equal(r.base(), r.size(), 0));
}

namespace {

bool executable(vmem::access a) {
    return a == vmem::access::read_execute || a == vmem::access::read_write_execute;
}

} // namespace

// Code written to a page runs once commit gives the page an executable access, and only then.
// The page is committed read_write, the code written, then the page committed again with the
// access under test (a second commit keeps the contents and sets the access).
BOOST_TEST_DECORATOR(*utf::precondition(code_known))
BOOST_DATA_TEST_CASE(commit_lets_code_run_exactly_when_the_access_says,
                     data::make({vmem::access::none, vmem::access::read, vmem::access::read_write,
                                 vmem::access::read_execute, vmem::access::read_write_execute}),
                     a) {
    vmem::reservation r(2 * page());
    r.commit(r.base(), r.size(), vmem::access::read_write);
    BOOST_TEST_REQUIRE(vmem_probe::write_return_42(bytes(r) + page()));
    const std::vector<unsigned char> code(bytes(r) + page(), bytes(r) + 2 * page());
    std::error_code ec;
    r.commit(bytes(r) + page(), page(), a, ec);
    if (!granted(a)) { // refused: the page keeps its contents and stays read_write
        BOOST_TEST(static_cast<bool>(ec),
                   "committed although capabilities::write_execute is false");
        BOOST_TEST(vmem_probe::can_write(bytes(r) + page()));
        BOOST_TEST(!vmem_probe::can_execute(bytes(r) + page()));
        BOOST_TEST(r.committed_bytes() == r.size());
        BOOST_TEST(std::equal(code.begin(), code.end(), bytes(r) + page()));
    } else {
        BOOST_TEST_REQUIRE(!ec, ec.message());
        BOOST_TEST(vmem_probe::can_execute(bytes(r) + page()) == executable(a));
    }
    BOOST_TEST(!vmem_probe::can_execute(r.base())); // read_write: data, never code
}

// A first commit with an executable access (zero pages), the code written (through a protect to
// read_write when the access is not writable), then protect away from execution and back.
BOOST_TEST_DECORATOR(*utf::precondition(code_known))
BOOST_DATA_TEST_CASE(code_runs_from_pages_first_committed_executable,
                     data::make({vmem::access::read_execute, vmem::access::read_write_execute}),
                     a) {
    vmem::reservation r(page());
    std::error_code ec;
    r.commit(r.base(), page(), a, ec);
    if (!granted(a)) { // refused whole: the page stays reserved
        BOOST_TEST(static_cast<bool>(ec),
                   "committed although capabilities::write_execute is false");
        BOOST_TEST(r.committed_bytes() == 0u);
        BOOST_TEST(!vmem_probe::can_read(r.base()));
        return;
    }
    BOOST_TEST_REQUIRE(!ec, ec.message());
    BOOST_TEST(all_equal(r.base(), page(), 0));
    const bool writable = a == vmem::access::read_write_execute;
    if (!writable)
        r.protect(r.base(), page(), vmem::access::read_write);
    BOOST_TEST_REQUIRE(vmem_probe::write_return_42(r.base()));
    if (!writable)
        r.protect(r.base(), page(), a);
    BOOST_TEST(vmem_probe::can_execute(r.base()));
    r.protect(r.base(), page(), vmem::access::read_write);
    BOOST_TEST(!vmem_probe::can_execute(r.base()));
    r.commit(r.base(), page(), a);
    BOOST_TEST(vmem_probe::can_execute(r.base()));
}

// A commit the OS refuses for lack of memory is reported as such and leaves the reservation as
// it was. 1 TiB is beyond any commit limit on this kind of machine; Linux's heuristic mode
// refuses a single commit larger than RAM + swap.
BOOST_AUTO_TEST_CASE(commit_beyond_the_commit_limit_fails_cleanly,
                     *utf::precondition([](utf::test_unit_id) {
                         boost::test_tools::assertion_result r(
                             sizeof(void*) == 8 && vmem::query_capabilities().accounting !=
                                                       vmem::commit_accounting::none);
                         r.message() << "a commit is not refused for its size here (no commit "
                                        "accounting, or 32-bit)";
                         return r;
                     }) * utf::precondition(unless_wine{"commit accounting"})) {
    // The shift is by 40 on 64-bit systems only (32-bit ones skip this test).
    const std::size_t tib = std::size_t{1} << (sizeof(void*) == 8 ? 40 : 20);
    vmem::reservation r(tib);
    r.commit(r.base(), page(), vmem::access::read_write);
    fill_pattern(r.base(), page(), 5);
    std::error_code ec;
    r.commit(r.base(), r.size(), vmem::access::read_write, ec);
    BOOST_TEST(ec == std::errc::not_enough_memory, ec.message());
    BOOST_TEST(r.committed_bytes() == page());
    BOOST_TEST(has_pattern(r.base(), page(), 5));
    BOOST_TEST(!vmem_probe::can_read(bytes(r) + page()));
    r.commit(bytes(r) + page(), page(), vmem::access::read_write); // still usable
    BOOST_TEST(all_equal(bytes(r) + page(), page(), 0));
}

BOOST_AUTO_TEST_CASE(commit_takes_commit_charge, *utf::precondition(charge_readable)) {
    const std::size_t size = std::size_t{1} << 30;
    vmem::reservation r(size);
    const std::size_t before = *vmem_probe::commit_charge();
    r.commit(r.base(), r.size(), vmem::access::read_write);
    const std::size_t after = *vmem_probe::commit_charge();
    BOOST_TEST(after > before);
    BOOST_TEST(after - before >= size / 4 * 3, "charge rose by " << (after - before));
}

// capabilities::commit_charged_when_writable tells the truth: where it is set, a read-only
// commit takes no charge and making the pages writable takes it; elsewhere commit takes it.
BOOST_AUTO_TEST_CASE(the_charge_is_taken_when_the_capabilities_say,
                     *utf::precondition(charge_readable)) {
    const std::size_t size = std::size_t{1} << 30;
    const bool when_writable = vmem::query_capabilities().commit_charged_when_writable;
    vmem::reservation r(size);
    const std::size_t before = *vmem_probe::commit_charge();
    r.commit(r.base(), size, vmem::access::read);
    const std::size_t read_only = *vmem_probe::commit_charge();
    r.protect(r.base(), size, vmem::access::read_write);
    const std::size_t writable = *vmem_probe::commit_charge();
    const auto rise = [](std::size_t from, std::size_t to) { return to > from ? to - from : 0; };
    if (when_writable) {
        BOOST_TEST(rise(before, read_only) < size / 4,
                   "read-only commit charged " << rise(before, read_only));
        BOOST_TEST(rise(read_only, writable) >= size / 4 * 3,
                   "protect charged " << rise(read_only, writable));
    } else {
        BOOST_TEST(rise(before, read_only) >= size / 4 * 3,
                   "commit charged " << rise(before, read_only));
    }
}

BOOST_AUTO_TEST_SUITE_END()
