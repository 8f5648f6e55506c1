// vmem tests: lock / unlock, prefault, and making written code executable.
#include "common.hpp"

#include <cerrno>
#include <fstream>
#include <optional>
#include <string>

#if !defined(_WIN32)
#include <sys/resource.h>
#include <unistd.h>
#endif

using namespace vmem_test;

namespace {

// A child that may not lock more than one page (RLIMIT_MEMLOCK), run as an unprivileged user so
// that the limit holds (root's CAP_IPC_LOCK ignores it): locking four pages must be refused with
// the OS's own error, and nothing changes.
std::string lock_beyond_the_limit(void*) {
#if defined(_WIN32)
    return "no fork";
#else
    const rlimit one_page{page(), page()};
    if (setrlimit(RLIMIT_MEMLOCK, &one_page) != 0)
        return "could not set RLIMIT_MEMLOCK";
    if (geteuid() == 0 && setuid(65534) != 0)
        return "could not drop root's privilege";
    std::error_code ec;
    vmem::reservation r(4 * page(), {}, ec);
    if (ec)
        return "reserve: " + ec.message();
    r.commit(r.base(), r.size(), vmem::access::read_write, ec);
    fill_pattern(r.base(), r.size(), 12);
    r.lock(r.base(), r.size(), ec);
    if (!ec)
        return "locking four pages under a one-page RLIMIT_MEMLOCK succeeded";
    if (ec.category() != std::system_category() || (ec.value() != ENOMEM && ec.value() != EPERM))
        return "not the OS's own error: " + ec.message();
    if (!has_pattern(r.base(), r.size(), 12) || r.committed_bytes() != r.size())
        return "a refused lock changed the pages";
    return "";
#endif
}

// The process's locked memory as Linux reports it (VmLck in /proc/self/status), in bytes; empty
// where it cannot be read.
std::optional<std::size_t> locked_bytes() {
    if (vmem::query_capabilities().max_map_count == 0) // not Linux (Wine would show its own)
        return std::nullopt;
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmLck:", 0) == 0)
            return std::stoul(line.substr(6)) * 1024;
    return std::nullopt;
}

boost::test_tools::assertion_result locked_readable(utf::test_unit_id) {
    boost::test_tools::assertion_result r(locked_bytes().has_value());
    r.message() << "the process's locked memory cannot be read here (Linux VmLck only)";
    return r;
}

// Minor page faults of this process so far (POSIX getrusage); empty elsewhere.
std::optional<long> minor_faults() {
#if defined(_WIN32)
    return std::nullopt;
#else
    rusage u{};
    if (getrusage(RUSAGE_SELF, &u) != 0)
        return std::nullopt;
    return u.ru_minflt;
#endif
}

boost::test_tools::assertion_result faults_countable(utf::test_unit_id) {
    boost::test_tools::assertion_result r(minor_faults().has_value());
    r.message() << "page faults cannot be counted here (POSIX getrusage only)";
    return r;
}

} // namespace

BOOST_AUTO_TEST_SUITE(lock)

BOOST_AUTO_TEST_CASE(lock_and_unlock_change_what_the_os_counts_as_locked,
                     *utf::precondition(locked_readable)) {
    const std::size_t size = 4 * page();
    vmem::reservation r(size);
    r.commit(r.base(), size, vmem::access::read_write);
    const std::size_t before = *locked_bytes();
    r.lock(r.base(), size);
    BOOST_TEST(*locked_bytes() == before + size);
    r.unlock(r.base(), size);
    BOOST_TEST(*locked_bytes() == before);
    r.unlock(r.base(), size); // unlocking what is not locked is no error
    r.lock(r.base(), size);
    r.discard(r.base(), size); // discard unlocks what it covers
    BOOST_TEST(*locked_bytes() == before);
    BOOST_TEST((all_equal(r.base(), size, 0) || !vmem::query_capabilities().discard_zero_fills));
}

