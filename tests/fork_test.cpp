// Tests of reserve_options::fork: what a child made by fork() sees of a reservation, also after
// the parent decommitted and recommitted part of it (the remap must keep the policy).
#include "common.hpp"

#include <string>

using namespace vmem_test;

namespace {

bool fork_control() {
    return vmem::query_capabilities().fork_control;
}

boost::test_tools::assertion_result has_fork_control(utf::test_unit_id) {
    boost::test_tools::assertion_result r(fork_control());
    r.message() << "capabilities::fork_control is false on " << vmem_probe::platform_name()
                << " (no fork, or no MADV_WIPEONFORK)";
    return r;
}

struct view {
    unsigned char* base;
    std::size_t size;
};

// In the child: what it finds where the parent wrote its pattern.
std::string look(void* arg) {
    const view& v = *static_cast<const view*>(arg);
    if (vmem_probe::is_unmapped(v.base, v.size))
        return "unmapped";
    for (std::size_t off = 0; off < v.size; off += vmem_probe::os_page_size())
        if (!vmem_probe::can_read(v.base + off))
            return "faults at " + std::to_string(off);
    if (all_equal(v.base, v.size, 0))
        return "zero";
    if (has_pattern(v.base, v.size, 5))
        return "data";
    return "something else";
}

// Reserves three granules with `policy`, commits and writes them; with `remap`, decommits and
// recommits the middle one first (a remap in the middle of the reservation), and writes again.
std::string child_sees(vmem::fork_policy policy, bool remap) {
    const std::size_t size = 3 * granularity();
    vmem::reserve_options o;
    o.fork = policy;
    vmem::reservation r(size, o);
    r.commit(r.base(), size, vmem::access::read_write);
    if (remap) {
        r.decommit(bytes(r) + granularity(), granularity());
        r.commit(bytes(r) + granularity(), granularity(), vmem::access::read_write);
    }
    fill_pattern(r.base(), size, 5);
    view v{bytes(r), size};
    const auto seen = vmem_probe::run_in_child(look, &v);
    BOOST_REQUIRE(seen.has_value());
    BOOST_TEST(has_pattern(r.base(), size, 5)); // the parent keeps its own
    return *seen;
}

// Committed at reserve: the one mapping carries the policy too.
std::string child_sees_committed_at_reserve(vmem::fork_policy policy) {
    const std::size_t size = 2 * granularity();
    vmem::reserve_options o;
    o.fork = policy;
    o.commit = true;
    vmem::reservation r(size, o);
    fill_pattern(r.base(), size, 5);
    view v{bytes(r), size};
    const auto seen = vmem_probe::run_in_child(look, &v);
    BOOST_REQUIRE(seen.has_value());
    return *seen;
}

} // namespace

BOOST_AUTO_TEST_SUITE(fork_policies)

BOOST_AUTO_TEST_CASE(policies_other_than_inherit_need_fork_control) {
    for (const auto policy : {vmem::fork_policy::dont_fork, vmem::fork_policy::zero_on_fork}) {
        vmem::reserve_options o;
        o.fork = policy;
        std::error_code ec;
        vmem::reservation r(granularity(), o, ec);
        if (fork_control()) {
            BOOST_TEST(!ec);
            BOOST_TEST(static_cast<bool>(r));
        } else {
            BOOST_TEST(ec == vmem::errc::not_supported);
            BOOST_TEST(ec == std::errc::not_supported);
            BOOST_TEST(!r);
        }
    }
    vmem::reserve_options o; // inherit works everywhere
    o.fork = vmem::fork_policy::inherit;
    vmem::reservation r(granularity(), o);
    BOOST_TEST(static_cast<bool>(r));
}

BOOST_AUTO_TEST_CASE(inherit_gives_the_child_a_copy, *utf::precondition(has_fork_control)) {
    BOOST_TEST(child_sees(vmem::fork_policy::inherit, false) == "data");
    BOOST_TEST(child_sees(vmem::fork_policy::inherit, true) == "data");
    BOOST_TEST(child_sees_committed_at_reserve(vmem::fork_policy::inherit) == "data");
}

BOOST_AUTO_TEST_CASE(dont_fork_leaves_the_child_nothing, *utf::precondition(has_fork_control)) {
    BOOST_TEST(child_sees(vmem::fork_policy::dont_fork, false) == "unmapped");
    BOOST_TEST(child_sees(vmem::fork_policy::dont_fork, true) == "unmapped");
    BOOST_TEST(child_sees_committed_at_reserve(vmem::fork_policy::dont_fork) == "unmapped");
}

BOOST_AUTO_TEST_CASE(zero_on_fork_gives_the_child_zero_pages,
                     *utf::precondition(has_fork_control)) {
    BOOST_TEST(child_sees(vmem::fork_policy::zero_on_fork, false) == "zero");
    BOOST_TEST(child_sees(vmem::fork_policy::zero_on_fork, true) == "zero");
    BOOST_TEST(child_sees_committed_at_reserve(vmem::fork_policy::zero_on_fork) == "zero");
}

BOOST_AUTO_TEST_SUITE_END()
