// vmem tests: the Ownership contract. A reservation has at most one owner, a vmem::reservation;
// vmem::release and reservation::adopt refuse what an owner holds (errc::reservation_owned), and
// detach() makes a reservation unowned again. No sequence of calls leaves two owners or a
// dangling one.
#include "common.hpp"

#include <optional>
#include <string>
#include <utility>

using namespace vmem_test;

namespace {

vmem::reserve_options exactly_at(void* address) {
    vmem::reserve_options o;
    o.address = address;
    o.at = vmem::placement::exact;
    return o;
}

// A reservation that owns one committed page holding `value`.
vmem::reservation with_one_page(unsigned char value) {
    vmem::reservation r(2 * granularity());
    r.commit(r.base(), page(), vmem::access::read_write);
    bytes(r)[0] = value;
    return r;
}

} // namespace

BOOST_AUTO_TEST_SUITE(ownership)

BOOST_AUTO_TEST_CASE(release_of_an_owned_reservation_is_refused_and_changes_nothing) {
    vmem::reservation r = with_one_page(42);
    void* base = r.base();
    std::error_code ec;
    vmem::release(base, ec);
    BOOST_TEST(ec == vmem::errc::reservation_owned);
    // A caller's mistake, like every contract error.
    BOOST_TEST((ec == std::errc::invalid_argument));
    BOOST_TEST(ec.message().find("unknown") == std::string::npos, ec.message());
    try {
        vmem::release(base);
        BOOST_FAIL("no exception");
    } catch (const std::system_error& e) {
        BOOST_TEST(e.code() == vmem::errc::reservation_owned);
        BOOST_TEST(std::string(e.what()).find("vmem::release") != std::string::npos);
    }
    // Nothing changed: the page keeps its contents, the owner still works and releases.
    BOOST_TEST(vmem_probe::can_write(base));
    BOOST_TEST(bytes(base)[0] == 42);
    BOOST_TEST(r.base() == base);
    BOOST_TEST(r.size() == 2 * granularity());
    BOOST_TEST(r.committed_bytes() == page());
    r.commit(bytes(r) + granularity(), page(), vmem::access::read_write);
    BOOST_TEST(r.committed_bytes() == 2 * page());
    r.release();
    BOOST_TEST(is_free(base, 2 * granularity()));
}

BOOST_AUTO_TEST_CASE(adopt_of_an_owned_reservation_is_refused) {
    vmem::reservation r = with_one_page(5);
    std::error_code ec;
    vmem::reservation second = vmem::reservation::adopt(r.base(), ec);
    BOOST_TEST(ec == vmem::errc::reservation_owned);
    BOOST_TEST(!second);
    try {
        (void)vmem::reservation::adopt(r.base());
        BOOST_FAIL("no exception");
    } catch (const std::system_error& e) {
        BOOST_TEST(e.code() == vmem::errc::reservation_owned);
    }
    BOOST_TEST(r.committed_bytes() == page());
    BOOST_TEST(bytes(r)[0] == 5);
}

// The second adopt would make a second owner; once the first released, the second would own a
// dangling record and its destructor would release whatever reservation took the address since.
BOOST_AUTO_TEST_CASE(a_detached_reservation_can_be_adopted_only_once) {
    vmem::reservation r = with_one_page(9);
    void* base = r.detach();
    const std::size_t size = 2 * granularity();
    vmem::reservation first = vmem::reservation::adopt(base);
    std::error_code ec;
    vmem::reservation second = vmem::reservation::adopt(base, ec);
    BOOST_TEST(ec == vmem::errc::reservation_owned);
    BOOST_TEST(!second);
    BOOST_TEST(first.base() == base);

    first.release();
    // Someone else's reservation takes the address; the refused adopter must not touch it.
    vmem::reservation other(size, exactly_at(base), ec);
    BOOST_TEST_REQUIRE(!ec, "the freed address was taken meanwhile: " << ec.message());
    other.commit(other.base(), page(), vmem::access::read_write);
    bytes(other)[0] = 77;
    {
        vmem::reservation gone = std::move(second); // destroyed here
    }
    BOOST_TEST(vmem_probe::can_write(base));
    BOOST_TEST(bytes(base)[0] == 77);
    BOOST_TEST(other.size() == size);
    BOOST_TEST(other.committed_bytes() == page());
}