BOOST_AUTO_TEST_CASE(pages_with_no_access_cannot_be_locked) {
    vmem::reservation r(2 * page());
    r.commit(r.base(), page(), vmem::access::read_write);
    r.commit(bytes(r) + page(), page(), vmem::access::none);
    const auto before = locked_bytes();
    std::error_code ec;
    r.lock(r.base(), r.size(), ec);
    BOOST_TEST(ec == vmem::errc::no_access);
    BOOST_TEST((ec == std::errc::invalid_argument));
    if (before)
        BOOST_TEST(*locked_bytes() == *before, "a refused lock left pages locked");
    vmem::unlock(r.base(), r.size(), ec); // unlock has nothing to refuse
    BOOST_TEST(!ec, ec.message());
}

BOOST_AUTO_TEST_CASE(discard_of_locked_pages_unlocks_and_discards_them) {
    vmem::reservation r(2 * page());
    r.commit(r.base(), r.size(), vmem::access::read_write);
    fill_pattern(r.base(), r.size(), 15);
    r.lock(r.base(), r.size());
    std::error_code ec;
    r.discard(r.base(), r.size(), ec);
    BOOST_TEST_REQUIRE(!ec, ec.message());
    BOOST_TEST(vmem_probe::can_write(r.base()));
    if (vmem::query_capabilities().discard_zero_fills)
        BOOST_TEST(all_equal(r.base(), r.size(), 0));
}

BOOST_AUTO_TEST_CASE(locked_pages_are_resident_and_keep_their_contents) {
    const std::size_t size = 8 * page();
    vmem::reservation r(size);
    r.commit(r.base(), size, vmem::access::read_write);
    bytes(r)[0] = 42;
    r.lock(r.base(), size);
    const auto resident = vmem_probe::resident_bytes(r.base(), size);
    BOOST_TEST_REQUIRE(resident.has_value());
    BOOST_TEST(*resident == size, "locked pages that are not all in RAM");
    BOOST_TEST(bytes(r)[0] == 42);
    r.unlock(r.base(), size);
    BOOST_TEST(vmem_probe::can_write(bytes(r) + size - 1));
}

BOOST_AUTO_TEST_CASE(lock_and_unlock_refuse_reserved_pages) {
    vmem::reservation r(2 * page());
    r.commit(r.base(), page(), vmem::access::read_write);
    std::error_code ec;
    r.lock(r.base(), r.size(), ec);
    BOOST_TEST(ec == vmem::errc::not_committed);
    vmem::unlock(r.base(), r.size(), ec);
    BOOST_TEST(ec == vmem::errc::not_committed);
    vmem::lock(nullptr, page(), ec);
    BOOST_TEST(ec == vmem::errc::null_address);
    BOOST_CHECK_THROW(r.lock(r.base(), 2 * page()), std::system_error);
}

