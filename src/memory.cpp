// vmem: the shared layer. Every check that must behave the same on every platform lives here,
// before the call into a backend (src/posix or src/win32).
#include "platform.hpp"
#include "record.hpp"

#include <vmem/memory.hpp>

#include <map>
#include <new>

namespace vmem::detail {

namespace {

// Every live reservation by base address. It grows with the number of reservations, not with
// their size.
struct registry {
    std::mutex lock;
    std::map<std::uintptr_t, record*> by_base;
};

registry& the_registry() noexcept {
    static registry r; // constructed on first use, so reservations made by static initialisers work
    return r;
}

record* find_locked(registry& reg, std::uintptr_t p) noexcept {
    auto it = reg.by_base.upper_bound(p);
    if (it == reg.by_base.begin())
        return nullptr;
    --it;
    return it->second->holds(p) ? it->second : nullptr;
}

bool is_power_of_two(std::size_t n) noexcept {
    return n != 0 && (n & (n - 1)) == 0;
}

void clear(std::error_code& ec) noexcept {
    ec.clear();
}

} // namespace

record* find_record(std::uintptr_t p) noexcept {
    registry& reg = the_registry();
    std::lock_guard<std::mutex> hold(reg.lock);
    return find_locked(reg, p);
}

bool page_range(const void* addr, std::size_t size, const access* a, std::uintptr_t& lo,
                std::uintptr_t& hi, std::error_code& ec) noexcept {
    if (addr == nullptr) {
        ec = errc::null_address;
        return false;
    }
    if (size == 0) {
        ec = errc::zero_size;
        return false;
    }
    const std::uintptr_t first = reinterpret_cast<std::uintptr_t>(addr);
    const std::uintptr_t mask = os::page_size() - 1;
    if (size > UINTPTR_MAX - first ||
        first + size > UINTPTR_MAX - mask) { // end or its round-up wraps
        ec = errc::size_overflow;
        return false;
    }
    if (a != nullptr && !is_valid(*a)) {
        ec = errc::invalid_access;
        return false;
    }
    lo = first & ~mask;
    hi = (first + size + mask) & ~mask;
    return true;
}

record* find_base(void* base, std::error_code& ec) noexcept {
    if (base == nullptr) {
        ec = errc::null_address;
        return nullptr;
    }
    const std::uintptr_t p = reinterpret_cast<std::uintptr_t>(base);
    record* r = find_record(p);
    if (r == nullptr) {
        ec = errc::not_reserved;
        return nullptr;
    }
    if (r->base != p) {
        ec = errc::not_reservation_base;
        return nullptr;
    }
    return r;
}

record* reserve_record(std::size_t size, void* address, bool exact, std::size_t alignment,
                       std::error_code& ec) noexcept {
    const std::size_t page = os::page_size();
    if (size == 0) {
        ec = errc::zero_size;
        return nullptr;
    }
    if (exact && address == nullptr) {
        ec = errc::null_address;
        return nullptr;
    }
    if (alignment != 0 && !is_power_of_two(alignment)) {
        ec = errc::invalid_alignment;
        return nullptr;
    }
    // No system gives a program more than the lower half of a 64-bit address space; refusing
    // here gives one error everywhere (Linux says ENOMEM, Windows ERROR_INVALID_PARAMETER).
    if (sizeof(void*) == 8 && size > UINTPTR_MAX / 2) {
        ec = errc::size_overflow;
        return nullptr;
    }
    if (alignment < os::allocation_granularity())
        alignment = os::allocation_granularity();
    // The rounded size and the over-reservation an aligned reserve may need must both fit.
    if (size > SIZE_MAX - (page - 1) || ((size + page - 1) & ~(page - 1)) > SIZE_MAX - alignment) {
        ec = errc::size_overflow;
        return nullptr;
    }
    size = (size + page - 1) & ~(page - 1);

    const std::uintptr_t at = reinterpret_cast<std::uintptr_t>(address) & ~(alignment - 1);
    if (at != 0 && size > UINTPTR_MAX - at) {
        ec = errc::size_overflow;
        return nullptr;
    }
    if (exact && at == 0) { // the address rounds down to the null page, which is never free
        ec = errc::address_unavailable;
        return nullptr;
    }

    record* r = nullptr;
    try {
        r = new record; // allocated before the reservation, so a bad_alloc leaks nothing
    } catch (const std::bad_alloc&) {
        ec = std::make_error_code(std::errc::not_enough_memory);
        return nullptr;
    }

    void* base = nullptr;
    if (at != 0 && !injected_failure(testing::os_call::reserve, ec))
        base = os::reserve(reinterpret_cast<void*>(at), size, alignment, ec);
    // placement::prefer: whatever kept the address from us (taken, or outside what the OS gives
    // programs), try anywhere; if memory is short, that attempt reports it.
    if (base == nullptr && !exact && !injected_failure(testing::os_call::reserve, ec))
        base = os::reserve(nullptr, size, alignment, ec);
    if (base == nullptr) {
        delete r;
        return nullptr;
    }

    r->base = reinterpret_cast<std::uintptr_t>(base);
    r->size = size;

    registry& reg = the_registry();
    try {
        std::lock_guard<std::mutex> hold(reg.lock);
        reg.by_base.emplace(r->base, r);
    } catch (const std::bad_alloc&) {
        std::error_code ignored; // the reservation was never handed out; nothing else to report
        os::release(base, size, ignored);
        delete r;
        ec = std::make_error_code(std::errc::not_enough_memory);
        return nullptr;
    }
    clear(ec);
    return r;
}

bool release_record(record* r, std::error_code& ec) noexcept {
    registry& reg = the_registry();
    {
        // Held across the system call so that no new reservation at the same base can be
        // registered before this one is gone.
        std::lock_guard<std::mutex> hold(reg.lock);
        if (injected_failure(testing::os_call::release, ec) ||
            !os::release(reinterpret_cast<void*>(r->base), r->size, ec))
            return false;
        reg.by_base.erase(r->base);
    }
    delete r;
    clear(ec);
    return true;
}

void commit_pages(record& r, std::uintptr_t lo, std::uintptr_t hi, access a,
                  std::error_code& ec) noexcept {
    std::lock_guard<std::mutex> hold(r.lock);
    page_map::spare node;
    try {
        node = page_map::make_spare();
    } catch (const std::bad_alloc&) {
        ec = std::make_error_code(std::errc::not_enough_memory);
        return;
    }
    if (injected_failure(testing::os_call::commit, ec) ||
        !os::commit(reinterpret_cast<void*>(lo), hi - lo, a, ec))
        return;
    r.committed.add(lo, hi, node);
    clear(ec);
}

void decommit_pages(record& r, std::uintptr_t lo, std::uintptr_t hi, std::error_code& ec) noexcept {
    std::lock_guard<std::mutex> hold(r.lock);
    page_map::spare node;
    try {
        node = page_map::make_spare();
    } catch (const std::bad_alloc&) {
        ec = std::make_error_code(std::errc::not_enough_memory);
        return;
    }
    if (injected_failure(testing::os_call::decommit, ec) ||
        !os::decommit(reinterpret_cast<void*>(lo), hi - lo, ec))
        return;
    r.committed.remove(lo, hi, node);
    clear(ec);
}

void protect_pages(record& r, std::uintptr_t lo, std::uintptr_t hi, access a,
                   std::error_code& ec) noexcept {
    std::lock_guard<std::mutex> hold(r.lock);
    if (!r.committed.covers(lo, hi)) { // Windows refuses reserved pages; so do we, everywhere
        ec = errc::not_committed;
        return;
    }
    if (injected_failure(testing::os_call::protect, ec) ||
        !os::protect(reinterpret_cast<void*>(lo), hi - lo, a, ec))
        return;
    clear(ec);
}

void throw_if(const std::error_code& ec, const char* what) {
    if (ec)
        throw std::system_error(ec, what);
}

namespace {

// The record holding the whole range [lo, hi), or null with the reason in `ec`.
record* locate(std::uintptr_t lo, std::uintptr_t hi, std::error_code& ec) noexcept {
    registry& reg = the_registry();
    std::lock_guard<std::mutex> hold(reg.lock);
    record* r = find_locked(reg, lo);
    if (r == nullptr) {
        ec = errc::not_reserved;
        return nullptr;
    }
    if (hi - r->base > r->size) {
        ec = find_locked(reg, hi - 1) != nullptr ? errc::spans_reservations
                                                 : errc::outside_reservation;
        return nullptr;
    }
    return r;
}

} // namespace

} // namespace vmem::detail

