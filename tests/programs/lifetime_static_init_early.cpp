// vmem test program lifetime_static_init: the translation unit that uses vmem from its static
// initialisers, before main and before whatever vmem initialises itself (a static library's
// initialisers run after the program's own), and releases from its static destructors.
#include "check.hpp"
#include "lifetime_static_init.hpp"

#include <cstdint>
#include <cstring>
#include <system_error>

namespace {

using namespace programs; // the helpers of check.hpp

constexpr std::size_t raw_pages = 16;

void* the_raw_base = nullptr;
void* the_base_to_adopt = nullptr;
bool the_init_done = false;

// Owned here from before main; destroyed after `the_closer`, which releases it first (a global
// owner's own destructor releasing after vmem's first use is lifetime_static_owner's case).
vmem::reservation the_owned;

// Constructed before `the_user` (same translation unit, defined first) and before vmem's first
// use, so it is destroyed after both and after anything vmem made on first use. Releases what
// the static initialiser reserved.
struct closer {
    closer() {} // touches nothing: vmem has not been used yet
    ~closer() {
        if (the_raw_base == nullptr)
            return;
        programs::note("the static destructor that runs last releases what static init made");
        std::error_code ec;
        unsigned char* b = bytes(the_raw_base);
        check(b[0] == 0x42 && b[page() - 1] == 0x42, "the raw reservation kept its contents");
        vmem::release(the_raw_base, ec);
        check_ok(ec, "release (free function) of the static initialiser's reservation");
        check(programs::range_is_free(the_raw_base, raw_pages * page()),
              "its range is free at the OS");
        vmem::release(the_raw_base, ec);
        check_error(ec, vmem::errc::not_reserved, "a second release is not_reserved");

        void* owned_base = early::owned().base();
        const std::size_t owned_size = early::owned().size();
        early::owned().release(ec);
        check_ok(ec, "release (member) of the global owner in a static destructor");
        check(!early::owned() && programs::range_is_free(owned_base, owned_size),
              "the owner is empty and its range free");
        programs::note("lifetime_static_init: passed");
    }
} the_closer;

struct user {
    user() {
        programs::note("a static initialiser of another translation unit, before main");
        std::error_code ec;
        vmem::reserve_options aligned;
        aligned.alignment = 4 * vmem::allocation_granularity();
        void* base = vmem::reserve(raw_pages * page(), aligned, ec);
        check_ok(ec, "reserve (aligned) before main");
        check(reinterpret_cast<std::uintptr_t>(base) % aligned.alignment == 0,
              "the base is aligned as asked");
        vmem::commit(base, 2 * page(), vmem::access::read_write, ec);
        check_ok(ec, "commit before main");
        unsigned char* b = bytes(base);
        check(b[0] == 0 && b[2 * page() - 1] == 0, "fresh pages read zero");
        std::memset(b, 0x42, 2 * page());
        vmem::decommit(b + page(), page(), ec);
        check_ok(ec, "decommit before main");
        vmem::protect(b, page(), vmem::access::read, ec);
        check_ok(ec, "protect before main");
        vmem::protect(b + page(), page(), vmem::access::read, ec);
        check_error(ec, vmem::errc::not_committed, "protect of a decommitted page is refused");
        the_raw_base = base;

        // An owner's reservation, its first page committed and written, then detached: made
        // twice, the first released here, the second left for main to adopt.
        const auto detached = [&ec](const char* reserved, const char* committed) {
            vmem::reservation r(4 * page(), {}, ec);
            check_ok(ec, reserved);
            r.commit(r.base(), page(), vmem::access::read_write, ec);
            check_ok(ec, committed);
            bytes(r.base())[0] = 0x17;
            return r.detach();
        };
        void* released = detached("a vmem::reservation before main", "commit (member) before main");
        vmem::release(released, ec);
        check_ok(ec, "release of a detached reservation before main");
        the_base_to_adopt = detached("reserve again before main", "commit again before main");

        the_owned = vmem::reservation(8 * page(), {}, ec);
        check_ok(ec, "a global owner assigned before main");
        the_owned.commit(the_owned.base(), 8 * page(), vmem::access::read_write, ec);
        check_ok(ec, "commit of the global owner before main");
        the_init_done = true;
    }
    ~user() {
        if (!the_init_done)
            return;
        programs::note("a static destructor of that translation unit");
        std::error_code ec;
        check(the_owned.committed_bytes() == 8 * page(), "the global owner kept its commit");
        the_owned.decommit(the_owned.base(), 4 * page(), ec);
        check_ok(ec, "decommit (member) in a static destructor");
        vmem::protect(bytes(the_owned.base()) + 4 * page(), 4 * page(), vmem::access::none, ec);
        check_ok(ec, "protect (free function) in a static destructor");
    }
} the_user;

} // namespace

namespace early {

bool initialised() noexcept {
    return the_init_done;
}
void* raw_base() noexcept {
    return the_raw_base;
}
void* to_adopt() noexcept {
    return the_base_to_adopt;
}
vmem::reservation& owned() noexcept {
    return the_owned;
}

} // namespace early