BOOST_AUTO_TEST_CASE(a_lock_beyond_the_limit_reports_the_os_error, *utf::precondition(can_fork)) {
    const auto problems = vmem_probe::run_in_child(lock_beyond_the_limit, nullptr);
    BOOST_TEST_REQUIRE(problems.has_value());
    BOOST_TEST(problems->empty(), *problems);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(prefault)

BOOST_AUTO_TEST_CASE(prefaulted_pages_are_resident_before_any_touch) {
    const std::size_t size = 16 * page();
    vmem::reservation r(2 * size);
    r.commit(r.base(), size, vmem::access::read_write, vmem::commit_options{true});
    r.commit(bytes(r) + size, size, vmem::access::read_write);
    const auto populated = vmem_probe::resident_bytes(r.base(), size);
    const auto plain = vmem_probe::resident_bytes(bytes(r) + size, size);
    BOOST_TEST_REQUIRE((populated && plain));
    BOOST_TEST(*populated == size);
    BOOST_TEST(*plain == 0u, "fresh pages were resident without prefault: the test shows nothing");
    BOOST_TEST(all_equal(r.base(), size, 0));
}

BOOST_AUTO_TEST_CASE(prefaulted_writable_pages_take_no_fault_when_written,
                     *utf::precondition(faults_countable) *
                         utf::precondition(unless_thread_sanitizer{
                             "its shadow memory takes page faults of its own on every write"})) {
    // Populated for writing, not mapped to the shared zero page (which the first write would
    // copy, page by page).
    const std::size_t pages = 64;
    vmem::reservation r(pages * page());
    r.commit(r.base(), r.size(), vmem::access::read_write, vmem::commit_options{true});
    const long before = *minor_faults();
    for (std::size_t i = 0; i < pages; ++i)
        bytes(r)[i * page()] = 1;
    const long faults = *minor_faults() - before;
    BOOST_TEST(faults < static_cast<long>(pages / 4),
               faults << " faults writing " << pages << " prefaulted pages");
}

BOOST_AUTO_TEST_CASE(prefault_keeps_contents_and_never_writes_read_only_pages) {
    vmem::reservation r(4 * page());
    r.commit(r.base(), 2 * page(), vmem::access::read_write);
    fill_pattern(r.base(), 2 * page(), 13);
    // Recommitting committed pages with prefault keeps their contents.
    r.commit(r.base(), 2 * page(), vmem::access::read_write, vmem::commit_options{true});
    BOOST_TEST(has_pattern(r.base(), 2 * page(), 13));
    // Read-only and no-access pages are populated (or left) without a write: no fault, no error.
    r.commit(bytes(r) + 2 * page(), page(), vmem::access::read, vmem::commit_options{true});
    r.commit(bytes(r) + 3 * page(), page(), vmem::access::none, vmem::commit_options{true});
    BOOST_TEST(!vmem_probe::can_write(bytes(r) + 2 * page()));
    BOOST_TEST(all_equal(bytes(r) + 2 * page(), page(), 0));
    BOOST_TEST(!vmem_probe::can_read(bytes(r) + 3 * page()));
    BOOST_TEST(r.committed_bytes() == 4 * page());
}

BOOST_AUTO_TEST_CASE(a_refused_prefault_undoes_the_commit) {
    vmem::reservation r(3 * page());
    r.commit(r.base(), page(), vmem::access::read);
    vmem::testing::fail_os_call(vmem::testing::os_call::prefault,
                                std::make_error_code(std::errc::not_enough_memory));
    std::error_code ec;
    r.commit(r.base(), r.size(), vmem::access::read_write, vmem::commit_options{true}, ec);
    vmem::testing::clear_os_call_failures();
    BOOST_TEST(ec == std::errc::not_enough_memory);
    BOOST_TEST(r.committed_bytes() == page());
    BOOST_TEST(vmem_probe::can_read(r.base()));
    BOOST_TEST(!vmem_probe::can_write(r.base()), "the first page kept the refused access");
    BOOST_TEST(!vmem_probe::can_read(bytes(r) + page()), "reserved pages stayed committed");
    BOOST_TEST(!vmem_probe::can_read(bytes(r) + 2 * page()));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(jit)

BOOST_AUTO_TEST_CASE(written_code_made_executable_runs_and_refuses_writes,
                     *utf::precondition(code_known)) {
    vmem::reserve_options o;
    o.executable = true;
    vmem::reservation r(2 * page(), o);
    r.commit(r.base(), r.size(), vmem::access::read_write);
    BOOST_TEST_REQUIRE(vmem_probe::write_return_42(r.base()));
    BOOST_TEST(!vmem_probe::can_execute(r.base()), "read_write pages ran code");
    r.make_executable(r.base(), page());
    BOOST_TEST(vmem_probe::can_execute(r.base()));
    BOOST_TEST(!vmem_probe::can_write(r.base()), "executable pages stayed writable");
    BOOST_TEST(vmem_probe::can_write(bytes(r) + page()), "the next page changed too");
    // The cycle again: writable, new code, executable.
    r.protect(r.base(), page(), vmem::access::read_write);
    BOOST_TEST_REQUIRE(vmem_probe::write_return_42(r.base()));
    vmem::make_executable(r.base(), page());
    BOOST_TEST(vmem_probe::can_execute(r.base()));
}

BOOST_AUTO_TEST_CASE(make_executable_refuses_reserved_pages) {
    vmem::reservation r(2 * page());
    r.commit(r.base(), page(), vmem::access::read_write);
    std::error_code ec;
    r.make_executable(r.base(), r.size(), ec);
    BOOST_TEST(ec == vmem::errc::not_committed);
    BOOST_TEST(vmem_probe::can_write(r.base()));
}

BOOST_AUTO_TEST_SUITE_END()
