// vmem: what huge pages a reservation got (shared layer; the backends count them).
#include "platform.hpp"
#include "record.hpp"

#include <vmem/memory.hpp>
#include <vmem/testing.hpp>

#include <atomic>

namespace vmem {

namespace detail {

namespace {

std::atomic<bool> pagemap_scan_allowed{true};

} // namespace

huge_page_report huge_page_report_locked(const record& r) noexcept {
    huge_page_report h;
    h.policy = r.traits.huge;
    h.explicit_pool = r.traits.explicit_pool;
    h.page_size = r.traits.huge_page;
    // The explicit pool's pages are huge from the start, all of them; otherwise ask the OS.
    h.huge_bytes = r.traits.explicit_pool
                       ? r.size
                       : os::huge_bytes(reinterpret_cast<const void*>(r.base), r.size,
                                        pagemap_scan_allowed.load(std::memory_order_relaxed));
    if (h.page_size == 0 && h.huge_bytes != 0) // the OS's own choice (Linux THP `always`)
        h.page_size = query_capabilities().huge_page_size;
    return h;
}

} // namespace detail

huge_page_report huge_page_status(void* base, std::error_code& ec) noexcept {
    detail::locked_record r = detail::lock_base(base, ec);
    if (!r)
        return {};
    huge_page_report h = detail::huge_page_report_locked(*r.get());
    ec.clear();
    return h;
}

huge_page_report huge_page_status(void* base) {
    std::error_code ec;
    huge_page_report h = huge_page_status(base, ec);
    detail::throw_if(ec, "vmem::huge_page_status");
    return h;
}

} // namespace vmem

namespace vmem::testing {

void use_pagemap_scan(bool enabled) noexcept {
    detail::pagemap_scan_allowed.store(enabled, std::memory_order_relaxed);
}

} // namespace vmem::testing
