// vmem tests: protect.
#include "common.hpp"
#include "support/oracle.hpp"

using namespace vmem_test;

BOOST_AUTO_TEST_SUITE(protect)

BOOST_AUTO_TEST_CASE(read_only_pages_refuse_writes_and_keep_their_contents) {
    vmem::reservation r(2 * page());
    r.commit(r.base(), r.size(), vmem::access::read_write);
    fill_pattern(r.base(), r.size(), 11);
    r.protect(r.base(), page(), vmem::access::read);
    BOOST_TEST(vmem_probe::can_read(r.base()));
    BOOST_TEST(!vmem_probe::can_write(r.base()));
    BOOST_TEST(vmem_probe::can_write(bytes(r) + page())); // the neighbour is untouched
    BOOST_TEST(has_pattern(r.base(), r.size(), 11));
    vmem_oracle::page_model model(2); // the OS agrees, run by run
    model.commit(0, 1, vmem::access::read);
    model.commit(1, 1, vmem::access::read_write);
    BOOST_TEST(vmem_oracle::agrees(r, model));
}

BOOST_AUTO_TEST_CASE(no_access_faults_and_restoring_access_shows_the_same_contents) {
    vmem::reservation r(2 * page());
    r.commit(r.base(), r.size(), vmem::access::read_write);
    fill_pattern(r.base(), r.size(), 12);
    r.protect(r.base(), r.size(), vmem::access::none);
    BOOST_TEST(!vmem_probe::can_read(r.base()));
    BOOST_TEST(r.committed_bytes() == r.size()); // still committed
    r.protect(r.base(), r.size(), vmem::access::read_write);
    BOOST_TEST(has_pattern(r.base(), r.size(), 12));
}

BOOST_AUTO_TEST_CASE(reserved_pages_cannot_be_protected) {
    vmem::reservation r(2 * page());
    std::error_code ec;
    r.protect(r.base(), page(), vmem::access::read, ec);
    BOOST_TEST(ec == vmem::errc::not_committed);
    BOOST_TEST(!vmem_probe::can_read(r.base()));
}

// The run just below a reserved range may be a guard that ends where the range begins: the range
// is still reserved, refused as not committed, not as a guard.
BOOST_AUTO_TEST_CASE(reserved_pages_right_after_a_guard_are_not_committed) {
    vmem::reservation r(3 * page());
    r.guard(r.base(), page());
    std::error_code ec;
    r.protect(bytes(r) + page(), page(), vmem::access::read, ec);
    BOOST_TEST(ec == vmem::errc::not_committed, ec.message());
    r.protect(bytes(r) + page(), 2 * page(), vmem::access::read, ec);
    BOOST_TEST(ec == vmem::errc::not_committed, ec.message());
    BOOST_TEST(!vmem_probe::can_read(bytes(r) + page()));
}

BOOST_AUTO_TEST_CASE(a_range_partly_reserved_is_refused_whole) {
    vmem::reservation r(3 * page());
    r.commit(r.base(), 2 * page(), vmem::access::read_write);
    fill_pattern(r.base(), 2 * page(), 13);
    std::error_code ec;
    r.protect(bytes(r) + page(), 2 * page(), vmem::access::read, ec);
    BOOST_TEST(ec == vmem::errc::not_committed);
    BOOST_TEST(vmem_probe::can_write(bytes(r) + page())); // not half-applied
    BOOST_TEST(!vmem_probe::can_read(bytes(r) + 2 * page()));
    BOOST_TEST(has_pattern(r.base(), 2 * page(), 13));
    vmem_oracle::page_model model(3); // the OS agrees, run by run: nothing changed
    model.commit(0, 2, vmem::access::read_write);
    BOOST_TEST(vmem_oracle::agrees(r, model));
}

BOOST_AUTO_TEST_CASE(protect_after_decommit_is_refused) {
    vmem::reservation r(2 * page());
    r.commit(r.base(), r.size(), vmem::access::read_write);
    r.decommit(bytes(r) + page(), page());
    std::error_code ec;
    vmem::protect(r.base(), r.size(), vmem::access::read, ec);
    BOOST_TEST(ec == vmem::errc::not_committed);
    BOOST_TEST(vmem_probe::can_write(r.base()));
    vmem_oracle::page_model model(2); // the OS agrees, run by run: nothing changed
    model.commit(0, 1, vmem::access::read_write);
    BOOST_TEST(vmem_oracle::agrees(r, model));
}

// Code written to a page runs after protect gives it an executable access, and only then. Where
// capabilities::write_execute is false, the protect to read_write_execute is refused and leaves
// the page as the previous protect made it (read_execute: the code still runs, no write).
BOOST_AUTO_TEST_CASE(protect_lets_code_run_exactly_when_the_access_says,
                     *utf::precondition(code_known)) {
    struct access_case {
        vmem::access a;
        const char* name;
        bool runs;
        bool writes;
    };
    static const access_case accesses[] = {
        {vmem::access::none, "none", false, false},
        {vmem::access::read, "read", false, false},
        {vmem::access::read_write, "read_write", false, true},
        {vmem::access::read_execute, "read_execute", true, false},
        {vmem::access::read_write_execute, "read_write_execute", true, true},
        {vmem::access::read_write, "read_write again", false, true}};
    const bool write_execute = vmem::query_capabilities().write_execute;
    vmem::reservation r(page());
    r.commit(r.base(), page(), vmem::access::read_write);
    BOOST_TEST_REQUIRE(vmem_probe::write_return_42(r.base()));
    BOOST_TEST(!vmem_probe::can_execute(r.base()));
    const access_case* in_force = &accesses[2]; // read_write, from the commit
    for (const auto& x : accesses) {
        std::error_code ec;
        r.protect(r.base(), page(), x.a, ec);
        if (x.a == vmem::access::read_write_execute && !write_execute)
            BOOST_TEST(static_cast<bool>(ec), "protect to " << x.name
                                                            << " succeeded although "
                                                               "capabilities::write_execute is "
                                                               "false");
        else if (!ec)
            in_force = &x;
        else
            BOOST_TEST(!ec, "protect to " << x.name << ": " << ec.message());
        BOOST_TEST(vmem_probe::can_execute(r.base()) == in_force->runs,
                   "after protect to " << x.name);
        BOOST_TEST(vmem_probe::can_write(r.base()) == in_force->writes,
                   "after protect to " << x.name);
    }
}

BOOST_AUTO_TEST_SUITE_END()
