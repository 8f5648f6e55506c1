// vmem: the porting surface. Each backend (src/posix, src/win32) defines exactly these functions,
// and a lock.hpp with detail::mutex and detail::shared_mutex; a missing one is a link error.
// Arguments arrive checked and page-aligned by the shared layer; a backend does the system call
// and reports the native error, nothing more. None of them may allocate from the heap.
#ifndef VMEM_SRC_PLATFORM_HPP
#define VMEM_SRC_PLATFORM_HPP

#include <vmem/access.hpp>
#include <vmem/memory.hpp>
#include <vmem/system.hpp>
#include <vmem/testing.hpp>

#include <atomic>
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

/// The seam's after_part mode (testing::failure_mode), asked by a backend right before its system
/// call of kind `call` over `size` bytes: 0 when not armed; else the bytes (whole pages from the
/// start) to make that call for before failing with `ec`, which the backend also puts where its
/// own recovery looks (errno, SetLastError). One relaxed load when nothing is armed.
inline std::size_t injected_partial(testing::os_call call, std::size_t size,
                                    std::error_code& ec) noexcept;

/// What every mapping of a reservation carries, set at reserve and kept by every remap
/// (decommit, guard's fallback): the fork policy, huge pages and MAP_JIT are properties of the
/// mapping on POSIX, which mmap(MAP_FIXED) would otherwise drop.
struct mapping_traits {
    huge_pages huge = huge_pages::os_default;
    /// The reservation comes from the OS's explicit pool (Linux MAP_HUGETLB, Windows
    /// MEM_LARGE_PAGES), in pages of huge_page bytes; else huge_page is THP's size or 0.
    bool explicit_pool = false;
    std::size_t huge_page = 0;
    fork_policy fork = fork_policy::inherit;
    bool executable = false;
};

/// Decides, before anything is mapped, how a reservation with these options is to be made:
/// fills `traits` (huge pages: from the explicit pool, transparent, or none) from `options`, and
/// raises `size` and `alignment` to what that needs (a multiple of the huge page size for the
/// explicit pool; alignment at least the huge page size for huge_pages::prefer and require).
/// Errors: errc::not_supported (a fork policy this system lacks), errc::huge_pages_unavailable
/// (huge_pages::require that the OS cannot meet now). Reads the OS's settings, maps nothing.
bool plan_mapping(const reserve_options& options, mapping_traits& traits, std::size_t& size,
                  std::size_t& alignment, std::error_code& ec) noexcept;

/// Reserves `size` bytes (a multiple of the page size) aligned to `alignment` (a power of two, at
/// least the granularity), with what `traits` asks of the mapping. With `at` non-null (aligned):
/// exactly there, or errc::address_unavailable without touching any existing mapping. With `at`
/// null: anywhere; `native_aligned` false makes Windows take its path for systems without
/// VirtualAlloc2. With `commit` non-null, the whole reservation is also committed with that
/// access, in the same call where the OS allows. A huge_pages::prefer that the explicit pool
/// cannot meet falls back to normal pages and says so in `traits`.
void* reserve(void* at, std::size_t size, std::size_t alignment, bool native_aligned,
              mapping_traits& traits, const access* commit, std::error_code& ec) noexcept;
bool commit(void* addr, std::size_t size, access a, std::error_code& ec) noexcept;
/// Returns pages to reserved; a remap keeps what `traits` says the mapping carries.
bool decommit(void* addr, std::size_t size, const mapping_traits& traits,
              std::error_code& ec) noexcept;
bool protect(void* addr, std::size_t size, access a, std::error_code& ec) noexcept;
/// Releases the whole reservation [base, base+size).
bool release(void* base, std::size_t size, std::error_code& ec) noexcept;

/// The operations of issue 9, on a range the shared layer checked (whole pages, one
/// reservation, the page states each requires). Each reports the OS's error and returns false.
/// discard: contents may go, pages stay committed with their access.
bool discard(void* addr, std::size_t size, std::error_code& ec) noexcept;
/// guard: any access faults until decommit; `traits` for a fallback that remaps.
bool guard(void* addr, std::size_t size, const mapping_traits& traits,
           std::error_code& ec) noexcept;
bool lock(void* addr, std::size_t size, std::error_code& ec) noexcept;
bool unlock(void* addr, std::size_t size, std::error_code& ec) noexcept;
/// Populates committed pages of access `a` without writing to them.
bool prefault(void* addr, std::size_t size, access a, std::error_code& ec) noexcept;
void flush_instruction_cache(const void* addr, std::size_t size) noexcept;
/// After a failed call that asked for `size` bytes: replaces an out-of-memory `ec` by
/// errc::mapping_limit or errc::process_limit when that is what the OS meant (it counts the
/// process's mappings and compares its usage with its limits). Anything else is left as it is.
void classify_out_of_memory(std::error_code& ec, std::size_t size) noexcept;
/// What the OS says about the pages around `address` (region::reservation left null): the run of
/// pages of one state and access holding it, as far as the OS shows it (the shared layer bounds it
/// to the reservation). `fast_source` false is the testing switch (testing::use_procmap_query): a
/// backend with a fallback source then uses it.
bool query(const void* address, bool fast_source, region& out, std::error_code& ec) noexcept;
/// Bytes of [base, base+size) backed by huge pages now. `fast_source` false is the testing switch
/// (testing::use_pagemap_scan): a backend with a fallback source then uses it.
std::size_t huge_bytes(const void* base, std::size_t size, bool fast_source) noexcept;
/// The capabilities this backend knows (all but what the shared layer fills in).
void fill_capabilities(capabilities& c) noexcept;

/// The double mapping of vmem::double_mapping (src/posix/ring.cpp, src/win32/ring.cpp): one
/// shared object of `size` bytes (a multiple of the allocation granularity, 2 * size within the
/// address space) mapped read-write at base and at base + size. Returns base, or null with `ec`
/// set and nothing left behind (no view, no reservation, no descriptor or handle). The object's
/// descriptor or handle is closed once both views hold it. `placeholders` false is the testing
/// switch (testing::use_placeholder_double_mapping): Windows then takes its retry path.
void* map_twice(std::size_t size, bool placeholders, std::error_code& ec) noexcept;
/// Unmaps both views made by map_twice, which frees the object.
bool unmap_twice(void* base, std::size_t size, std::error_code& ec) noexcept;
/// The method map_twice uses here, with the testing switch as above.
double_mapping_method double_mapping(bool placeholders) noexcept;
/// The testing switch's state (src/ring_buffer.cpp).
bool placeholder_double_mapping_allowed() noexcept;
/// Times map_twice's retry path found its address taken (testing::double_mapping_retries).
std::size_t double_mapping_retries() noexcept;

/// Memory for vmem's own bookkeeping: `size` bytes (a multiple of the page size), committed,
/// read-write, zero. Null when the OS refuses. free_pages gives back what allocate_pages gave.
void* allocate_pages(std::size_t size) noexcept;
void free_pages(void* p, std::size_t size) noexcept;

} // namespace vmem::detail::os

namespace vmem::detail {
extern std::atomic<bool> seam_armed;
std::size_t injected_partial_armed(testing::os_call call, std::size_t size,
                                   std::error_code& ec) noexcept;
} // namespace vmem::detail

inline std::size_t vmem::detail::os::injected_partial(testing::os_call call, std::size_t size,
                                                      std::error_code& ec) noexcept {
    return seam_armed.load(std::memory_order_relaxed) ? injected_partial_armed(call, size, ec) : 0;
}

#endif