namespace vmem {

using detail::page_range;
using detail::throw_if;

void* reserve(std::size_t size, const reserve_options& options, std::error_code& ec) noexcept {
    detail::record* r = detail::reserve_record(
        size, options.address, options.at == placement::exact, options.alignment, ec);
    return r != nullptr ? reinterpret_cast<void*>(r->base) : nullptr;
}

void* reserve(std::size_t size, const reserve_options& options) {
    std::error_code ec;
    void* base = reserve(size, options, ec);
    throw_if(ec, "vmem::reserve");
    return base;
}

void commit(void* addr, std::size_t size, access a, std::error_code& ec) noexcept {
    std::uintptr_t lo, hi;
    if (!page_range(addr, size, &a, lo, hi, ec))
        return;
    if (detail::record* r = detail::locate(lo, hi, ec))
        detail::commit_pages(*r, lo, hi, a, ec);
}

void commit(void* addr, std::size_t size, access a) {
    std::error_code ec;
    commit(addr, size, a, ec);
    throw_if(ec, "vmem::commit");
}

void decommit(void* addr, std::size_t size, std::error_code& ec) noexcept {
    std::uintptr_t lo, hi;
    if (!page_range(addr, size, nullptr, lo, hi, ec))
        return;
    if (detail::record* r = detail::locate(lo, hi, ec))
        detail::decommit_pages(*r, lo, hi, ec);
}

void decommit(void* addr, std::size_t size) {
    std::error_code ec;
    decommit(addr, size, ec);
    throw_if(ec, "vmem::decommit");
}

void protect(void* addr, std::size_t size, access a, std::error_code& ec) noexcept {
    std::uintptr_t lo, hi;
    if (!page_range(addr, size, &a, lo, hi, ec))
        return;
    if (detail::record* r = detail::locate(lo, hi, ec))
        detail::protect_pages(*r, lo, hi, a, ec);
}

void protect(void* addr, std::size_t size, access a) {
    std::error_code ec;
    protect(addr, size, a, ec);
    throw_if(ec, "vmem::protect");
}

void release(void* base, std::error_code& ec) noexcept {
    if (detail::record* r = detail::find_base(base, ec))
        detail::release_record(r, ec);
}

void release(void* base) {
    std::error_code ec;
    release(base, ec);
    throw_if(ec, "vmem::release");
}

} // namespace vmem
