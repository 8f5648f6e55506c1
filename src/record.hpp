// vmem: the bookkeeping of one reservation, and the registry of all of them.
#ifndef VMEM_SRC_RECORD_HPP
#define VMEM_SRC_RECORD_HPP

#include "page_map.hpp"

#include <vmem/access.hpp>
#include <vmem/testing.hpp>

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <system_error>

namespace vmem::detail {

struct record {
    std::uintptr_t base = 0; // set once, when the reservation is made
    std::size_t size = 0;
    std::mutex lock; // guards `committed` and keeps it in step with the OS
    page_map committed;

    bool holds(std::uintptr_t p) const noexcept { return p - base < size; }
};

/// The record whose range holds `p`, or null.
record* find_record(std::uintptr_t p) noexcept;

/// Reserves and registers; null on error.
record* reserve_record(std::size_t size, void* address, bool exact, std::size_t alignment,
                       std::error_code& ec) noexcept;
/// Releases and unregisters; on error `r` stays valid and registered.
bool release_record(record* r, std::error_code& ec) noexcept;

/// The operations on a range already checked to lie inside `r`, in whole pages.
void commit_pages(record& r, std::uintptr_t lo, std::uintptr_t hi, access a,
                  std::error_code& ec) noexcept;
void decommit_pages(record& r, std::uintptr_t lo, std::uintptr_t hi, std::error_code& ec) noexcept;
void protect_pages(record& r, std::uintptr_t lo, std::uintptr_t hi, access a,
                   std::error_code& ec) noexcept;

/// Checks (addr, size) and rounds it outward to pages: null, zero size, wrap-around; then the
/// access, if `a` is not null. Does not look at reservations. Every operation checks in this
/// order, free function or member, so both report the same error for the same mistake.
bool page_range(const void* addr, std::size_t size, const access* a, std::uintptr_t& lo,
                std::uintptr_t& hi, std::error_code& ec) noexcept;

/// The record whose base is `base`: errc::null_address, not_reserved or not_reservation_base.
record* find_base(void* base, std::error_code& ec) noexcept;

/// The seam in front of every system call (see <vmem/testing.hpp>): true when a failure was
/// injected, with `ec` set to it.
bool injected_failure(testing::os_call call, std::error_code& ec) noexcept;

/// Throws std::system_error(ec, what) if ec is set.
void throw_if(const std::error_code& ec, const char* what);

} // namespace vmem::detail

#endif
