// vmem tests: query, what the OS says about the pages around an address. Checked page by page
// against the probe (what faults, what runs) and against the oracle's model of the pages (state,
// access, the run's bounds, committed_bytes), on each source the OS has (Linux: PROCMAP_QUERY and
// /proc/self/maps read in pieces; testing::use_procmap_query switches).
#include "common.hpp"
#include "support/oracle.hpp"

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>

#include <cstdint>
#include <system_error>
#include <vector>

using namespace vmem_test;
using vmem_oracle::page_model;
namespace data = boost::unit_test::data;

namespace {

/// Selects query's source for the scope of a test, and restores the default.
struct source {
    explicit source(bool procmap) { vmem::testing::use_procmap_query(procmap); }
    source(const source&) = delete;
    source& operator=(const source&) = delete;
    ~source() { vmem::testing::use_procmap_query(true); }
};

const char* source_name(bool procmap) {
    return procmap ? "default source" : "maps file in pieces";
}

bool readable(vmem::access a) {
    return a != vmem::access::none;
}

bool writable(vmem::access a) {
    return a == vmem::access::read_write || a == vmem::access::read_write_execute;
}

/// query agrees with the probe at `p`: what the region says may be read or written can be, and
/// nothing else. Committed pages only are accessible.
boost::test_tools::assertion_result agrees_with_probe(void* p) {
    const vmem::region q = vmem::query(p);
    const bool committed = q.state == vmem::page_state::committed;
    boost::test_tools::assertion_result result(
        vmem_probe::can_read(p) == (committed && readable(q.access)) &&
        vmem_probe::can_write(p) == (committed && writable(q.access)));
    result.message() << "query says " << vmem_oracle::name(q.state) << "/"
                     << vmem_oracle::name(q.access) << ", the probe "
                     << (vmem_probe::can_read(p) ? "reads" : "cannot read") << " and "
                     << (vmem_probe::can_write(p) ? "writes" : "cannot write");
    return result;
}

boost::test_tools::assertion_result every_page_agrees_with_probe(const vmem::reservation& r) {
    for (std::size_t i = 0; i < r.size() / page(); ++i) {
        boost::test_tools::assertion_result one = agrees_with_probe(bytes(r) + i * page());
        if (!one) {
            one.message() << " at page " << i;
            return one;
        }
    }
    return true;
}

int static_variable = 1;
const char read_only_text[] = "vmem";

} // namespace

BOOST_AUTO_TEST_SUITE(query)

