// vmem tour: the story of the VirtualAlloc note this project grew from, told on whatever platform
// this runs on. Reserve address space, find that touching it faults, commit it, use it, decommit
// it and watch the memory go, commit it again and find zeros, and release it all in one call.
//
// It uses the tests' probe (tests/support) to catch the fault and to count resident pages, so the
// program can report what happened and carry on.
#include <vmem/vmem.hpp>

#include "probe.hpp"

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

namespace {

std::string address(const void* p) {
    char text[32];
    std::snprintf(text, sizeof text, "0x%08" PRIxPTR, reinterpret_cast<std::uintptr_t>(p));
    return text;
}

std::string resident(const void* p, std::size_t size) {
    const auto bytes = vmem_probe::resident_bytes(p, size);
    if (!bytes)
        return "(this platform cannot tell)";
    return std::to_string(*bytes / vmem::page_size()) + " of " +
           std::to_string(size / vmem::page_size()) + " pages resident";
}

const char* can(bool yes) {
    return yes ? "works" : "FAULTS (caught; the program goes on)";
}

} // namespace

int main() {
    const std::string wine = vmem_probe::wine_version();
    std::printf("vmem tour on %s%s\n\n", vmem_probe::platform_name().c_str(),
                wine.empty() ? "" : (" under Wine " + wine).c_str());

    std::printf("1. Sizes come from the OS.\n");
    std::printf("   page size              %zu bytes\n", vmem::page_size());
    std::printf("   allocation granularity %zu bytes\n\n", vmem::allocation_granularity());

    const std::size_t size = 64 * 1024;
    const std::size_t granularity = vmem::allocation_granularity();
    std::printf("2. Reserve 64 KiB at an address that is not a multiple of the granularity.\n");
    // A spot that is free: reserve anywhere, note the base, give it back.
    void* spot = vmem::reserve(size);
    vmem::release(spot);
    // Half a granule and 0x22 bytes into it, as the note asks for 0x00781022.
    const std::size_t offset = granularity / 2 + 0x22;
    const std::uintptr_t asked = reinterpret_cast<std::uintptr_t>(spot) + offset;
    const std::uintptr_t rounded = asked & ~(std::uintptr_t{granularity} - 1);
    vmem::reserve_options where;
    where.address = reinterpret_cast<void*>(asked);
    where.at = vmem::placement::exact; // that address (rounded down), or an error
    std::error_code ec;
    vmem::reservation r(size, where, ec);
    bool as_promised = true;
    std::printf("   asked for %s (a free spot + 0x%zx), placement::exact\n",
                address(where.address).c_str(), offset);
    if (r) {
        as_promised = reinterpret_cast<std::uintptr_t>(r.base()) == rounded;
        std::printf("   got       %s: %s\n", address(r.base()).c_str(),
                    as_promised ? "rounded down to the granularity, as Windows rounds\n"
                                  "             the note's 0x00781022 to 0x00780000"
                                : "NOT the rounded-down address");
    } else {
        std::printf("   refused (%s): the spot was taken meanwhile; anywhere will do\n",
                    ec.message().c_str());
        r = vmem::reservation(size);
        std::printf("   got       %s\n", address(r.base()).c_str());
    }
    std::printf("   size %zu bytes, committed %zu bytes\n\n", r.size(), r.committed_bytes());

    unsigned char* p = static_cast<unsigned char*>(r.base());
    std::printf("3. Touch the reserved memory before committing it.\n");
    std::printf("   read:  %s\n", can(vmem_probe::can_read(p)));
    std::printf("   write: %s\n", can(vmem_probe::can_write(p)));
    std::printf(
        "   Reserved means: the addresses are ours, but there is no storage behind them.\n\n");

    std::printf("4. Commit all 64 KiB read-write and fill it.\n");
    r.commit(p, size, vmem::access::read_write);
    std::memset(p, 0xAB, size);
    std::printf("   write: %s; first byte now 0x%02X\n", can(vmem_probe::can_write(p)), p[0]);
    std::printf("   %s\n\n", resident(p, size).c_str());

    std::printf("5. Decommit it.\n");
    r.decommit(p, size);
    std::printf("   %s\n", resident(p, size).c_str());
    std::printf("   read:  %s\n\n", can(vmem_probe::can_read(p)));

    std::printf("6. Commit it again.\n");
    r.commit(p, size, vmem::access::read_write);
    bool zero = true;
    for (std::size_t i = 0; i < size; ++i)
        zero = zero && p[i] == 0;
    std::printf("   the old 0xAB bytes are gone: every byte reads %s\n\n",
                zero ? "zero" : "NOT ZERO");

    std::printf("7. Release it, in one call.\n");
    vmem::release(p + granularity / 2, ec);
    std::printf("   releasing from the middle is refused: %s\n", ec.message().c_str());
    std::printf("   The note's last example, VirtualFree(p, 0, MEM_RELEASE | MEM_DECOMMIT), is\n"
                "   rejected by Windows with ERROR_INVALID_PARAMETER. vmem's release is\n"
                "   VirtualFree(base, 0, MEM_RELEASE) (munmap on POSIX), which frees committed\n"
                "   pages too: no decommit is needed first.\n");
    void* base = r.base();
    r.release();
    std::printf("   released; read at %s: %s\n", address(base).c_str(),
                can(vmem_probe::can_read(base)));
    return zero && as_promised ? 0 : 1;
}
