// vmem test program: vmem used by static initialisers of another translation unit, before main
// and before vmem's own initialisers, and by static destructors after main
// (lifetime_static_init_early.cpp). main checks what the static initialiser left.
#include "check.hpp"
#include "lifetime_static_init.hpp"

#include <cstring>
#include <system_error>

using programs::check;
using programs::check_error;
using programs::check_ok;

int main() {
    programs::note("lifetime_static_init: main");
    check(early::initialised(), "the static initialiser ran and its checks passed");
    const std::size_t page = vmem::page_size();
    unsigned char* b = static_cast<unsigned char*>(early::raw_base());
    check(b[0] == 0x42 && b[page - 1] == 0x42, "main reads what the static initialiser wrote");

    std::error_code ec;
    vmem::reservation adopted = vmem::reservation::adopt(early::to_adopt(), ec);
    check_ok(ec, "main adopts the reservation the static initialiser detached");
    check(static_cast<unsigned char*>(adopted.base())[0] == 0x17, "with its contents");
    void* adopted_base = adopted.base();
    const std::size_t adopted_size = adopted.size();
    adopted = vmem::reservation();
    check(programs::range_is_free(adopted_base, adopted_size), "and releases it");

    vmem::commit(b + page, page, vmem::access::read_write, ec);
    check_ok(ec, "main commits in the static initialiser's reservation");
    check(b[page] == 0, "the decommitted page reads zero when committed again");
    vmem::decommit(b + page, page, ec);
    check_ok(ec, "and decommits it");
    vmem::release(early::owned().base(), ec);
    check_error(ec, vmem::errc::reservation_owned,
                "the global owner made before main still owns its reservation");
    programs::note("main returns; static destructors release the rest");
    return 0;
}