BOOST_AUTO_TEST_CASE(detach_makes_a_reservation_unowned_again) {
    vmem::reservation r = with_one_page(1);
    void* base = r.detach();
    BOOST_TEST(!r);
    // Unowned: the free function may release it, or an owner adopt it, give it up and adopt
    // it again.
    vmem::reservation a = vmem::reservation::adopt(base);
    BOOST_TEST(a.detach() == base);
    vmem::reservation b = vmem::reservation::adopt(base);
    BOOST_TEST(b.committed_bytes() == page());
    BOOST_TEST(b.detach() == base);
    std::error_code ec;
    vmem::release(base, ec);
    BOOST_TEST(!ec);
    BOOST_TEST(is_free(base, 2 * granularity()));
}

BOOST_AUTO_TEST_CASE(moving_an_owner_moves_the_ownership) {
    vmem::reservation a = with_one_page(3);
    void* base = a.base();
    vmem::reservation b(std::move(a));
    std::error_code ec;
    vmem::release(base, ec);
    BOOST_TEST(ec == vmem::errc::reservation_owned); // b owns it now
    vmem::reservation c;
    c = std::move(b);
    vmem::release(base, ec);
    BOOST_TEST(ec == vmem::errc::reservation_owned); // and now c
    BOOST_TEST(c.detach() == base);
    vmem::release(base, ec);
    BOOST_TEST(!ec);
}

// adopt is not release: its refusal of an address inside a reservation must say what is wrong
// (not a base) without sending the reader to release.
BOOST_AUTO_TEST_CASE(adopt_of_an_inner_address_says_it_is_not_a_base_without_talking_of_release) {
    vmem::reservation r(2 * granularity());
    std::error_code ec;
    vmem::reservation inner = vmem::reservation::adopt(bytes(r) + page(), ec);
    BOOST_TEST(ec == vmem::errc::not_reservation_base);
    BOOST_TEST(!inner);
    const std::string message = ec.message();
    BOOST_TEST(message.find("base") != std::string::npos, message);
    BOOST_TEST(message.find("release") == std::string::npos, message);
    try {
        (void)vmem::reservation::adopt(bytes(r) + page());
        BOOST_FAIL("no exception");
    } catch (const std::system_error& e) {
        const std::string what = e.what();
        BOOST_TEST(e.code() == vmem::errc::not_reservation_base);
        BOOST_TEST(what.find("adopt") != std::string::npos, what);
        BOOST_TEST(what.find("release") == std::string::npos, what);
    }
    BOOST_TEST(r.base() != nullptr); // still owned by r, untouched
}

// `vmem::reservation r(0);` must mean a reservation of zero bytes (the literal 0 once also
// matched the private pointer constructor, and the line did not compile).
BOOST_AUTO_TEST_CASE(a_reservation_of_zero_bytes_compiles_and_throws_zero_size) {
    try {
        vmem::reservation r(0);
        BOOST_FAIL("no exception");
    } catch (const std::system_error& e) {
        BOOST_TEST(e.code() == vmem::errc::zero_size);
    }
    std::error_code ec;
    vmem::reservation r(0, {}, ec);
    BOOST_TEST(ec == vmem::errc::zero_size);
    BOOST_TEST(!r);
}

// An owner's base and size are its own: however the free functions are used on its address,
// and whatever other reservations come and go around it, they stay as they were, and its
// destructor releases its reservation and nothing else.
BOOST_AUTO_TEST_CASE(an_owner_keeps_its_reservation_while_others_come_and_go_at_its_address) {
    const std::size_t size = 2 * granularity();
    std::optional<vmem::reservation> owner(with_one_page(11));
    void* base = owner->base();
    std::error_code ec;
    vmem::reservation beside; // the neighbour above, if that address is free
    for (int i = 0; i < 8; ++i) {
        vmem::release(base, ec);
        BOOST_TEST(ec == vmem::errc::reservation_owned);
        // A reservation at exactly the owner's address is refused; one preferring it lands
        // elsewhere.
        vmem::reservation exact((1 + i % 3) * granularity(), exactly_at(base), ec);
        BOOST_TEST(ec == vmem::errc::address_unavailable);
        vmem::reserve_options near;
        near.address = base;
        vmem::reservation elsewhere((1 + i % 3) * granularity(), near);
        BOOST_TEST(elsewhere.base() != base);
        if (!beside)
            beside = vmem::reservation(size, exactly_at(bytes(base) + size), ec);
        BOOST_TEST(owner->base() == base);
        BOOST_TEST(owner->size() == size);
        BOOST_TEST(owner->committed_bytes() == page());
    }
    BOOST_TEST(bytes(base)[0] == 11);
    owner.reset(); // the destructor releases the owner's reservation, and only that one
    BOOST_TEST(is_free(base, size));
    if (beside) {
        BOOST_TEST(!is_free(beside.base(), size));
        BOOST_TEST(beside.size() == size);
    }
}

BOOST_AUTO_TEST_SUITE_END()
