// vmem POSIX backend: reading the small files of /proc and /sys. With open and read into the
// caller's buffer or one on the stack, never stdio or the heap: these run beneath a malloc built
// on vmem (query_capabilities, the ENOMEM classification, a huge-page reserve). Shared logic does
// not belong here.
#ifndef VMEM_SRC_POSIX_PROC_HPP
#define VMEM_SRC_POSIX_PROC_HPP

#include <vmem/system.hpp>

#include <cstddef>

namespace vmem::detail::os {

/// The stack buffer the readers of /proc and /sys files use: big enough for /proc/meminfo and
/// /proc/self/status, and the chunk a longer file (/proc/self/maps, smaps) is read in. A buffer
/// size only; it has nothing to do with the page size.
constexpr std::size_t file_buffer_size = 4096;

/// Reads up to size - 1 bytes of a small file into buffer, NUL-terminated (size > 0), retrying
/// short and interrupted reads. The length read, or -1 when the file cannot be opened (errno
/// says why).
long read_file(const char* path, char* buffer, std::size_t size) noexcept;

/// The lines of a file of any length (/proc/self/maps: one per mapping), streamed through a
/// buffer on the stack. 0 when it cannot be read.
std::size_t count_lines(const char* path) noexcept;

/// Whether s starts with prefix.
bool starts_with(const char* s, const char* prefix) noexcept;

/// The decimal number at the start of s, after blanks, or 0; `end` gets the first character
/// after it.
std::size_t parse_number(const char* s, const char** end = nullptr) noexcept;

/// The number after "key:" at the start of a line of text (as in /proc/meminfo or
/// /proc/self/status: "VmData:   1234 kB"), as it stands; 0 when no line has the key.
std::size_t number_after(const char* text, const char* key) noexcept;

/// As number_after, but in bytes when the number is given in kB.
std::size_t bytes_after(const char* text, const char* key) noexcept;

/// The number a file holds alone (/proc/sys/vm/max_map_count); fallback when it cannot be read
/// or does not start with a digit.
std::size_t file_number(const char* path, std::size_t fallback) noexcept;

/// Whether the kernel has guard markers (Linux 6.13+ MADV_GUARD_INSTALL), found once on a fresh
/// page (capabilities.cpp). False elsewhere.
bool guard_markers() noexcept;

#if defined(__linux__)
/// The bracketed word of /sys/kernel/mm/transparent_hugepage/enabled ("always [madvise] never");
/// unavailable when the file cannot be read or names none of the three.
thp_mode read_thp_mode() noexcept;
#endif

} // namespace vmem::detail::os

#endif
