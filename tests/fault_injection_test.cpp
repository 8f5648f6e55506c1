// vmem tests: the paths the OS rarely takes, through the seam of <vmem/testing.hpp>.
#include "common.hpp"

#include <thread>
#include <vector>

using namespace vmem_test;
using vmem::testing::os_call;

namespace {

struct disarm {
    ~disarm() { vmem::testing::clear_os_call_failures(); }
};

const std::error_code out_of_memory = std::make_error_code(std::errc::not_enough_memory);

// What a test can see of one page: whether it reads, whether it writes, and a digest of its bytes.
struct page_view {
    bool readable = false;
    bool writable = false;
    unsigned long digest = 0;
    bool operator==(const page_view& o) const {
        return readable == o.readable && writable == o.writable && digest == o.digest;
    }
    bool operator!=(const page_view& o) const { return !(*this == o); }
};

std::vector<page_view> look(const vmem::reservation& r) {
    std::vector<page_view> out;
    for (std::size_t off = 0; off < r.size(); off += page()) {
        unsigned char* p = bytes(r) + off;
        page_view v;
        v.readable = vmem_probe::can_read(p);
        v.writable = vmem_probe::can_write(p);
        if (v.readable)
            for (std::size_t i = 0; i < page(); ++i)
                v.digest = v.digest * 31 + p[i];
        out.push_back(v);
    }
    return out;
}

// Five pages with every state a failed call must keep: read_write, read-only and no access (all
// committed, the first two holding patterns), read_execute, and reserved.
struct mixed {
    vmem::reservation r{5 * page()};
    mixed() {
        r.commit(r.base(), 4 * page(), vmem::access::read_write);
        fill_pattern(r.base(), 2 * page(), 34);
        r.protect(bytes(r) + page(), page(), vmem::access::read);
        r.protect(bytes(r) + 2 * page(), page(), vmem::access::none);
        r.protect(bytes(r) + 3 * page(), page(), vmem::access::read_execute);
    }
    // Every page as it was set up, and vmem agreeing page by page.
    void check_unchanged(const std::vector<page_view>& before, std::size_t book_before) {
        BOOST_TEST((look(r) == before), "a page changed");
        BOOST_TEST(r.committed_bytes() == 4 * page());
        BOOST_TEST(vmem::testing::bookkeeping_bytes() == book_before);
        BOOST_TEST(vmem_probe::can_write(r.base()));
        BOOST_TEST((vmem_probe::can_read(r.base()) && has_pattern(r.base(), page(), 34)));
        BOOST_TEST(!vmem_probe::can_write(bytes(r) + page()));
        std::error_code ec;
        r.protect(bytes(r) + 4 * page(), page(), vmem::access::read, ec);
        BOOST_TEST(ec == vmem::errc::not_committed); // page 4 still reserved to vmem
        r.protect(r.base(), 4 * page(), vmem::access::read_write, ec); // pages 0-3 committed
        BOOST_TEST(!ec, ec.message());
        BOOST_TEST((vmem_probe::can_read(r.base()) && vmem_probe::can_read(bytes(r) + page()) &&
                    has_pattern(r.base(), 2 * page(), 34)));
    }
};

// Sets up the mixed pages, arms `call` to fail for lack of memory, has `refused` make the call
// over them, and checks that it was refused and changed nothing.
template <class Refused>
void refused_over_mixed_pages_changes_nothing(os_call call, Refused refused) {
    disarm guard;
    mixed m;
    const std::vector<page_view> before = look(m.r);
    const std::size_t book = vmem::testing::bookkeeping_bytes();
    vmem::testing::fail_os_call(call, out_of_memory);
    std::error_code ec;
    refused(m.r, ec);
    BOOST_TEST(ec == std::errc::not_enough_memory);
    m.check_unchanged(before, book);
}

} // namespace

BOOST_AUTO_TEST_SUITE(fault_injection)

// The seam is shared by every thread: arming and disarming from two threads at once is safe (each
// takes the seam's lock; ThreadSanitizer reports one that does not), and it works afterwards.
BOOST_AUTO_TEST_CASE(arming_and_clearing_from_two_threads) {
    disarm d;
    std::thread other([] {
        for (int i = 0; i < 2000; ++i) {
            vmem::testing::fail_os_call(os_call::unlock, out_of_memory, 1000000);
            vmem::testing::clear_os_call_failures();
        }
    });
    for (int i = 0; i < 2000; ++i) {
        vmem::testing::clear_os_call_failures();
        vmem::testing::fail_os_call(os_call::lock, out_of_memory, 1000000);
    }
    other.join();
    vmem::testing::clear_os_call_failures();
    vmem::reservation r(page());
    vmem::testing::fail_os_call(os_call::commit, out_of_memory);
    std::error_code ec;
    r.commit(r.base(), page(), vmem::access::read_write, ec);
    BOOST_TEST(ec == out_of_memory, ec.message());
    r.commit(r.base(), page(), vmem::access::read_write, ec); // disarmed by its failure
    BOOST_TEST(!ec, ec.message());
}

