// vmem test program: an aligned reserve whose trim is refused leaks nothing. On POSIX an aligned
// reservation is an over-sized PROT_NONE mapping with its unaligned head and tail unmapped. Each
// munmap can fail: when the kernel merged the fresh mapping with a neighbour of the same kind,
// cutting it needs a split, and at vm.max_map_count the kernel refuses that with ENOMEM. The
// reserve must then report the error and unmap all of the over-sized mapping, head and tail
// included: the address range is free again and the process has its mappings as before.
//
// Reaching the mapping limit at exactly that split cannot be arranged reliably, so the program
// interposes munmap and mmap (ELF symbol interposition: POSIX only, CMakeLists.txt skips it
// elsewhere): it records the reserve's over-sized mapping and refuses, once, the trim of its head
// (or of its tail) with ENOMEM, as the kernel would.
#include "check.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <dlfcn.h>
#include <fstream>
#include <string>
#include <sys/mman.h>
#include <sys/types.h>
#include <system_error>

#if defined(__SANITIZE_ADDRESS__)
#define VMEM_PROGRAM_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VMEM_PROGRAM_UNDER_ASAN 1
#endif
#endif

namespace {

using namespace programs; // the helpers of check.hpp

enum class refuse { nothing, head, tail };
thread_local refuse armed = refuse::nothing; // on the main thread, during one reserve
thread_local std::uintptr_t span_lo = 0;     // the reserve's over-sized mapping
thread_local std::uintptr_t span_hi = 0;
thread_local bool refused = false; // the armed trim came and was refused

std::size_t mappings() {
    std::ifstream maps("/proc/self/maps");
    std::size_t n = 0;
    for (std::string line; std::getline(maps, line);)
        ++n;
    return n;
}

} // namespace

extern "C" void* mmap(void* address, size_t size, int prot, int flags, int fd, off_t offset) {
    using mmap_fn = void* (*)(void*, size_t, int, int, int, off_t);
    static const auto real = reinterpret_cast<mmap_fn>(dlsym(RTLD_NEXT, "mmap"));
    void* p = real(address, size, prot, flags, fd, offset);
    if (armed != refuse::nothing && p != MAP_FAILED && prot == PROT_NONE) {
        span_lo = reinterpret_cast<std::uintptr_t>(p);
        span_hi = span_lo + size;
    }
    return p;
}

extern "C" int munmap(void* address, size_t size) {
    using munmap_fn = int (*)(void*, size_t);
    static const auto real = reinterpret_cast<munmap_fn>(dlsym(RTLD_NEXT, "munmap"));
    const auto lo = reinterpret_cast<std::uintptr_t>(address);
    const bool head = lo == span_lo && lo + size < span_hi;
    const bool tail = lo > span_lo && lo + size == span_hi;
    if (!refused && ((armed == refuse::head && head) || (armed == refuse::tail && tail))) {
        refused = true;
        errno = ENOMEM;
        return -1;
    }
    return real(address, size);
}

namespace {

// Reserves `size` bytes aligned to `alignment` with the head's (or the tail's) trim refused, until
// the reserve has a head (tail) to trim: an over-sized mapping that happens to be aligned has none.
void refused_trim(refuse which, const char* name) {
    const std::size_t size = 4 * granularity();
    vmem::reserve_options aligned;
    aligned.alignment = 64 * granularity();
    for (int attempt = 0; attempt < 64; ++attempt) {
        const std::size_t before = mappings();
        std::error_code ec;
        refused = false;
        span_lo = span_hi = 0;
        armed = which;
        void* p = vmem::reserve(size, aligned, ec);
        armed = refuse::nothing;
        if (!refused) { // no such trim this time: the mapping came aligned at that end
            if (ec)
                fail("%s: the reserve failed with nothing refused: error %d", name, ec.value());
            vmem::release(p, ec);
            check_ok(ec, "a reserve with nothing refused is released");
            continue;
        }
        std::printf("-- refused the %s trim of [%#jx, %#jx)\n", name,
                    static_cast<std::uintmax_t>(span_lo), static_cast<std::uintmax_t>(span_hi));
        check(p == nullptr, "the reserve whose trim was refused returned no reservation");
        check_error(ec, std::error_code(ENOMEM, std::system_category()),
                    "the reserve reported the kernel's ENOMEM");
        check(range_is_free(reinterpret_cast<void*>(span_lo), span_hi - span_lo),
              "the whole over-sized mapping was unmapped: its range is free");
#if !defined(VMEM_PROGRAM_UNDER_ASAN)
        check(mappings() == before, "the process has as many mappings as before the reserve");
#else
        (void)before; // AddressSanitizer maps memory of its own as the program runs
        note("not counted under AddressSanitizer, whose runtime maps memory as the program runs");
#endif
        check(vmem::query(reinterpret_cast<void*>(span_lo)).state == vmem::page_state::free,
              "vmem's query sees the range free");
        return;
    }
    fail("%s: 64 aligned reserves in a row had no %s to trim", name, name);
}

} // namespace

int main() {
    // Warm up: the first reserve builds the registry, whose own mappings must not be counted.
    vmem::release(vmem::reserve(granularity()));
    refused_trim(refuse::head, "head");
    refused_trim(refuse::tail, "tail");
    // And the reservation works afterwards.
    vmem::reserve_options aligned;
    aligned.alignment = 64 * granularity();
    void* p = vmem::reserve(4 * granularity(), aligned);
    check(reinterpret_cast<std::uintptr_t>(p) % aligned.alignment == 0,
          "an aligned reserve afterwards is aligned");
    vmem::release(p);
    std::printf("refused_trim_leaks_nothing: passed\n");
    return 0;
}
