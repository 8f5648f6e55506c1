// vmem test program: a reserve whose registration is refused for lack of memory leaves nothing
// behind in the bookkeeping record it gives back, even when a thread holding that record from an
// earlier life committed pages into the reservation meanwhile. The next reservation to get the
// record starts with nothing committed. A refused registration that marked the record dead without
// clearing its runs handed the next reservation a committed run the OS did not have: its
// committed_bytes counted a page it never committed and protect() accepted that page.
//
// The scenario is made deterministic by interposing two POSIX functions (POSIX only:
// CMakeLists.txt skips it elsewhere):
// - pthread_rwlock_unlock (vmem's registry lock): thread T2, committing a page of reservation P,
//   pauses right after its search of the registry, holding P's record r from that search;
// - mmap: while the main thread reserves, its first read-write mapping after the reservation's own
//   (PROT_NONE) one is refused, which is the index's memory for the new entry.
// First the program finds, by trying, how many one-page reservations in ascending order fill the
// index so that one more needs memory (a reserve refused that way changes nothing). Then, with
// T2 paused, it releases P (r is freed), keeps the index full without P, and reserves P again:
// the reserve takes r, and while the index's memory is being refused it lets T2 go and waits
// until T2 has committed into r. The registration fails; then a fresh reservation gets r.
#include "check.hpp"
#include "pause_in_unlock.hpp" // the registry's unlock, where T2 pauses after its search

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <dlfcn.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <system_error>
#include <thread>

namespace {

using namespace programs; // the helpers of check.hpp and pause_in_unlock.hpp

// phase 0: nothing armed; 1: T2 commits; 2: T2 paused after its search; 3: T2 may go; 4: T2
// committed.
thread_local bool refuse_index = false;    // on the main thread: refuse the index's memory
thread_local bool saw_reservation = false; // this reserve's PROT_NONE mapping has been made
thread_local bool release_t2 = false;      // on refusing, let T2 commit and wait for it
std::atomic<int> refusals{0};
std::atomic<bool> t2_committed_while_refused{false};

} // namespace

extern "C" void* mmap(void* address, size_t size, int prot, int flags, int fd, off_t offset) {
    using mmap_fn = void* (*)(void*, size_t, int, int, int, off_t);
    static const auto real = reinterpret_cast<mmap_fn>(dlsym(RTLD_NEXT, "mmap"));
    if (refuse_index) {
        if (prot == PROT_NONE)
            saw_reservation = true;
        else if (saw_reservation && prot == (PROT_READ | PROT_WRITE)) {
            refusals.fetch_add(1);
            if (release_t2) { // the stale commit happens now, while the registration is refused
                release_t2 = false;
                phase = 3;
                t2_committed_while_refused = wait_for(4);
            }
            errno = ENOMEM;
            return MAP_FAILED;
        }
    }
    return real(address, size, prot, flags, fd, offset);
}

namespace {

// An exact one-page reserve at `at`, with the index's memory refused; the error, if any.
std::error_code reserve_refusing_index_memory(void* at, bool with_t2) {
    vmem::reserve_options exact;
    exact.address = at;
    exact.at = vmem::placement::exact;
    std::error_code ec;
    refuse_index = true;
    saw_reservation = false;
    release_t2 = with_t2;
    vmem::reserve(page(), exact, ec);
    refuse_index = false;
    release_t2 = false;
    return ec;
}

void reserve_exact(void* at, const char* what) {
    vmem::reserve_options exact;
    exact.address = at;
    exact.at = vmem::placement::exact;
    std::error_code ec;
    vmem::reserve(page(), exact, ec);
    check_ok(ec, what);
}

} // namespace

int main() {
    std::setvbuf(stdout, nullptr, _IONBF, 0);
    // A region free for the reservations, and the bookkeeping's first blocks (built by this
    // reserve) taken before anything is refused.
    // Reservations the index may take before it must grow: its memory comes in pages, so that
    // grows with the page (some 1,400 with 4 KiB pages, 22,000 with 64 KiB). The region is far
    // bigger than the part used, so that the bookkeeping's own mappings, which the kernel puts at
    // the top of the highest free gap (this region, once released), never land in that part.
    const std::size_t most = 2 * page();
    auto* const region = bytes(vmem::reserve((most + 2) * page()));
    vmem::release(region);
    const auto at = [&](std::size_t i) { return region + i * page(); };

    // One-page reservations at ascending addresses until the index must grow for the next one.
    std::size_t n = 0;
    for (;; ++n) {
        if (n == most)
            fail("%zu reservations never made the index ask for memory", most);
        const std::error_code ec = reserve_refusing_index_memory(at(n), false);
        if (!ec)
            continue;
        if (ec != std::errc::not_enough_memory || refusals.load() != 1)
            fail("reserve %zu: error %d (%s), %d refusals", n, ec.value(), ec.category().name(),
                 refusals.load());
        break;
    }
    std::printf("-- %zu reservations fill the index; one more needs memory\n", n);
    check(n >= 3, "the index holds a few reservations before it must grow");

    // T2 commits the last reservation's page, from a search made before everything below.
    unsigned char* const p = at(n - 1);
    std::error_code t2_ec;
    std::thread t2([&] {
        pause_in_unlock = true;
        phase = 1;
        vmem::commit(p, page(), vmem::access::read_write, t2_ec);
        phase = 4;
    });
    if (!wait_for(2))
        fail("T2 did not pause after its search (is vmem's registry lock a pthread_rwlock_t?)");
    note("T2 paused after finding P's record");
    vmem::release(p);     // P's record r is freed; the index has room for one entry
    vmem::release(at(0)); // its record goes on top of r in the free list ...
    reserve_exact(at(n), "another reservation fills the index again without P");
    const std::error_code ec = reserve_refusing_index_memory(p, true); // takes r
    check_error(ec, std::errc::not_enough_memory, "reserving P again: its registration is refused");
    check(refusals.load() == 2, "only the index's memory was refused");
    if (!t2_committed_while_refused)
        fail("T2 did not finish its commit while the registration was refused");
    t2.join();
    // T2's commit found r alive (committed into the reservation being registered) or, should vmem
    // keep a record out of reach until it is registered, found nothing: either is correct.
    std::printf("-- T2's commit of P, from its earlier search: %s\n",
                t2_ec ? t2_ec.message().c_str() : "committed");

    // The next reservation gets r: it must start with nothing committed.
    vmem::reserve_options exact;
    exact.address = p;
    exact.at = vmem::placement::exact;
    vmem::reservation fresh(page(), exact);
    check(fresh.committed_bytes() == 0, "a fresh reservation has no committed bytes");
    std::error_code protect_ec;
    fresh.protect(fresh.base(), page(), vmem::access::read, protect_ec);
    check_error(protect_ec, vmem::errc::not_committed,
                "protect of a fresh reservation's page reports it not committed");
    fresh.commit(fresh.base(), page(), vmem::access::read_write);
    check(fresh.committed_bytes() == page(), "committing its page counts one page");
    fresh.decommit(fresh.base(), page());
    check(fresh.committed_bytes() == 0, "decommitting it counts none");

    fresh.release();
    for (std::size_t i = 1; i <= n; ++i)
        if (i != n - 1)
            vmem::release(at(i));
    check(range_is_free(region, (n + 1) * page()), "every reservation is released");
    std::printf("race_refused_registration_keeps_no_runs: passed\n");
    return 0;
}