BOOST_AUTO_TEST_CASE(a_refused_commit_leaves_the_reservation_usable_and_unchanged) {
    disarm guard;
    vmem::reservation r(4 * page());
    r.commit(r.base(), page(), vmem::access::read_write);
    fill_pattern(r.base(), page(), 31);
    vmem::testing::fail_os_call(os_call::commit, out_of_memory);
    std::error_code ec;
    r.commit(r.base(), r.size(), vmem::access::read, ec);
    BOOST_TEST(ec == std::errc::not_enough_memory);
    BOOST_TEST(r.committed_bytes() == page());
    BOOST_TEST(vmem_probe::can_write(r.base())); // access not changed to read
    BOOST_TEST(!vmem_probe::can_read(bytes(r) + page()));
    BOOST_TEST(has_pattern(r.base(), page(), 31));
    r.protect(r.base(), page(), vmem::access::read_write, ec); // vmem still knows page 0's state
    BOOST_TEST(!ec, ec.message());
    r.protect(bytes(r) + page(), page(), vmem::access::read, ec);
    BOOST_TEST(ec == vmem::errc::not_committed);
    r.commit(r.base(), r.size(), vmem::access::read_write); // the seam disarmed itself
    BOOST_TEST(has_pattern(r.base(), page(), 31));
    BOOST_TEST(all_equal(bytes(r) + page(), 3 * page(), 0));
}

BOOST_AUTO_TEST_CASE(a_failed_decommit_reports_and_loses_nothing) {
    disarm guard;
    vmem::reservation r(2 * page());
    r.commit(r.base(), r.size(), vmem::access::read_write);
    fill_pattern(r.base(), r.size(), 32);
    vmem::testing::fail_os_call(os_call::decommit, out_of_memory);
    std::error_code ec;
    r.decommit(r.base(), r.size(), ec);
    BOOST_TEST(ec == std::errc::not_enough_memory);
    BOOST_TEST(r.committed_bytes() == r.size());
    BOOST_TEST((vmem_probe::can_write(r.base()) && vmem_probe::can_write(bytes(r) + page()) &&
                has_pattern(r.base(), r.size(), 32)));
    r.decommit(r.base(), r.size());
    BOOST_TEST(!vmem_probe::can_read(r.base()));
}

BOOST_AUTO_TEST_CASE(a_failed_release_reports_and_keeps_ownership) {
    disarm guard;
    vmem::reservation r(2 * page());
    r.commit(r.base(), page(), vmem::access::read_write);
    fill_pattern(r.base(), page(), 33);
    void* base = r.base();
    vmem::testing::fail_os_call(os_call::release, std::make_error_code(std::errc::io_error));
    std::error_code ec;
    r.release(ec);
    BOOST_TEST(ec == std::errc::io_error);
    BOOST_TEST(r.base() == base);
    BOOST_TEST(has_pattern(base, page(), 33));
    std::error_code again;
    vmem::commit(bytes(base) + page(), page(), vmem::access::read_write, again); // still known
    BOOST_TEST(!again);
    r.release();
    BOOST_TEST(!vmem_probe::can_read(base));
}

BOOST_AUTO_TEST_CASE(a_failed_reserve_returns_null_and_leaks_nothing) {
    disarm guard;
    vmem::testing::fail_os_call(os_call::reserve, out_of_memory);
    std::error_code ec;
    vmem::reservation r(granularity(), {}, ec);
    BOOST_TEST(ec == std::errc::not_enough_memory);
    BOOST_TEST(!r);
}

BOOST_AUTO_TEST_CASE(skip_lets_earlier_calls_through) {
    disarm guard;
    vmem::reservation r(3 * page());
    vmem::testing::fail_os_call(os_call::protect, out_of_memory, 1);
    r.commit(r.base(), r.size(), vmem::access::read_write);
    r.protect(r.base(), page(), vmem::access::read); // skipped: goes through
    std::error_code ec;
    r.protect(bytes(r) + page(), page(), vmem::access::read, ec);
    BOOST_TEST(ec == std::errc::not_enough_memory);
    BOOST_TEST(!vmem_probe::can_write(r.base()));
    BOOST_TEST(vmem_probe::can_write(bytes(r) + page()));
}

// A failed call changes nothing, whatever mixture of states its range covers: every page keeps
// its access and contents, committed_bytes() and vmem's bookkeeping stay as they were.
BOOST_AUTO_TEST_CASE(a_refused_commit_over_mixed_pages_changes_nothing) {
    const auto commit = [](vmem::reservation& r, std::error_code& ec) {
        r.commit(r.base(), r.size(), vmem::access::read_write, ec);
    };
    refused_over_mixed_pages_changes_nothing(os_call::commit, commit);
}

BOOST_AUTO_TEST_CASE(a_refused_protect_over_mixed_pages_changes_nothing) {
    const auto protect = [](vmem::reservation& r, std::error_code& ec) {
        r.protect(r.base(), 4 * page(), vmem::access::read, ec);
    };
    refused_over_mixed_pages_changes_nothing(os_call::protect, protect);
}

