// vmem: make vmem's system calls fail on demand, to test the paths the OS rarely takes.
//
// Every call vmem makes into the operating system passes one seam. Arming it makes a chosen call
// fail with a chosen error before it reaches the OS, exactly as if the OS had refused it. Code
// built on vmem (allocators, arenas) can test its own out-of-memory handling this way. An unarmed
// seam costs one relaxed atomic load per system call.
#ifndef VMEM_TESTING_HPP
#define VMEM_TESTING_HPP

#include <vmem/config.hpp>

#include <system_error>

namespace vmem::testing {

/// The system calls behind the operations.
enum class os_call { reserve, commit, decommit, protect, release };

/// Makes a future call of kind `call` fail with `error`: the first `skip` calls go through, the
/// one after fails, and the seam for `call` disarms itself. Arming again replaces the earlier
/// setting for that kind. Affects every thread.
VMEM_DECL void fail_os_call(os_call call, std::error_code error, unsigned skip = 0) noexcept;

/// Disarms every kind.
VMEM_DECL void clear_os_call_failures() noexcept;

} // namespace vmem::testing

#endif