// A reservation whose middle pages are committed with several accesses (code in the executable
// ones), then partly decommitted, protected, and released: after each step every run reads as
// the model says, with its exact bounds, and every page as the probe finds it.
BOOST_DATA_TEST_CASE(a_reservation_reads_page_by_page_as_its_operations_left_it,
                     data::make({true, false}), procmap) {
    source use(procmap);
    BOOST_TEST_MESSAGE(source_name(procmap));
    const std::size_t pages = 12;
    vmem::reservation r(pages * page());
    page_model model(pages);
    BOOST_TEST(vmem_oracle::agrees(r, model));
    BOOST_TEST(every_page_agrees_with_probe(r));

    r.commit(bytes(r) + 2 * page(), 2 * page(), vmem::access::read);
    r.commit(bytes(r) + 4 * page(), 2 * page(), vmem::access::read_write);
    r.commit(bytes(r) + 6 * page(), 2 * page(), vmem::access::read_write);
    const bool code = vmem_probe::write_return_42(bytes(r) + 6 * page());
    r.protect(bytes(r) + 6 * page(), 2 * page(), vmem::access::read_execute);
    model.commit(2, 2, vmem::access::read);
    model.commit(4, 2, vmem::access::read_write);
    model.commit(6, 2, vmem::access::read_execute);
    BOOST_TEST(vmem_oracle::agrees(r, model));
    BOOST_TEST(every_page_agrees_with_probe(r));
    if (code) // the probe has machine code for this CPU: what query calls executable runs
        BOOST_TEST(vmem_probe::can_execute(bytes(r) + 6 * page()));
    else
        BOOST_TEST_MESSAGE("the probe has no machine code for this CPU: execution not run");
    BOOST_TEST(vmem::query(bytes(r) + 6 * page() + 1).access == vmem::access::read_execute);

    r.decommit(bytes(r) + 4 * page(), 2 * page());
    model.decommit(4, 2);
    BOOST_TEST(vmem_oracle::agrees(r, model));
    BOOST_TEST(every_page_agrees_with_probe(r));

    r.protect(bytes(r) + 2 * page(), 2 * page(), vmem::access::read_write);
    model.protect(2, 2, vmem::access::read_write);
    BOOST_TEST(vmem_oracle::agrees(r, model));
    BOOST_TEST(every_page_agrees_with_probe(r));

    // Committed with no access: Windows says so; POSIX cannot tell it from reserved.
    r.protect(bytes(r) + 7 * page(), page(), vmem::access::none);
    model.protect(7, 1, vmem::access::none);
    BOOST_TEST(vmem_oracle::agrees(r, model));
    BOOST_TEST(every_page_agrees_with_probe(r));
    const vmem::region none = vmem::query(bytes(r) + 7 * page());
    if (vmem::query_capabilities().query_sees_committed_none) {
        BOOST_TEST(none.state == vmem::page_state::committed);
        BOOST_TEST(none.access == vmem::access::none);
        BOOST_TEST(none.base == bytes(r) + 7 * page());
        BOOST_TEST(none.size == page());
    } else { // one reserved run with the reserved pages beyond it
        BOOST_TEST(none.state == vmem::page_state::reserved);
        BOOST_TEST(none.base == bytes(r) + 7 * page());
        BOOST_TEST(none.size == (pages - 7) * page());
    }

    // Released: free, in no reservation, from the page asked about to the next mapping.
    unsigned char* const base = bytes(r);
    r.release();
    BOOST_TEST_REQUIRE(vmem_probe::is_unmapped(base, pages * page()));
    for (std::size_t i = 0; i < pages; ++i) {
        const vmem::region q = vmem::query(base + i * page() + 3);
        BOOST_TEST(q.state == vmem::page_state::free, "page " << i);
        BOOST_TEST(q.reservation == nullptr, "page " << i);
        BOOST_TEST(q.base == base + i * page(), "page " << i);
        BOOST_TEST(q.size >= (pages - i) * page(), "page " << i);
    }
    const vmem::region gap = vmem::query(base);
    unsigned char* const gap_end = bytes(gap.base) + gap.size;
    if (gap_end != nullptr) { // the gap ends where something is mapped (or at the top)
        std::error_code ec;
        const vmem::region after = vmem::query(gap_end, ec);
        BOOST_TEST((ec || after.state != vmem::page_state::free ||
                    !vmem_probe::is_unmapped(gap_end, page())),
                   "the free run does not end at a mapping");
    }
}

// The run is the same however the kernel splits it: Linux keeps pages of one protection in
// several mappings when another flag differs (a locked page here), and query joins them.
BOOST_DATA_TEST_CASE(a_run_is_whole_however_the_kernel_splits_it, data::make({true, false}),
                     procmap) {
    source use(procmap);
    BOOST_TEST_MESSAGE(source_name(procmap));
    vmem::reservation r(6 * page());
    r.commit(bytes(r) + page(), 4 * page(), vmem::access::read_write);
    std::error_code ec;
    r.lock(bytes(r) + 2 * page(), page(), ec);
    BOOST_TEST_REQUIRE(!ec, "lock: " << ec.message());
    page_model model(6);
    model.commit(1, 4, vmem::access::read_write);
    BOOST_TEST(vmem_oracle::agrees(r, model));
    for (std::size_t i = 1; i < 5; ++i) { // the same run from any page of it, both ways
        const vmem::region q = vmem::query(bytes(r) + i * page() + page() / 2);
        BOOST_TEST(q.base == bytes(r) + page(), "page " << i);
        BOOST_TEST(q.size == 4 * page(), "page " << i);
    }
    r.unlock(bytes(r) + 2 * page(), page());
    BOOST_TEST(vmem_oracle::agrees(r, model));
}

// A run never leaves its reservation, even where the kernel merges neighbouring reservations into
// one mapping (Linux, when their protections agree), as on Windows where a run never leaves its
// allocation.
BOOST_DATA_TEST_CASE(a_run_ends_at_its_reservation, data::make({true, false}), procmap) {
    source use(procmap);
    BOOST_TEST_MESSAGE(source_name(procmap));
    const std::size_t size = granularity();
    vmem::reservation pair[2];
    reserve_adjacent(pair, size);
    page_model model(size / page());
    for (const vmem::reservation& r : pair)
        BOOST_TEST(vmem_oracle::agrees(r, model));
    for (vmem::reservation& r : pair)
        r.commit(r.base(), r.size(), vmem::access::read_write);
    model.commit(0, size / page(), vmem::access::read_write);
    for (const vmem::reservation& r : pair)
        BOOST_TEST(vmem_oracle::agrees(r, model));
    const vmem::region last = vmem::query(bytes(pair[0]) + size - 1);
    BOOST_TEST(last.reservation == pair[0].base());
    BOOST_TEST(bytes(last.base) + last.size == bytes(pair[1]));
}

