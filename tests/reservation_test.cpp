// vmem tests: vmem::reservation, the owner.
#include "common.hpp"

#include <functional>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

using namespace vmem_test;

static_assert(!std::is_copy_constructible_v<vmem::reservation>);
static_assert(!std::is_copy_assignable_v<vmem::reservation>);
static_assert(std::is_nothrow_move_constructible_v<vmem::reservation>);
static_assert(std::is_nothrow_move_assignable_v<vmem::reservation>);
static_assert(std::is_nothrow_destructible_v<vmem::reservation>);
static_assert(std::is_nothrow_default_constructible_v<vmem::reservation>);

BOOST_AUTO_TEST_SUITE(reservation)

BOOST_AUTO_TEST_CASE(default_is_empty) {
    vmem::reservation r;
    BOOST_TEST(!r);
    BOOST_TEST(r.base() == nullptr);
    BOOST_TEST(r.size() == 0u);
    BOOST_TEST(r.committed_bytes() == 0u);
    BOOST_TEST(!r.contains(&r));
    BOOST_TEST(r.detach() == nullptr);
}

BOOST_AUTO_TEST_CASE(destructor_releases) {
    void* base = nullptr;
    {
        vmem::reservation r(granularity());
        r.commit(r.base(), page(), vmem::access::read_write);
        base = r.base();
    }
    BOOST_TEST(!vmem_probe::can_read(base));
    BOOST_TEST(is_free(base, granularity()));
}

BOOST_AUTO_TEST_CASE(move_construction_transfers_ownership) {
    vmem::reservation a(granularity());
    void* base = a.base();
    vmem::reservation b(std::move(a));
    BOOST_TEST(!a);
    BOOST_TEST(b.base() == base);
    b.commit(base, page(), vmem::access::read_write);
    bytes(base)[0] = 42;
    BOOST_TEST(bytes(b)[0] == 42);
}

BOOST_AUTO_TEST_CASE(move_assignment_releases_what_was_held) {
    vmem::reservation a(granularity());
    vmem::reservation b(granularity());
    void* old = b.base();
    void* moved = a.base();
    b = std::move(a);
    BOOST_TEST(!a);
    BOOST_TEST(b.base() == moved);
    BOOST_TEST(is_free(old, granularity())); // not leaked
    BOOST_TEST(!is_free(moved, granularity()));
}

BOOST_AUTO_TEST_CASE(move_assignment_from_itself_keeps_the_reservation) {
    vmem::reservation a(granularity());
    void* base = a.base();
    vmem::reservation& same = a;
    a = std::move(same);
    BOOST_TEST(a.base() == base);
    BOOST_TEST(!is_free(base, granularity()));
}

BOOST_AUTO_TEST_CASE(swap_exchanges) {
    vmem::reservation a(granularity());
    vmem::reservation b(2 * granularity());
    void* pa = a.base();
    void* pb = b.base();
    swap(a, b);
    BOOST_TEST(a.base() == pb);
    BOOST_TEST(b.base() == pa);
    BOOST_TEST(a.size() == 2 * granularity());
}

BOOST_AUTO_TEST_CASE(release_empties_and_frees) {
    vmem::reservation r(granularity());
    void* base = r.base();
    r.release();
    BOOST_TEST(!r);
    BOOST_TEST(is_free(base, granularity()));
    std::error_code ec;
    r.release(ec);
    BOOST_TEST(ec == vmem::errc::empty_reservation);
}

BOOST_AUTO_TEST_CASE(detach_gives_up_ownership_and_adopt_takes_it_back) {
    void* base = nullptr;
    {
        vmem::reservation r(granularity());
        r.commit(r.base(), page(), vmem::access::read_write);
        bytes(r)[0] = 7;
        base = r.detach();
        BOOST_TEST(!r);
    }
    BOOST_TEST(bytes(base)[0] == 7); // still alive
    vmem::reservation back = vmem::reservation::adopt(base);
    BOOST_TEST(back.base() == base);
    BOOST_TEST(back.size() == granularity());
    BOOST_TEST(back.committed_bytes() == page());
    back.release();
    BOOST_TEST(is_free(base, granularity()));
}

