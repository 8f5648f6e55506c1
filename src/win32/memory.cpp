// vmem Windows backend: VirtualAlloc / VirtualFree / VirtualProtect. Shared logic does not belong
// here (see src/platform.hpp); every argument arrives checked and page-aligned.
#include "../platform.hpp"
#include "call.hpp"
#include "virtual_alloc2.hpp"

#include <vmem/error.hpp>

#include <windows.h>

#include <cstdint>

namespace vmem::detail::win32 {
/// Remembers that a large-page reserve failed, so that the next ones back off (win32/huge.cpp).
void large_pages_failed() noexcept;
} // namespace vmem::detail::win32

namespace vmem::detail::os {

namespace {

DWORD to_protect(access a) noexcept {
    switch (a) {
    case access::none:
        return PAGE_NOACCESS;
    case access::read:
        return PAGE_READONLY;
    case access::read_write:
        return PAGE_READWRITE;
    case access::read_execute:
        return PAGE_EXECUTE_READ;
    case access::read_write_execute:
        return PAGE_EXECUTE_READWRITE;
    }
    return PAGE_NOACCESS; // unreachable: the shared layer refuses other values
}

// What a reserve asks of VirtualAlloc: MEM_RESERVE, plus MEM_COMMIT when the reservation is
// committed at once, plus MEM_LARGE_PAGES for the large-page pool (which Windows only gives
// reserved and committed in one call).
struct request {
    DWORD type = MEM_RESERVE;
    DWORD protect = PAGE_NOACCESS;
};

void* reserve_at(void* at, std::size_t size, const request& q) noexcept {
    return VirtualAlloc(at, size, q.type, q.protect);
}

// Without VirtualAlloc2: reserve enough to find an aligned address, free it and reserve exactly
// there. Another thread may take the range in between, hence the retries.
void* reserve_aligned_by_retry(std::size_t size, std::size_t alignment, const request& q) noexcept {
    for (int attempt = 0; attempt < 64; ++attempt) {
        void* probe = reserve_at(nullptr, size + alignment, request{});
        if (probe == nullptr)
            return nullptr;
        const auto raw = reinterpret_cast<std::uintptr_t>(probe);
        void* aligned = reinterpret_cast<void*>((raw + alignment - 1) & ~(alignment - 1));
        VirtualFree(probe, 0, MEM_RELEASE); // our own fresh reservation: cannot fail
        if (void* p = reserve_at(aligned, size, q))
            return p;
        if (GetLastError() != ERROR_INVALID_ADDRESS)
            return nullptr;
    }
    SetLastError(ERROR_NOT_ENOUGH_MEMORY); // the address space is too busy to find a hole
    return nullptr;
}

void* reserve_with(void* at, std::size_t size, std::size_t alignment, bool native_aligned,
                   const request& q, std::error_code& ec) noexcept {
    void* p = nullptr;
    if (at != nullptr) {
        // Windows takes the address exactly or fails with ERROR_INVALID_ADDRESS.
        p = reserve_at(at, size, q);
        if (p == nullptr && GetLastError() == ERROR_INVALID_ADDRESS) {
            ec = errc::address_unavailable;
            return nullptr;
        }
    } else if (alignment <= allocation_granularity() ||
               ((q.type & MEM_LARGE_PAGES) != 0 && alignment <= GetLargePageMinimum())) {
        p = reserve_at(nullptr, size, q); // large pages come aligned to their size
    } else if (native_aligned && win32::aligned_reserve_works()) {
        p = win32::reserve_aligned(size, alignment, q.type & ~DWORD{MEM_RESERVE}, q.protect);
    } else {
        p = reserve_aligned_by_retry(size, alignment, q);
    }
    if (p == nullptr)
        fail(ec);
    return p;
}

} // namespace

void* reserve(void* at, std::size_t size, std::size_t alignment, bool native_aligned,
              mapping_traits& traits, const access* commit, std::error_code& ec) noexcept {
    request q;
    if (commit != nullptr) {
        q.type |= MEM_COMMIT;
        q.protect = to_protect(*commit);
    }
    if (traits.explicit_pool) {
        request large = q;
        large.type |= MEM_LARGE_PAGES;
        if (void* p = reserve_with(at, size, alignment, native_aligned, large, ec))
            return p;
        // A failed large-page attempt is slow (Windows looks for contiguous physical memory):
        // later reserves skip it for a while (win32/huge.cpp). huge_pages::prefer falls back to
        // normal pages.
        if (ec == errc::address_unavailable)
            return nullptr;
        win32::large_pages_failed();
        if (traits.huge != huge_pages::prefer) {
            ec = errc::huge_pages_unavailable;
            return nullptr;
        }
        traits.explicit_pool = false;
        traits.huge_page = 0;
    }
    return reserve_with(at, size, alignment, native_aligned, q, ec);
}

bool commit(void* addr, std::size_t size, access a, std::error_code& ec) noexcept {
    // Committing committed pages keeps their contents and sets their protection.
    const DWORD protect = to_protect(a);
    return seam_call(testing::os_call::commit, addr, size,
                     [protect](void* p, std::size_t n) {
                         return VirtualAlloc(p, n, MEM_COMMIT, protect) != nullptr;
                     }) ||
           fail(ec);
}

bool decommit(void* addr, std::size_t size, const mapping_traits& traits,
              std::error_code& ec) noexcept {
    // Large pages cannot be decommitted (VirtualFree would refuse, or succeed for good: they
    // could never be committed again). Refused before the call, whatever the range.
    if (traits.explicit_pool) {
        ec = errc::not_supported;
        return false;
    }
    return seam_call(testing::os_call::decommit, addr, size,
                     [](void* p, std::size_t n) { return VirtualFree(p, n, MEM_DECOMMIT) != 0; }) ||
           fail(ec);
}

bool protect(void* addr, std::size_t size, access a, std::error_code& ec) noexcept {
    const DWORD protect = to_protect(a);
    return seam_call(testing::os_call::protect, addr, size,
                     [protect](void* p, std::size_t n) {
                         DWORD old = 0;
                         return VirtualProtect(p, n, protect, &old) != 0;
                     }) ||
           fail(ec);
}

bool release(void* base, std::size_t, std::error_code& ec) noexcept {
    // MEM_RELEASE takes the base and size 0, and frees committed pages too. It cannot be combined
    // with MEM_DECOMMIT (ERROR_INVALID_PARAMETER) and cannot free part of a reservation.
    return VirtualFree(base, 0, MEM_RELEASE) != 0 || fail(ec);
}

// VirtualAlloc(MEM_COMMIT), VirtualProtect and VirtualFree(MEM_DECOMMIT) over several regions of
// one reservation are not documented to be all-or-nothing: the shared layer puts a refused range
// back as Linux needs (on the error path only; where nothing changed, nothing changes).
bool partial_failures() noexcept {
    return true;
}

void* allocate_pages(std::size_t size) noexcept {
    return VirtualAlloc(nullptr, size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
}

void free_pages(void* p, std::size_t) noexcept {
    VirtualFree(p, 0, MEM_RELEASE); // a whole allocation of our own: cannot fail
}

} // namespace vmem::detail::os