// Memory vmem does not own: the stack, a static variable, read-only data and code are committed
// with the access the probe finds, and in no reservation.
BOOST_DATA_TEST_CASE(memory_outside_every_reservation_is_reported_without_one,
                     data::make({true, false}), procmap) {
    source use(procmap);
    BOOST_TEST_MESSAGE(source_name(procmap));
    int on_the_stack = 2;
    void* const places[] = {&on_the_stack, &static_variable};
    for (void* p : places) {
        const vmem::region q = vmem::query(p);
        BOOST_TEST(q.state == vmem::page_state::committed);
        BOOST_TEST(q.access == vmem::access::read_write);
        BOOST_TEST(q.reservation == nullptr);
        BOOST_TEST(bytes(q.base) <= bytes(p));
        BOOST_TEST(bytes(p) < bytes(q.base) + q.size);
        BOOST_TEST(agrees_with_probe(p));
    }
    const vmem::region text = vmem::query(read_only_text);
    BOOST_TEST(text.state == vmem::page_state::committed);
    BOOST_TEST(!writable(text.access));
    BOOST_TEST(text.reservation == nullptr);
    BOOST_TEST(agrees_with_probe(const_cast<char*>(read_only_text)));
    // This function's own code: executable.
    const auto code = reinterpret_cast<const void*>(&agrees_with_probe);
    const vmem::region fn = vmem::query(code);
    BOOST_TEST(fn.state == vmem::page_state::committed);
    BOOST_TEST(fn.access == vmem::access::read_execute);
    BOOST_TEST(fn.reservation == nullptr);
}

// Both Linux sources give the same answer for every region of the whole user address space
// (elsewhere the switch is ignored and this compares the one source with itself).
BOOST_AUTO_TEST_CASE(both_sources_agree_on_the_whole_address_space) {
    const unsigned bits = vmem::query_capabilities().address_bits;
    BOOST_TEST_REQUIRE(bits > 0u);
    const std::uintptr_t top =
        bits >= sizeof(std::uintptr_t) * 8 ? UINTPTR_MAX : (std::uintptr_t{1} << bits) - 1;
    vmem::reservation r(4 * page()); // something of vmem's in it, of two kinds
    r.commit(bytes(r) + page(), page(), vmem::access::read);
    struct pair_of_answers {
        vmem::region by_default, by_file;
        bool failed;
    };
    std::vector<pair_of_answers> answers;
    answers.reserve(1 << 14); // no allocation (which may map memory) while walking
    std::uintptr_t p = page();
    while (p != 0 && p < top && answers.size() < answers.capacity()) {
        pair_of_answers a{};
        std::error_code ec1, ec2;
        vmem::testing::use_procmap_query(true);
        a.by_default = vmem::query(reinterpret_cast<void*>(p), ec1);
        vmem::testing::use_procmap_query(false);
        a.by_file = vmem::query(reinterpret_cast<void*>(p), ec2);
        vmem::testing::use_procmap_query(true);
        a.failed = ec1 || ec2;
        answers.push_back(a);
        if (a.failed || a.by_default.size == 0)
            break;
        p = reinterpret_cast<std::uintptr_t>(a.by_default.base) + a.by_default.size;
    }
    BOOST_TEST(answers.size() > 3u);
    std::size_t free_runs = 0;
    for (const pair_of_answers& a : answers) {
        BOOST_TEST_REQUIRE(!a.failed);
        BOOST_TEST(a.by_default.base == a.by_file.base);
        BOOST_TEST(a.by_default.size == a.by_file.size);
        BOOST_TEST(a.by_default.state == a.by_file.state, "at " << a.by_default.base);
        BOOST_TEST(a.by_default.access == a.by_file.access, "at " << a.by_default.base);
        BOOST_TEST(a.by_default.reservation == a.by_file.reservation);
        free_runs += a.by_default.state == vmem::page_state::free ? 1 : 0;
    }
    BOOST_TEST(free_runs > 0u);
}

BOOST_AUTO_TEST_CASE(null_is_refused) {
    std::error_code ec;
    const vmem::region q = vmem::query(nullptr, ec);
    BOOST_TEST(ec == vmem::errc::null_address);
    BOOST_TEST(q.base == nullptr);
    BOOST_TEST(q.size == 0u);
    BOOST_TEST(q.reservation == nullptr);
    try {
        vmem::query(nullptr);
        BOOST_FAIL("no exception");
    } catch (const std::system_error& e) {
        BOOST_TEST(e.code() == vmem::errc::null_address);
        BOOST_TEST(std::string(e.what()).find("vmem::query") != std::string::npos);
    }
}

BOOST_AUTO_TEST_SUITE_END()
