// vmem: system facts (shared layer; the backends read them from the OS).
#include "platform.hpp"
#include "record.hpp"

#include <vmem/system.hpp>

#include <cerrno>
#include <climits>
#include <cstdint>

namespace vmem {

std::size_t page_size() noexcept {
    return detail::os::page_size();
}

std::size_t allocation_granularity() noexcept {
    return detail::os::allocation_granularity();
}

capabilities query_capabilities() noexcept {
    // The probes behind the report (the address limit's hinted mappings among them) leave errno
    // as they found it; a backend keeps its own error state too (GetLastError).
    const int saved_errno = errno;
    capabilities c{};
    c.page_size = detail::os::page_size();
    c.allocation_granularity = detail::os::allocation_granularity();
    c.native_aligned_reserve = detail::os::native_aligned_reserve(detail::native_aligned_allowed());
    c.accounting = detail::os::accounting();
    c.commit_charged_when_writable = detail::os::commit_charged_when_writable();
    c.write_execute = detail::os::write_execute();
    detail::os::fill_capabilities(c);
    // The top of the user address space is below 2^address_bits: the bit width of the highest
    // address a program can map.
    const std::uintptr_t highest = detail::os::address_limit() - 1;
    c.address_bits = 0;
    while (c.address_bits < sizeof(std::uintptr_t) * CHAR_BIT && (highest >> c.address_bits) != 0)
        ++c.address_bits;
    // What huge_pages::prefer can get now: a free page of the explicit pool, transparent huge
    // pages that are not off, or Windows large pages with the privilege.
    c.huge_pages_usable = c.huge_pages_free > 0 ||
                          ((c.transparent_huge_pages == thp_mode::madvise ||
                            c.transparent_huge_pages == thp_mode::always) &&
                           c.huge_page_size != 0) ||
                          (c.large_page_privilege && c.huge_page_size != 0);
    errno = saved_errno;
    return c;
}

} // namespace vmem
