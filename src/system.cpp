// vmem: system facts (shared layer; the backends read them from the OS).
#include "platform.hpp"
#include "record.hpp"

#include <vmem/system.hpp>

namespace vmem {

std::size_t page_size() noexcept {
    return detail::os::page_size();
}

std::size_t allocation_granularity() noexcept {
    return detail::os::allocation_granularity();
}

capabilities query_capabilities() noexcept {
    capabilities c{};
    c.page_size = detail::os::page_size();
    c.allocation_granularity = detail::os::allocation_granularity();
    c.native_aligned_reserve = detail::os::native_aligned_reserve(detail::native_aligned_allowed());
    c.accounting = detail::os::accounting();
    c.commit_charged_when_writable = detail::os::commit_charged_when_writable();
    c.write_execute = detail::os::write_execute();
    return c;
}

} // namespace vmem
