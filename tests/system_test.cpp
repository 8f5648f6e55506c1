// vmem tests: system facts come from the OS.
#include "common.hpp"

#include <optional>
#include <string>

using namespace vmem_test;

BOOST_AUTO_TEST_SUITE(system_facts)

BOOST_AUTO_TEST_CASE(page_size_is_the_os_page_size) {
    BOOST_TEST(vmem::page_size() == vmem_probe::os_page_size());
    BOOST_TEST((vmem::page_size() & (vmem::page_size() - 1)) == 0u);
}

BOOST_AUTO_TEST_CASE(granularity_is_the_os_granularity_and_a_multiple_of_the_page) {
    BOOST_TEST(vmem::allocation_granularity() == vmem_probe::os_allocation_granularity());
    BOOST_TEST(vmem::allocation_granularity() % vmem::page_size() == 0u);
}

BOOST_AUTO_TEST_CASE(capabilities_agree_with_the_facts) {
    const vmem::capabilities c = vmem::query_capabilities();
    BOOST_TEST(c.page_size == vmem::page_size());
    BOOST_TEST(c.allocation_granularity == vmem::allocation_granularity());
}

namespace {

// What the OS's own setting says the accounting is: Linux's vm.overcommit_memory as the probe
// reads it, Windows strict, other systems none.
vmem::commit_accounting expected_accounting(std::optional<int> mode) {
    if (vmem_probe::platform_name() == "windows")
        return vmem::commit_accounting::strict;
    if (!mode)
        return vmem::commit_accounting::none;
    return *mode == 2   ? vmem::commit_accounting::strict
           : *mode == 1 ? vmem::commit_accounting::none
                        : vmem::commit_accounting::heuristic;
}

std::string accounting_under(void* mode) {
    const int m = *static_cast<int*>(mode);
    if (!vmem_probe::pretend_overcommit_mode(m))
        return "unsupported";
    const vmem::commit_accounting got = vmem::query_capabilities().accounting;
    return got == expected_accounting(m) ? ""
                                         : "mode " + std::to_string(m) + " read as accounting " +
                                               std::to_string(static_cast<int>(got));
}

} // namespace

BOOST_AUTO_TEST_CASE(accounting_is_what_the_os_setting_says) {
    const auto mode = vmem_probe::overcommit_mode();
    BOOST_TEST((vmem::query_capabilities().accounting == expected_accounting(mode)),
               "accounting " << static_cast<int>(vmem::query_capabilities().accounting)
                             << ", overcommit_memory " << (mode ? std::to_string(*mode) : "-"));
}

// Every Linux overcommit mode, each in a child process that sees its own value of
// /proc/sys/vm/overcommit_memory (the system's setting is not touched), so that all three
// answers are checked whatever this machine's mode is.
BOOST_AUTO_TEST_CASE(accounting_follows_each_overcommit_mode,
                     *utf::precondition([](utf::test_unit_id) {
                         boost::test_tools::assertion_result r(
                             vmem_probe::overcommit_mode().has_value());
                         r.message() << "no overcommit modes here";
                         return r;
                     })) {
    for (int mode : {0, 1, 2}) {
        const auto said = vmem_probe::run_in_child(accounting_under, &mode);
        BOOST_TEST_REQUIRE(said.has_value());
        if (*said == "unsupported") {
            BOOST_TEST_MESSAGE("cannot show this process another overcommit mode (needs a "
                               "private mount namespace); checked the machine's mode only");
            return;
        }
        BOOST_TEST(said->empty(), *said);
    }
}

BOOST_AUTO_TEST_SUITE_END()
