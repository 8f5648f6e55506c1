// vmem: the porting surface. Each backend (src/posix, src/win32) defines exactly these functions;
// a missing one is a link error. Arguments arrive checked and page-aligned by the shared layer;
// a backend does the system call and reports the native error, nothing more.
#ifndef VMEM_SRC_PLATFORM_HPP
#define VMEM_SRC_PLATFORM_HPP

#include <vmem/access.hpp>
#include <vmem/system.hpp>

#include <cstddef>
#include <system_error>

namespace vmem::detail::os {

std::size_t page_size() noexcept;
std::size_t allocation_granularity() noexcept;
bool native_aligned_reserve() noexcept;
commit_accounting accounting() noexcept;
bool commit_charged_when_writable() noexcept;

/// Reserves `size` bytes (a multiple of the page size) aligned to `alignment` (a power of two, at
/// least the granularity). With `at` non-null (aligned): exactly there, or
/// errc::address_unavailable without touching any existing mapping. With `at` null: anywhere.
void* reserve(void* at, std::size_t size, std::size_t alignment, std::error_code& ec) noexcept;
bool commit(void* addr, std::size_t size, access a, std::error_code& ec) noexcept;
bool decommit(void* addr, std::size_t size, std::error_code& ec) noexcept;
bool protect(void* addr, std::size_t size, access a, std::error_code& ec) noexcept;
/// Releases the whole reservation [base, base+size).
bool release(void* base, std::size_t size, std::error_code& ec) noexcept;

} // namespace vmem::detail::os

#endif
