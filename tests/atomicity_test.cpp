// vmem tests: a commit or protect that the OS refuses part of the way through changes nothing.
//
// Linux's mprotect works through the kernel's mappings of a range in order and does not undo the
// ones it changed when a later one is refused. Here the range is [page 0, page 1, a tail], three
// mappings with different accesses, and only the tail is refused: it is larger than what the OS
// grants (heuristic overcommit refuses one change larger than RAM + swap, strict accounting one
// beyond the commit limit), or a child process runs with RLIMIT_DATA just above what it holds, so
// that mprotect's may_expand_vm refuses the tail in any overcommit mode. Pages 0 and 1 have then
// been changed by the kernel, and vmem must put them back. Windows is all or nothing; the same
// test there checks that vmem adds nothing of its own.
//
// The scenarios report without Boost.Test, so that a child process can run them too.
#include "common.hpp"

#include <sstream>
#include <string>

using namespace vmem_test;

namespace {

class findings {
public:
    void expect(bool ok, const std::string& what) {
        if (!ok)
            out_ << what << "; ";
    }
    std::string str() const { return out_.str(); }

private:
    std::ostringstream out_;
};

std::string describe(const std::error_code& ec) {
    return std::string(ec.category().name()) + ":" + std::to_string(ec.value()) + " (" +
           ec.message() + ")";
}

bool read_only(unsigned char* p) {
    return vmem_probe::can_read(p) && !vmem_probe::can_write(p);
}

// Reserves page 0, page 1 and `tail` bytes, and commits page 1 read-only holding the pattern
// `seed`: what both scenarios below start from. Returns what could not be done, if anything.
std::string reserve_with_page_1_read_only(vmem::reservation& r, std::size_t tail, unsigned seed) {
    std::error_code ec;
    r = vmem::reservation(2 * page() + tail, {}, ec);
    if (ec)
        return "could not reserve: " + describe(ec);
    unsigned char* const p1 = bytes(r) + page();
    r.commit(p1, page(), vmem::access::read_write, ec);
    if (ec)
        return "could not commit page 1: " + describe(ec);
    fill_pattern(p1, page(), seed);
    r.protect(p1, page(), vmem::access::read, ec);
    if (ec)
        return "could not protect page 1: " + describe(ec);
    return {};
}

// What a refused commit or protect of all of `r` must leave, in both scenarios: page 0 and the
// tail inaccessible, page 1 read-only and holding the pattern `seed`.
void expect_pages_kept(findings& f, const vmem::reservation& r, unsigned seed) {
    unsigned char* const p0 = bytes(r);
    unsigned char* const p1 = p0 + page();
    unsigned char* const rest = p1 + page();
    f.expect(!vmem_probe::can_read(p0), "page 0 became accessible");
    f.expect(read_only(p1), "page 1 is not read-only any more");
    f.expect(has_pattern(p1, page(), seed), "page 1 lost its contents");
    f.expect(!vmem_probe::can_read(rest), "the tail became accessible");
}

// Page 0 reserved, page 1 committed read-only holding a pattern, then `tail` bytes reserved. A
// commit of all of it as read_write is refused for the tail, and must leave all as it was.
std::string refused_commit_changes_nothing(std::size_t tail) {
    vmem::reservation r;
    const std::string not_set_up = reserve_with_page_1_read_only(r, tail, 21);
    if (!not_set_up.empty())
        return not_set_up;
    findings f;
    std::error_code ec;
    unsigned char* const p0 = bytes(r);
    unsigned char* const p1 = p0 + page();

    r.commit(r.base(), r.size(), vmem::access::read_write, ec);
    f.expect(ec == std::errc::not_enough_memory,
             "the commit was not refused for lack of memory: " + describe(ec));
    expect_pages_kept(f, r, 21);
    f.expect(r.committed_bytes() == page(),
             "committed_bytes() is " + std::to_string(r.committed_bytes()) + ", not one page");

    // vmem and the OS still agree about every page.
    r.protect(p0, page(), vmem::access::read, ec);
    f.expect(ec == vmem::errc::not_committed,
             "protect of page 0 was not refused as not_committed: " + describe(ec));
    r.protect(p1, page(), vmem::access::read_write, ec);
    f.expect(!ec, "protect of page 1 was refused: " + describe(ec));
    f.expect(vmem_probe::can_write(p1) && has_pattern(p1, page(), 21),
             "page 1 is not writable with its contents after protect");
    r.commit(p0, page(), vmem::access::read_write, ec);
    f.expect(!ec, "commit of page 0 alone was refused: " + describe(ec));
    f.expect(!ec && all_equal(p0, page(), 0), "page 0 does not read zero when committed");
    f.expect(r.committed_bytes() == 2 * page(), "committed_bytes() is not two pages at the end");
    return f.str();
}

// Page 0 committed with no access, page 1 committed read-only holding a pattern, then `tail`
// bytes committed with no access (which takes no charge where the charge follows writability). A
// protect of all of it to read_write is refused for the tail, and must leave all as it was.
std::string refused_protect_changes_nothing(std::size_t tail) {
    vmem::reservation r;
    const std::string not_set_up = reserve_with_page_1_read_only(r, tail, 22);
    if (!not_set_up.empty())
        return not_set_up;
    findings f;
    std::error_code ec;
    unsigned char* const p0 = bytes(r);
    unsigned char* const p1 = p0 + page();
    unsigned char* const rest = p1 + page();
    r.commit(p0, page(), vmem::access::none, ec);
    if (!ec)
        r.commit(rest, tail, vmem::access::none, ec);
    if (ec)
        return "could not set the pages up: " + describe(ec);

    r.protect(r.base(), r.size(), vmem::access::read_write, ec);
    f.expect(ec == std::errc::not_enough_memory,
             "the protect was not refused for lack of memory: " + describe(ec));
    expect_pages_kept(f, r, 22);
    f.expect(r.committed_bytes() == r.size(), "committed_bytes() changed");

    // Every page is still committed, each with its own access, as vmem knows.
    r.protect(p1, page(), vmem::access::read_write, ec);
    f.expect(!ec, "protect of page 1 was refused: " + describe(ec));
    f.expect(vmem_probe::can_write(p1) && has_pattern(p1, page(), 22),
             "page 1 is not writable with its contents after protect");
    r.protect(p0, page(), vmem::access::read, ec);
    f.expect(!ec, "protect of page 0 was refused: " + describe(ec));
    f.expect(read_only(p0) && all_equal(p0, page(), 0), "page 0 is not read-only and zero");
    return f.str();
}

constexpr std::size_t data_headroom_for_every_access = std::size_t{64} << 20;
constexpr std::size_t tail_beyond_headroom_for_every_access = std::size_t{512} << 20;

// Pages whose access came from every path vmem records it by (a new run, a run joined to its
// neighbour, all of a run, the head of a run, a protect of a whole run, a protect that splits
// one), then `tail` bytes reserved. A commit of all of it as read_write is refused for the tail:
// vmem puts every page back to the access it recorded, so a wrong record shows as a wrong access.
std::string refused_commit_restores_every_recorded_access(std::size_t tail) {
    using vmem::access;
    findings f;
    std::error_code ec;
    constexpr std::size_t n = 10;
    vmem::reservation r(n * page() + tail, {}, ec);
    if (ec)
        return "could not reserve: " + describe(ec);
    auto pg = [&](std::size_t i) { return bytes(r) + i * page(); };
    const auto step = [&](const char* what) {
        f.expect(!ec, std::string("setting up: ") + what + ": " + describe(ec));
    };
    r.commit(pg(0), page(), access::read_write, ec); // a new run
    step("commit 0");
    fill_pattern(pg(0), page(), 50);
    r.commit(pg(0), page(), access::read, ec); // all of one run, another access
    step("recommit 0 read");
    r.commit(pg(1), 2 * page(), access::read_write, ec);
    step("commit 1-2");
    fill_pattern(pg(1), 2 * page(), 51);
    r.commit(pg(1), page(), access::read, ec); // the head of a run
    step("recommit 1 read");
    r.commit(pg(3), page(), access::read_write, ec); // joins 2
    step("commit 3");
    r.protect(pg(3), page(), access::none, ec); // splits the run 2-3
    step("protect 3 none");
    r.commit(pg(5), page(), access::read, ec);
    step("commit 5");
    r.commit(pg(4), page(), access::read, ec); // joins 5 from below
    step("commit 4");
    r.protect(pg(4), 2 * page(), access::read_execute, ec); // all of the joined run
    step("protect 4-5");
    r.commit(pg(7), 2 * page(), access::read_write, ec);
    step("commit 7-8");
    fill_pattern(pg(7), 2 * page(), 57);
    r.protect(pg(8), page(), access::read, ec); // the tail of a run
    step("protect 8 read");
    r.protect(pg(7), page(), access::none, ec); // the rest of it
    step("protect 7 none");
    if (!f.str().empty())
        return f.str();
    // page: 0 R, 1 R, 2 RW, 3 none, 4 RX, 5 RX, 6 reserved, 7 none, 8 R, 9 reserved
    const int readable[n] = {1, 1, 1, 0, 1, 1, 0, 0, 1, 0};
    const int writable[n] = {0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
    const std::size_t committed = r.committed_bytes();

    r.commit(r.base(), r.size(), access::read_write, ec);
    f.expect(ec == std::errc::not_enough_memory,
             "the commit was not refused for lack of memory: " + describe(ec));
    for (std::size_t i = 0; i < n; ++i) {
        f.expect(vmem_probe::can_read(pg(i)) == (readable[i] != 0),
                 "page " + std::to_string(i) + ": readable is wrong");
        f.expect(vmem_probe::can_write(pg(i)) == (writable[i] != 0),
                 "page " + std::to_string(i) + ": writable is wrong");
    }
    f.expect(has_pattern(pg(0), page(), 50), "page 0 lost its contents");
    f.expect(has_pattern(pg(1), 2 * page(), 51), "pages 1-2 lost their contents");
    f.expect(r.committed_bytes() == committed, "committed_bytes() changed");
    r.protect(pg(7), page(), access::read, ec);
    f.expect(!ec && has_pattern(pg(7), 2 * page(), 57), "pages 7-8 lost their contents");
    return f.str();
}

std::string every_access_under_a_data_limit(void*) {
    if (!vmem_probe::limit_writable_memory(data_headroom_for_every_access))
        return "could not set RLIMIT_DATA";
    return refused_commit_restores_every_recorded_access(tail_beyond_headroom_for_every_access);
}

// The tail that the OS refuses to commit or make writable: twice RAM + swap (the commit limit on
// Windows). Zero when that cannot be known or does not fit comfortably in the address space.
std::size_t tail_beyond_memory() {
    const auto limit = vmem_probe::memory_and_swap();
    if (sizeof(void*) < 8 || !limit || *limit == 0 || *limit > (std::size_t{1} << 44) / 2)
        return 0;
    const std::size_t g = granularity();
    return (2 * *limit + g - 1) / g * g;
}

boost::test_tools::assertion_result refused_for_size(utf::test_unit_id) {
    boost::test_tools::assertion_result r(tail_beyond_memory() != 0 &&
                                          vmem::query_capabilities().accounting !=
                                              vmem::commit_accounting::none);
    r.message() << "the OS does not refuse a commit for its size here (no commit accounting, "
                   "RAM + swap unknown, or the address space too small for twice it)";
    return r;
}

boost::test_tools::assertion_result charge_follows_writability(utf::test_unit_id) {
    boost::test_tools::assertion_result r(vmem::query_capabilities().commit_charged_when_writable);
    r.message() << "commit takes the whole charge here, so protect is never refused for memory";
    return r;
}

boost::test_tools::assertion_result has_data_limit(utf::test_unit_id) {
    boost::test_tools::assertion_result r(vmem_probe::platform_name() == "linux");
    r.message() << "needs fork and Linux's RLIMIT_DATA check in mprotect";
    return r;
}

// The tail under a data limit: larger than the headroom, so the kernel refuses it whatever the
// overcommit mode, small enough to reserve anywhere.
constexpr std::size_t data_headroom = std::size_t{64} << 20;
constexpr std::size_t tail_beyond_headroom = std::size_t{512} << 20;

std::string commit_under_a_data_limit(void*) {
    if (!vmem_probe::limit_writable_memory(data_headroom))
        return "could not set RLIMIT_DATA";
    return refused_commit_changes_nothing(tail_beyond_headroom);
}

std::string protect_under_a_data_limit(void*) {
    if (!vmem_probe::limit_writable_memory(data_headroom))
        return "could not set RLIMIT_DATA";
    return refused_protect_changes_nothing(tail_beyond_headroom);
}

} // namespace

BOOST_AUTO_TEST_SUITE(failure_atomicity)

BOOST_AUTO_TEST_CASE(a_commit_refused_for_its_tail_changes_nothing,
                     *utf::precondition(refused_for_size) *
                         utf::precondition(unless_wine{"commit accounting"})) {
    const std::string problems = refused_commit_changes_nothing(tail_beyond_memory());
    BOOST_TEST(problems.empty(), problems);
}

BOOST_AUTO_TEST_CASE(a_protect_refused_for_its_tail_changes_nothing,
                     *utf::precondition(refused_for_size) *
                         utf::precondition(charge_follows_writability) *
                         utf::precondition(unless_wine{"commit accounting"})) {
    const std::string problems = refused_protect_changes_nothing(tail_beyond_memory());
    BOOST_TEST(problems.empty(), problems);
}

BOOST_AUTO_TEST_CASE(a_commit_refused_under_a_data_limit_changes_nothing,
                     *utf::precondition(has_data_limit)) {
    const auto problems = vmem_probe::run_in_child(commit_under_a_data_limit, nullptr);
    BOOST_TEST_REQUIRE(problems.has_value());
    BOOST_TEST(problems->empty(), *problems);
}

BOOST_AUTO_TEST_CASE(a_protect_refused_under_a_data_limit_changes_nothing,
                     *utf::precondition(has_data_limit)) {
    const auto problems = vmem_probe::run_in_child(protect_under_a_data_limit, nullptr);
    BOOST_TEST_REQUIRE(problems.has_value());
    BOOST_TEST(problems->empty(), *problems);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(failure_atomicity)

BOOST_AUTO_TEST_CASE(a_refused_commit_restores_the_access_each_path_recorded,
                     *utf::precondition(has_data_limit)) {
    const auto problems = vmem_probe::run_in_child(every_access_under_a_data_limit, nullptr);
    BOOST_TEST_REQUIRE(problems.has_value());
    BOOST_TEST(problems->empty(), *problems);
}

BOOST_AUTO_TEST_SUITE_END()
