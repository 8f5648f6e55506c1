// vmem test program: global vmem::reservation objects that are empty during static
// initialisation and are given their reservations in main.
//
// They are constructed before vmem is first used, so they are destroyed after anything vmem
// builds on first use. The contract ("Lifetime": vmem works from static destructors in any order
// relative to its own first use) says their destructors still release, and that a static
// destructor may still commit, decommit, protect, adopt and reserve. A registry destroyed at
// exit shows here as a double free or a crash after main returns (Linux), or a fault or a hang
// in the heap (Windows), which ctest reports as a failure or a timeout.
#include "check.hpp"

#include <vmem/vmem.hpp>

#include <cstring>
#include <system_error>
#include <utility>

namespace {

using namespace programs; // the helpers of check.hpp

// Destroyed last: it is constructed first. Checks that the owners below released what they
// held, and that vmem still reserves, commits and releases after every other static is gone.
struct last_check {
    void* second_base = nullptr;
    std::size_t second_size = 0;
    ~last_check() {
        if (second_base == nullptr)
            return; // main did not get that far; it has already reported why
        programs::note("the last static destructor (after both global owners)");
        std::error_code ec;
        vmem::commit(second_base, page(), vmem::access::read_write, ec);
        check_error(ec, vmem::errc::not_reserved,
                    "second's destructor released it: commit at its base is not_reserved");
        check(range_is_free(second_base, second_size),
              "second's range is free at the OS: an exact reserve there succeeds");
        vmem::reservation r(4 * page(), {}, ec);
        check_ok(ec, "reserve in the last static destructor");
        r.commit(r.base(), page(), vmem::access::read_write, ec);
        check_ok(ec, "commit in the last static destructor");
        bytes(r.base())[0] = 7;
        r.release(ec);
        check_ok(ec, "release in the last static destructor");
        programs::note("lifetime_static_owner: passed");
    }
} the_last_check;

// Empty until main; destroyed after `user` and before `the_last_check`.
vmem::reservation second;

// Uses `second` from its destructor, after `first` (destroyed before it) released.
struct user_at_exit {
    void* first_base = nullptr;
    std::size_t first_size = 0;
    ~user_at_exit() {
        if (first_base == nullptr)
            return;
        programs::note("a static destructor between the two global owners");
        std::error_code ec;
        vmem::release(first_base, ec);
        check_error(ec, vmem::errc::not_reserved,
                    "first's destructor released it: release of its base is not_reserved");
        check(range_is_free(first_base, first_size), "first's range is free at the OS");

        unsigned char* b = bytes(second.base());
        check(b != nullptr && second.size() == 8 * page(), "second still owns its reservation");
        check(b[0] == 0x5a && b[page()] == 0xa5, "second's pages kept what main wrote");
        second.decommit(b, page(), ec);
        check_ok(ec, "decommit (member) in a static destructor");
        second.commit(b, 2 * page(), vmem::access::read_write, ec);
        check_ok(ec, "commit (member) in a static destructor");
        check(b[0] == 0 && b[page()] == 0xa5, "recommitted page reads zero, its neighbour kept");
        vmem::protect(b, 2 * page(), vmem::access::read, ec);
        check_ok(ec, "protect (free function) in a static destructor");
        vmem::decommit(b + page(), page(), ec);
        check_ok(ec, "decommit (free function) in a static destructor");
        check(second.committed_bytes() == page(), "committed_bytes follows");
        vmem::release(b, ec);
        check_error(ec, vmem::errc::reservation_owned,
                    "release of an owned base is refused in a static destructor");

        void* detached = second.detach();
        check(detached == b && !second, "detach in a static destructor");
        second = vmem::reservation::adopt(detached, ec);
        check_ok(ec, "adopt in a static destructor");
        check(second.base() == b, "second owns its reservation again");

        vmem::reservation fresh(3 * page(), {}, ec);
        check_ok(ec, "reserve in a static destructor");
        fresh.commit(fresh.base(), 3 * page(), vmem::access::read_write, ec);
        check_ok(ec, "commit of a fresh reservation in a static destructor");
        std::memset(fresh.base(), 1, 3 * page());
        // `fresh` is destroyed here, releasing; `second` is destroyed after this function.
    }
} user;

// Empty until main; destroyed first of the three, after main returns.
vmem::reservation first;

} // namespace

int main() {
    programs::note("lifetime_static_owner: vmem is first used in main, after the globals");
    first = vmem::reservation(16 * page());
    check(static_cast<bool>(first), "a global reservation assigned in main");
    first.commit(first.base(), 4 * page(), vmem::access::read_write);
    std::memset(first.base(), 0x11, 4 * page());

    second = vmem::reservation(8 * page());
    second.commit(second.base(), 2 * page(), vmem::access::read_write);
    bytes(second.base())[0] = 0x5a;
    bytes(second.base())[page()] = 0xa5;

    // The move assignment of a global: what `first` held is released at once.
    void* old_first = first.base();
    first = vmem::reservation(16 * page());
    check(range_is_free(old_first, 16 * page()), "move assignment released the old reservation");
    first.commit(first.base(), page(), vmem::access::read_write);

    user.first_base = first.base();
    user.first_size = first.size();
    the_last_check.second_base = second.base();
    the_last_check.second_size = second.size();
    programs::note("main returns; the globals' destructors do the rest");
    return 0;
}
