// vmem: query, what the OS says about the pages around an address (shared layer; the backends ask
// the OS: src/posix/query.cpp, src/win32/query.cpp).
//
// No seam (testing::os_call) here: the seam lets a test make an operation fail as if the OS had
// refused it, to prove that a failure changes nothing and leaks nothing. query changes nothing and
// holds nothing, whether it succeeds or not; its one error path returns the OS's code as it is.
#include "platform.hpp"
#include "record.hpp"

#include <vmem/memory.hpp>
#include <vmem/testing.hpp>

#include <atomic>
#include <cstdint>

namespace vmem::detail {

namespace {

std::atomic<bool> procmap_query_allowed{true};

} // namespace

} // namespace vmem::detail

namespace vmem {

region query(const void* address, std::error_code& ec) noexcept {
    region out;
    if (address == nullptr) {
        ec = errc::null_address;
        return out;
    }
    const bool fast = detail::procmap_query_allowed.load(std::memory_order_relaxed);
    if (!detail::os::query(address, fast, out, ec))
        return region{};
    // A free page lies in no reservation: an entry found for it is one being released.
    const auto p = reinterpret_cast<std::uintptr_t>(address);
    std::uintptr_t base = 0, end = 0;
    if (out.state != page_state::free && detail::reservation_holding(p, base, end)) {
        out.reservation = reinterpret_cast<void*>(base);
        // The run ends at the reservation's bounds, as on Windows, where a run never leaves its
        // allocation. (Linux merges neighbouring reservations into one mapping when their
        // protection and flags agree.)
        auto lo = reinterpret_cast<std::uintptr_t>(out.base);
        std::uintptr_t hi = lo + out.size;
        if (lo < base)
            lo = base;
        if (hi > end || hi < lo) // hi < lo: the run reaches the end of the address space
            hi = end;
        out.base = reinterpret_cast<void*>(lo);
        out.size = hi - lo;
    }
    ec.clear();
    return out;
}

region query(const void* address) {
    std::error_code ec;
    const region r = query(address, ec);
    detail::throw_if(ec, "vmem::query");
    return r;
}

} // namespace vmem

namespace vmem::testing {

void use_procmap_query(bool enabled) noexcept {
    detail::procmap_query_allowed.store(enabled, std::memory_order_relaxed);
}

} // namespace vmem::testing
