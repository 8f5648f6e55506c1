// vmem tests: lock / unlock, prefault, and making written code executable.
#include "common.hpp"

#include <cerrno>
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

} // namespace

BOOST_AUTO_TEST_SUITE(lock)

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
