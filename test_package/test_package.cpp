// Conan's test_package: the packaged vmem links, and its memory behaves.
#include <vmem/vmem.hpp>

#include <cstdio>
#include <system_error>

int main() {
    vmem::reservation r(vmem::allocation_granularity());
    r.commit(r.base(), vmem::page_size(), vmem::access::read_write);
    auto* p = static_cast<volatile unsigned char*>(r.base());
    const bool zero = p[0] == 0;
    p[0] = 42;
    std::error_code ec;
    vmem::release(static_cast<char*>(r.base()) + vmem::page_size(), ec); // not a base: refused
    const bool refused = ec == std::errc::invalid_argument;
    std::printf("vmem %s: committed page read %s, partial release %s\n", VMEM_VERSION_STRING,
                zero ? "zero" : "NOT ZERO", refused ? "refused" : "NOT REFUSED");
    return zero && p[0] == 42 && refused ? 0 : 1;
}
