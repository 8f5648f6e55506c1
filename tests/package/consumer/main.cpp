// A program as a vmem user writes it, built by tests/package against an installed vmem, through
// add_subdirectory, through FetchContent and with pkg-config's flags. It checks what can go wrong
// across a package boundary: the headers' version, data that crosses the library, error codes that
// compare equal on both sides and exceptions thrown inside the library and caught here.
#include <vmem/vmem.hpp>

#include <cstdio>
#include <cstring>
#include <system_error>

#ifndef VMEM_EXPECTED_VERSION
#error "build with -DVMEM_EXPECTED_VERSION=\"x.y.z\""
#endif

namespace {

int failures = 0;

void check(bool ok, const char* what) {
    if (!ok) {
        std::printf("FAILED: %s\n", what);
        ++failures;
    }
}

} // namespace

int main() {
    check(std::strcmp(VMEM_VERSION_STRING, VMEM_EXPECTED_VERSION) == 0,
          "the headers are the version that was asked for");

    const std::size_t page = vmem::page_size();
    vmem::reservation r(4 * vmem::allocation_granularity());
    r.commit(r.base(), 2 * page, vmem::access::read_write);
    auto* bytes = static_cast<unsigned char*>(r.base());
    check(bytes[0] == 0 && bytes[2 * page - 1] == 0, "committed memory reads zero");
    std::memset(bytes, 0xA5, 2 * page);
    r.decommit(r.base(), page);
    r.commit(r.base(), page, vmem::access::read_write);
    check(bytes[0] == 0, "decommitted and recommitted memory reads zero again");
    check(bytes[page] == 0xA5, "the page left committed keeps its data");
    check(r.committed_bytes() == 2 * page, "committed_bytes counts both pages");

    std::error_code ec;
    vmem::commit(nullptr, page, vmem::access::read_write, ec);
    check(ec == vmem::errc::null_address, "a null address is reported as errc::null_address");
    check(ec == std::errc::invalid_argument, "and compares equal to std::errc::invalid_argument");
    check(&ec.category() == &vmem::error_category(), "the category is the library's one object");

    bool thrown = false;
    try {
        r.protect(r.base(), r.size(), vmem::access::read); // runs into reserved pages
    } catch (const std::system_error& e) {
        thrown = e.code() == std::errc::invalid_argument;
    }
    check(thrown, "a refused call throws std::system_error across the library boundary");

    r.release();
    check(!r, "release empties the owner");

    std::printf("vmem %s consumer: %s (page size %zu, granularity %zu)\n", VMEM_VERSION_STRING,
                failures == 0 ? "ok" : "FAILED", page, vmem::allocation_granularity());
    return failures == 0 ? 0 : 1;
}
