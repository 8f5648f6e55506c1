// vmem test program: vmem used from atexit handlers, one registered before vmem's first use and
// one after.
//
// Handlers and static destructors run in the reverse order of their registration, so the handler
// registered first runs after anything vmem builds on its first use would have been destroyed.
// The contract ("Lifetime") says vmem still works there.
#include "check.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <system_error>

namespace {

using namespace programs; // the helpers of check.hpp

// Made in main.
void* the_raw = nullptr;      // vmem::reserve, 8 pages; page 0 committed and written
void* the_detached = nullptr; // a vmem::reservation's, detached; 4 pages, page 0 committed
// Made by the handler registered last (which runs first).
void* the_late = nullptr;

constexpr std::size_t raw_pages = 8;

// Registered in main after vmem's first use: runs first at exit.
void registered_after_first_use() {
    programs::note("the atexit handler registered after vmem's first use");
    std::error_code ec;
    unsigned char* b = bytes(the_raw);
    check(b[0] == 0x33, "main's data is there");
    vmem::commit(b + page(), 2 * page(), vmem::access::read_write, ec);
    check_ok(ec, "commit in an atexit handler");
    b[page()] = 0x44;
    vmem::protect(b, 2 * page(), vmem::access::read, ec);
    check_ok(ec, "protect in an atexit handler");

    vmem::reservation r(2 * page(), {}, ec);
    check_ok(ec, "reserve (owner) in an atexit handler");
    r.commit(r.base(), page(), vmem::access::read_write, ec);
    check_ok(ec, "commit (member) in an atexit handler");
    bytes(r.base())[0] = 0x55;
    the_late = r.detach();
}

// Registered in main before vmem's first use: runs after everything vmem made on first use
// would have been destroyed.
void registered_before_first_use() {
    if (the_raw == nullptr)
        return; // main failed before it used vmem, and said so
    programs::note("the atexit handler registered before vmem's first use");
    std::error_code ec;
    unsigned char* b = bytes(the_raw);
    check(b[0] == 0x33 && b[page()] == 0x44, "the data written earlier is there");
    vmem::decommit(b, 2 * page(), ec);
    check_ok(ec, "decommit in the last atexit handler");
    vmem::protect(b, page(), vmem::access::read_write, ec);
    check_error(ec, vmem::errc::not_committed, "protect of decommitted pages is refused");
    vmem::commit(b, page(), vmem::access::read_write, ec);
    check_ok(ec, "commit in the last atexit handler");
    check(b[0] == 0, "the recommitted page reads zero");
    vmem::release(b, ec);
    check_ok(ec, "release (free function) in the last atexit handler");
    check(programs::range_is_free(b, raw_pages * page()), "its range is free at the OS");

    vmem::reservation adopted = vmem::reservation::adopt(the_detached, ec);
    check_ok(ec, "adopt in the last atexit handler");
    check(bytes(adopted.base())[0] == 0x22, "with main's data");
    const std::size_t size = adopted.size();
    adopted.release(ec);
    check_ok(ec, "release (member) in the last atexit handler");
    check(programs::range_is_free(the_detached, size), "its range is free at the OS");

    vmem::reservation late = vmem::reservation::adopt(the_late, ec);
    check_ok(ec, "adopt what the other handler detached");
    check(bytes(late.base())[0] == 0x55, "with its data");
    vmem::release(the_late, ec);
    check_error(ec, vmem::errc::reservation_owned, "release of an owned base is refused");
    late = vmem::reservation(4 * page(), {}, ec);
    check_ok(ec, "reserve in the last atexit handler");
    check(programs::range_is_free(the_late, 2 * page()),
          "the move assignment released the adopted reservation");
    late.commit(late.base(), 4 * page(), vmem::access::read_write, ec);
    check_ok(ec, "commit it");
    std::memset(late.base(), 9, 4 * page());
    programs::note("lifetime_atexit: passed");
    // `late` is released by its destructor on the way out.
}

} // namespace

int main() {
    programs::note("lifetime_atexit: a handler registered before vmem's first use");
    check(std::atexit(registered_before_first_use) == 0, "atexit");

    the_raw = vmem::reserve(raw_pages * page());
    vmem::commit(the_raw, page(), vmem::access::read_write);
    bytes(the_raw)[0] = 0x33;
    vmem::reservation r(4 * page());
    r.commit(r.base(), page(), vmem::access::read_write);
    bytes(r.base())[0] = 0x22;
    the_detached = r.detach();

    check(std::atexit(registered_after_first_use) == 0, "atexit after vmem's first use");
    programs::note("main returns; the handlers do the rest");
    return 0;
}