BOOST_AUTO_TEST_CASE(a_refused_decommit_over_mixed_pages_changes_nothing) {
    const auto decommit = [](vmem::reservation& r, std::error_code& ec) {
        r.decommit(bytes(r) + page(), 4 * page(), ec);
    };
    refused_over_mixed_pages_changes_nothing(os_call::decommit, decommit);
}

BOOST_AUTO_TEST_CASE(a_refused_release_over_mixed_pages_changes_nothing) {
    const auto release = [](vmem::reservation& r, std::error_code& ec) {
        void* base = r.base();
        r.release(ec);
        BOOST_TEST(r.base() == base); // still the owner
    };
    refused_over_mixed_pages_changes_nothing(os_call::release, release);
}

// A refused reserve takes no address space and leaves vmem's bookkeeping as it was, with or
// without an alignment that needs an over-sized reservation.
BOOST_AUTO_TEST_CASE(a_refused_reserve_takes_nothing) {
    disarm guard;
    for (std::size_t alignment : {std::size_t{0}, granularity() << 6}) {
        vmem::reserve_options o;
        o.alignment = alignment;
        const std::size_t book = vmem::testing::bookkeeping_bytes();
        const auto space = vmem_probe::address_space_in_use();
        vmem::testing::fail_os_call(os_call::reserve, out_of_memory);
        std::error_code ec;
        void* p = vmem::reserve(16 * page(), o, ec);
        BOOST_TEST(p == nullptr);
        BOOST_TEST(ec == std::errc::not_enough_memory);
        BOOST_TEST(vmem::testing::bookkeeping_bytes() == book);
        if (space)
            BOOST_TEST(*vmem_probe::address_space_in_use() == *space);
    }
}

// The seam fails an operation as a whole: a reserve with a hint that would try the hint and then
// anywhere fails once, instead of the hint using the failure up and the fallback succeeding.
BOOST_AUTO_TEST_CASE(an_armed_reserve_fails_a_reserve_with_a_hint) {
    disarm guard;
    vmem::reservation taken(granularity());
    void* free_span = vmem::reserve(2 * granularity());
    vmem::release(free_span);
    for (void* hint : {free_span, taken.base()}) { // a free hint, and one that is taken
        vmem::reserve_options o;
        o.address = hint; // placement::prefer
        vmem::testing::fail_os_call(os_call::reserve, out_of_memory);
        std::error_code ec;
        vmem::reservation r(granularity(), o, ec);
        BOOST_TEST(ec == std::errc::not_enough_memory, ec.message());
        BOOST_TEST(!r);
        vmem::reservation next(granularity(), o, ec); // the failure was used up
        BOOST_TEST(!ec, ec.message());
    }
}

// A failure must be one: arming with an empty error_code is refused, arms nothing, and the next
// operation really happens.
BOOST_AUTO_TEST_CASE(arming_with_no_error_is_refused_and_arms_nothing) {
    disarm guard;
    std::error_code ec = out_of_memory;
    vmem::testing::fail_os_call(os_call::commit, std::error_code{}, 0, ec);
    BOOST_TEST(ec == std::errc::invalid_argument);
    bool thrown = false;
    try {
        vmem::testing::fail_os_call(os_call::commit, std::error_code{});
    } catch (const std::system_error& e) {
        thrown = e.code() == std::errc::invalid_argument;
    }
    BOOST_TEST(thrown, "the throwing overload did not throw invalid_argument");
    vmem::reservation r(page());
    r.commit(r.base(), page(), vmem::access::read_write, ec);
    BOOST_TEST(!ec, ec.message());
    BOOST_TEST(vmem_probe::can_write(r.base()), "the commit reported success but did nothing");
    BOOST_TEST(r.committed_bytes() == page());
}

BOOST_AUTO_TEST_CASE(arming_an_operation_that_does_not_exist_is_refused) {
    disarm guard;
    constexpr int past_the_last = static_cast<int>(os_call::prefault) + 1;
    for (int kind : {past_the_last, past_the_last + 1, 255, -1}) {
        std::error_code ec;
        vmem::testing::fail_os_call(static_cast<os_call>(kind), out_of_memory, 0, ec);
        BOOST_TEST(ec == std::errc::invalid_argument, "os_call(" << kind << ")");
        BOOST_CHECK_THROW(vmem::testing::fail_os_call(static_cast<os_call>(kind), out_of_memory),
                          std::system_error);
    }
    // Nothing was armed: every operation goes through.
    std::error_code ec;
    vmem::reservation r(2 * page(), {}, ec);
    BOOST_TEST_REQUIRE(!ec, ec.message());
    r.commit(r.base(), r.size(), vmem::access::read_write, ec);
    BOOST_TEST(!ec);
    r.protect(r.base(), page(), vmem::access::read, ec);
    BOOST_TEST(!ec);
    r.decommit(r.base(), page(), ec);
    BOOST_TEST(!ec);
    r.release(ec);
    BOOST_TEST(!ec);
}

BOOST_AUTO_TEST_SUITE_END()
