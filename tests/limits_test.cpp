// vmem tests: the out-of-memory answers told apart — the mapping limit and the process's limits.
#include "common.hpp"

#include <fstream>
#include <string>

#if !defined(_WIN32)
#include <sys/resource.h>
#endif

using namespace vmem_test;

namespace {

std::size_t read_number(const char* path) {
    std::ifstream in(path);
    std::size_t n = 0;
    in >> n;
    return n;
}

// In a child: splits one reservation into as many mappings as vm.max_map_count allows, by
// committing every other page, until the kernel refuses; the refusal must be mapping_limit, and
// everything can still be released.
std::string split_until_the_mapping_limit(void*) {
    const std::size_t limit = read_number("/proc/sys/vm/max_map_count");
    if (limit == 0 || limit > 1000000)
        return "skip: vm.max_map_count unreadable or too large to reach";
    std::error_code ec;
    // Two pages per mapping, and some to spare for what the process maps already.
    vmem::reservation r((2 * limit + 1024) * page(), {}, ec);
    if (ec)
        return "reserve: " + ec.message();
    for (std::size_t i = 0; i < limit + 512; ++i) {
        r.commit(bytes(r) + 2 * i * page(), page(), vmem::access::read_write, ec);
        if (ec)
            break;
    }
    if (!ec)
        return "committing every other page never reached the mapping limit";
    if (ec != vmem::errc::mapping_limit)
        return "refused with '" + ec.message() + "', not mapping_limit";
    if (ec != std::errc::not_enough_memory)
        return "mapping_limit does not compare equal to not_enough_memory";
    r.release(ec);
    if (ec)
        return "release at the mapping limit: " + ec.message();
    return "";
}

// In a child limited to its data segment plus 1 MiB (RLIMIT_DATA): a 64 MiB commit is refused
// with process_limit, and the reservation stays usable.
std::string commit_beyond_the_data_limit(void*) {
    if (!vmem_probe::limit_writable_memory(std::size_t{1} << 20))
        return "skip: RLIMIT_DATA cannot be set here";
    std::error_code ec;
    const std::size_t size = std::size_t{64} << 20;
    vmem::reservation r(size, {}, ec);
    if (ec)
        return "reserve: " + ec.message();
    r.commit(r.base(), size, vmem::access::read_write, ec);
    if (ec != vmem::errc::process_limit)
        return "refused with '" + ec.message() + "', not process_limit";
    if (ec != std::errc::not_enough_memory)
        return "process_limit does not compare equal to not_enough_memory";
    r.commit(r.base(), page(), vmem::access::read_write, ec);
    if (ec)
        return "the reservation is no longer usable: " + ec.message();
    return "";
}

// In a child limited to its address space plus 64 MiB (RLIMIT_AS): a 1 GiB reserve is refused with
// process_limit, and a small one still works.
std::string reserve_beyond_the_address_space_limit(void*) {
#if defined(_WIN32)
    return "skip: no RLIMIT_AS";
#else
    std::ifstream status("/proc/self/status");
    std::size_t vm_size_kib = 0;
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmSize:", 0) == 0)
            vm_size_kib = std::stoul(line.substr(7));
    if (vm_size_kib == 0)
        return "skip: VmSize unreadable";
    const rlimit limit{vm_size_kib * 1024 + (std::size_t{64} << 20),
                       vm_size_kib * 1024 + (std::size_t{64} << 20)};
    if (setrlimit(RLIMIT_AS, &limit) != 0)
        return "skip: RLIMIT_AS cannot be set here";
    std::error_code ec;
    void* p = vmem::reserve(std::size_t{1} << 30, {}, ec);
    if (p != nullptr)
        return "a 1 GiB reserve under a 64 MiB headroom succeeded";
    if (ec != vmem::errc::process_limit)
        return "refused with '" + ec.message() + "', not process_limit";
    vmem::reservation small(page(), {}, ec);
    if (ec)
        return "a small reserve failed after: " + ec.message();
    return "";
#endif
}

void run(std::string (*body)(void*)) {
    const auto problems = vmem_probe::run_in_child(body, nullptr);
    if (!problems) {
        BOOST_TEST_MESSAGE("no fork here: tried on Linux only");
        return;
    }
    if (problems->rfind("skip: ", 0) == 0) {
        BOOST_TEST_MESSAGE(*problems);
        return;
    }
    BOOST_TEST(problems->empty(), *problems);
}

boost::test_tools::assertion_result linux_limits(utf::test_unit_id) {
    boost::test_tools::assertion_result r(vmem::query_capabilities().max_map_count != 0);
    r.message() << "no vm.max_map_count and no RLIMIT_DATA check in mprotect here (Linux only)";
    return r;
}

} // namespace

BOOST_AUTO_TEST_SUITE(limits)

BOOST_AUTO_TEST_CASE(the_mapping_limit_is_told_apart,
                     *utf::precondition(linux_limits) *
                         utf::precondition(unless_thread_sanitizer{
                             "its runtime needs mappings of its own and dies at the limit"})) {
    run(split_until_the_mapping_limit);
}

BOOST_AUTO_TEST_CASE(the_data_limit_is_told_apart, *utf::precondition(linux_limits)) {
    run(commit_beyond_the_data_limit);
}

BOOST_AUTO_TEST_CASE(the_address_space_limit_is_told_apart, *utf::precondition(linux_limits)) {
    run(reserve_beyond_the_address_space_limit);
}

BOOST_AUTO_TEST_CASE(an_injected_out_of_memory_stays_itself) {
    // Nothing near a limit: an ENOMEM (or the commit limit) is not mistaken for one.
    vmem::reservation r(page());
    vmem::testing::fail_os_call(vmem::testing::os_call::commit,
                                std::make_error_code(std::errc::not_enough_memory));
    std::error_code ec;
    r.commit(r.base(), page(), vmem::access::read_write, ec);
    vmem::testing::clear_os_call_failures();
    BOOST_TEST(ec == std::errc::not_enough_memory);
    BOOST_TEST(ec != vmem::errc::mapping_limit);
    BOOST_TEST(ec != vmem::errc::process_limit);
}

BOOST_AUTO_TEST_SUITE_END()
