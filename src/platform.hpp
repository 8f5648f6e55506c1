// vmem: the porting surface. Each backend (src/posix, src/win32) defines exactly these functions,
// and a lock.hpp with detail::mutex and detail::shared_mutex; a missing one is a link error.
// Arguments arrive checked and page-aligned by the shared layer; a backend does the system call
// and reports the native error, nothing more. None of them may allocate from the heap.
#ifndef VMEM_SRC_PLATFORM_HPP
#define VMEM_SRC_PLATFORM_HPP

#include <vmem/access.hpp>
#include <vmem/system.hpp>

#include <cstddef>
#include <cstdint>
#include <system_error>

namespace vmem::detail::os {

std::size_t page_size() noexcept;
std::size_t allocation_granularity() noexcept;
/// Whether an aligned reserve is one exact call of the OS's. `allowed` false is the testing
/// switch (testing::use_native_aligned_reserve): a backend with a fallback path then uses it.
bool native_aligned_reserve(bool allowed) noexcept;
commit_accounting accounting() noexcept;
bool commit_charged_when_writable() noexcept;
/// Whether the OS lets a commit or protect make private memory writable and executable at once.
bool write_execute() noexcept;

/// One past the highest address a program can map (the top of the user address space). An
/// address at or above it can never be reserved.
std::uintptr_t address_limit() noexcept;

/// True when a failed commit or protect may have changed part of its range (Linux: mprotect
/// works mapping by mapping and does not undo); the shared layer then puts the range back.
bool partial_failures() noexcept;

/// Reserves `size` bytes (a multiple of the page size) aligned to `alignment` (a power of two, at
/// least the granularity). With `at` non-null (aligned): exactly there, or
/// errc::address_unavailable without touching any existing mapping. With `at` null: anywhere;
/// `native_aligned` false makes Windows take its path for systems without VirtualAlloc2.
void* reserve(void* at, std::size_t size, std::size_t alignment, bool native_aligned,
              std::error_code& ec) noexcept;
bool commit(void* addr, std::size_t size, access a, std::error_code& ec) noexcept;
bool decommit(void* addr, std::size_t size, std::error_code& ec) noexcept;
bool protect(void* addr, std::size_t size, access a, std::error_code& ec) noexcept;
/// Releases the whole reservation [base, base+size).
bool release(void* base, std::size_t size, std::error_code& ec) noexcept;

/// Memory for vmem's own bookkeeping: `size` bytes (a multiple of the page size), committed,
/// read-write, zero. Null when the OS refuses. free_pages gives back what allocate_pages gave.
void* allocate_pages(std::size_t size) noexcept;
void free_pages(void* p, std::size_t size) noexcept;

} // namespace vmem::detail::os

#endif
