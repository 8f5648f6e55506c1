// vmem: error reporting.
//
// Every fallible operation comes in two forms: one takes a std::error_code& and is noexcept, the
// other throws std::system_error carrying the same code. A failed call changes nothing.
//
// Codes come from three places:
// - vmem::error_category() ("vmem"): the caller broke the contract (values of vmem::errc). They
//   are detected before any system call (or, for address_unavailable, classified after it)
//   identically on every platform. They compare equal to std::errc::invalid_argument, except
//   address_unavailable, not_supported (std::errc::not_supported) and the two limits the OS
//   reports as out of memory, mapping_limit and process_limit (std::errc::not_enough_memory).
// - POSIX: std::system_category() holding the errno of the failed call.
// - Windows: vmem::win32_category() ("win32") holding the GetLastError() value of the failed call.
//   It exists because the standard library's system_category does not classify
//   ERROR_COMMITMENT_LIMIT and friends as out of memory.
// On every platform, running out of memory or commit charge compares equal to
// std::errc::not_enough_memory.
#ifndef VMEM_ERROR_HPP
#define VMEM_ERROR_HPP

#include <vmem/config.hpp>

#include <system_error>
#include <type_traits>

namespace vmem {

/// Contract violations, detected by vmem before the operating system is asked.
enum class errc {
    null_address = 1,     ///< an address argument is null
    zero_size,            ///< a size argument is zero
    size_overflow,        ///< the size, rounded to pages, or address + size wraps the address space
    invalid_access,       ///< not one of the five vmem::access values
    invalid_alignment,    ///< alignment is not zero or a power of two
    not_reserved,         ///< the address lies in no reservation made by vmem
    not_reservation_base, ///< release was given an address that is not a reservation's base
    outside_reservation,  ///< the range runs past the end of the reservation that holds its start
    spans_reservations,   ///< the range runs on into another reservation
    not_committed,        ///< protect touched pages that are reserved but not committed
    empty_reservation,    ///< the vmem::reservation object holds no reservation
    address_unavailable,  ///< the exact address asked of reserve is not free, or no program can
                          ///< own it (past the top of the user address space, non-canonical)
    reservation_owned,    ///< release or adopt of a reservation that a vmem::reservation owns
    invalid_placement,    ///< not one of the vmem::placement values
    invalid_option,       ///< a reserve or commit option outside its enum, or options that
                          ///< contradict each other (see reserve_options)
    guard_page,           ///< commit, protect, discard or lock touched guard pages (see guard)
    no_access,            ///< lock touched pages committed with access::none
    not_supported,        ///< the operation or option does not exist on this system; the
                          ///< capabilities say so beforehand
    huge_pages_unavailable, ///< huge_pages::require could not be met (no pool pages, no
                            ///< privilege, THP off); nothing was reserved
    // Not contract violations: the OS refused for a reason it reports only as "out of memory",
    // which vmem tells apart after the failed call. Both compare equal to
    // std::errc::not_enough_memory.
    mapping_limit, ///< Linux: the process has as many mappings as vm.max_map_count allows; a
                   ///< change that splits a mapping needs another one
    process_limit, ///< a limit on this process (POSIX RLIMIT_AS or RLIMIT_DATA), not on the
                   ///< system's memory
};

/// The category of vmem::errc.
VMEM_DECL const std::error_category& error_category() noexcept;

#if defined(VMEM_WINDOWS)
/// The category of GetLastError() values on Windows (see above).
VMEM_DECL const std::error_category& win32_category() noexcept;
#endif

inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), error_category()};
}

} // namespace vmem

namespace std {
template <>
struct is_error_code_enum<vmem::errc> : true_type {};
} // namespace std

#endif
