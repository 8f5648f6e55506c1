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
    std::printf("2. Reserve 64 KiB, asking for address 0x00781022 (the note's example).\n");
    vmem::reserve_options where;
    where.address = reinterpret_cast<void*>(std::uintptr_t{0x00781022});
    where.at = vmem::placement::prefer; // that address if free, else anywhere
    vmem::reservation r(size, where);
    const std::uintptr_t rounded =
        std::uintptr_t{0x00781022} & ~(std::uintptr_t{vmem::allocation_granularity()} - 1);
    std::printf("   the hint rounds down to the granularity: %s\n",
                address(reinterpret_cast<void*>(rounded)).c_str());
    std::printf("   the reservation landed at %s (%s)\n", address(r.base()).c_str(),
                reinterpret_cast<std::uintptr_t>(r.base()) == rounded
                    ? "exactly there"
                    : "elsewhere: that address was taken, and vmem never replaces a mapping");
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
    std::error_code ec;
    vmem::release(p + vmem::allocation_granularity() / 2, ec);
    std::printf("   releasing from the middle is refused: %s\n", ec.message().c_str());
    std::printf("   The note's last example, VirtualFree(p, 0, MEM_RELEASE | MEM_DECOMMIT), is\n"
                "   rejected by Windows with ERROR_INVALID_PARAMETER. vmem's release is\n"
                "   VirtualFree(base, 0, MEM_RELEASE) (munmap on POSIX), which frees committed\n"
                "   pages too: no decommit is needed first.\n");
    void* base = r.base();
    r.release();
    std::printf("   released; read at %s: %s\n", address(base).c_str(),
                can(vmem_probe::can_read(base)));
    return zero ? 0 : 1;
}
