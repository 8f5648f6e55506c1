// vmem test program: vmem::reserve returns the base of the reservation it made, even when another
// thread releases that reservation (an unowned one: any thread may) and reserves again before the
// reserving thread has returned. A reserve that read its base back from its bookkeeping record
// after registering it could return another thread's reservation instead: the record had been
// released and reused meanwhile.
//
// The window is opened deterministically: the program interposes pthread_rwlock_unlock (vmem's
// registry lock on POSIX) and pauses thread A right after the registry's unlock that ends its
// registration, until the main thread has released A's reservation and reserved again (which
// takes the record A's release gave back). POSIX only (CMakeLists.txt skips it elsewhere).
#include "check.hpp"
#include "pause_in_unlock.hpp" // the registry's unlock, where thread A pauses

#include <cstdio>
#include <system_error>
#include <thread>

using namespace programs; // the helpers of check.hpp and pause_in_unlock.hpp

// phase 0: nothing armed; 1: thread A reserves; 2: A is paused after the registry's unlock; 3: A
// may go.

int main() {
    const std::size_t size = page();
    // Warm up (the first reserve builds the registry) and find a free address for A.
    void* const mine = vmem::reserve(4 * granularity());
    vmem::release(mine);
    vmem::reserve_options exact;
    exact.address = mine;
    exact.at = vmem::placement::exact;

    void* got = nullptr;
    std::error_code got_ec;
    std::thread a([&] {
        pause_in_unlock = true;
        phase = 1;
        got = vmem::reserve(size, exact, got_ec);
        pause_in_unlock = false;
    });
    if (!wait_for(2)) // A's reservation is registered; A has not returned yet
        fail("the window did not open: phase %d, waiting for 2 (is vmem's registry lock still a "
             "pthread_rwlock_t?)",
             phase.load());
    note("thread A paused after registering its reservation");
    std::error_code ec;
    vmem::release(mine, ec); // A's reservation is unowned: this thread may release it
    check_ok(ec, "another thread releases A's reservation before A's reserve returns");
    void* const other = vmem::reserve(16 * size, {}, ec); // takes the record A's release freed
    check_ok(ec, "another thread reserves again meanwhile");
    phase = 3;
    a.join();

    std::printf("A reserved at %p; the other reservation is at %p; A's reserve returned %p\n", mine,
                other, got);
    check_ok(got_ec, "A's reserve succeeded");
    check(got != other, "A's reserve did not return the other thread's reservation");
    check(got == mine, "A's reserve returned the base of the reservation it made");
    vmem::release(other, ec);
    check_ok(ec, "the other reservation is released by its owner");
    std::printf("race_reserve_returns_its_own_base: passed\n");
    return 0;
}
