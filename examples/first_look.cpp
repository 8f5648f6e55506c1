// vmem: the README's first look, compiled with the library so that it cannot rot.
#include <vmem/vmem.hpp>

#include <cstdio>

int main() {
    // 1 TiB of address space (1 GiB in a 32-bit process), no memory
    vmem::reservation table(std::size_t{1} << (sizeof(void*) == 8 ? 40 : 30));
    table.commit(table.base(), 1 << 20, vmem::access::read_write); // the first MiB: reads zero
    static_cast<char*>(table.base())[0] = 'v';
    // ... grow by committing more; shrink by decommitting (memory and charge return at once) ...
    table.decommit(table.base(), 1 << 20);
    std::printf("reserved %zu bytes at %p, %zu committed\n", table.size(), table.base(),
                table.committed_bytes());
} // the destructor releases everything, in one call