BOOST_AUTO_TEST_CASE(members_and_free_functions_see_the_same_state) {
    vmem::reservation r(4 * page());
    vmem::commit(r.base(), 2 * page(), vmem::access::read_write);
    BOOST_TEST(r.committed_bytes() == 2 * page());
    r.decommit(r.base(), page());
    std::error_code ec;
    vmem::protect(r.base(), 2 * page(), vmem::access::read, ec);
    BOOST_TEST(ec == vmem::errc::not_committed);
    BOOST_TEST(r.contains(bytes(r) + r.size() - 1));
    BOOST_TEST(!r.contains(bytes(r) + r.size()));
}

BOOST_AUTO_TEST_CASE(members_throw_system_error_naming_the_function) {
    vmem::reservation r(page());
    try {
        r.commit(bytes(r) + page(), 1, vmem::access::read);
        BOOST_FAIL("no exception");
    } catch (const std::system_error& e) {
        BOOST_TEST(e.code() == vmem::errc::outside_reservation);
        BOOST_TEST(std::string(e.what()).find("vmem::reservation::commit") != std::string::npos);
    }
}

// Every throwing call names itself in what(): the member or the free function, whichever threw.
BOOST_AUTO_TEST_CASE(every_throwing_call_names_itself) {
    vmem::reservation r(page());
    auto* const past = bytes(r) + page(); // one page past the reservation's end
    const vmem::access rw = vmem::access::read_write;
    const std::pair<const char*, std::function<void()>> calls[] = {
        {"vmem::reservation::commit", [&] { r.commit(past, 1, rw); }},
        {"vmem::reservation::commit", [&] { r.commit(past, 1, rw, vmem::commit_options{}); }},
        {"vmem::reservation::decommit", [&] { r.decommit(past, 1); }},
        {"vmem::reservation::protect", [&] { r.protect(past, 1, rw); }},
        {"vmem::reservation::discard", [&] { r.discard(past, 1); }},
        {"vmem::reservation::guard", [&] { r.guard(past, 1); }},
        {"vmem::reservation::lock", [&] { r.lock(past, 1); }},
        {"vmem::reservation::unlock", [&] { r.unlock(past, 1); }},
        {"vmem::reservation::make_executable", [&] { r.make_executable(past, 1); }},
        {"vmem::reservation::huge_page_status", [] { vmem::reservation().huge_page_status(); }},
        {"vmem::reservation::release", [] { vmem::reservation().release(); }},
        {"vmem::commit", [&] { vmem::commit(nullptr, 1, rw); }},
        {"vmem::commit", [&] { vmem::commit(nullptr, 1, rw, vmem::commit_options{}); }},
        {"vmem::decommit", [] { vmem::decommit(nullptr, 1); }},
        {"vmem::protect", [&] { vmem::protect(nullptr, 1, rw); }},
        {"vmem::discard", [] { vmem::discard(nullptr, 1); }},
        {"vmem::guard", [] { vmem::guard(nullptr, 1); }},
        {"vmem::lock", [] { vmem::lock(nullptr, 1); }},
        {"vmem::unlock", [] { vmem::unlock(nullptr, 1); }},
        {"vmem::make_executable", [] { vmem::make_executable(nullptr, 1); }},
        {"vmem::release", [] { vmem::release(nullptr); }},
        {"vmem::huge_page_status", [] { vmem::huge_page_status(nullptr); }},
        {"vmem::query", [] { vmem::query(nullptr); }},
        {"vmem::reserve", [] { vmem::reserve(0); }},
    };
    for (const auto& [name, call] : calls) {
        try {
            call();
            BOOST_ERROR(name << ": no exception");
        } catch (const std::system_error& e) {
            BOOST_TEST(std::string(e.what()).find(name) != std::string::npos,
                       name << ": " << e.what());
        }
    }
    BOOST_TEST(r.committed_bytes() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
