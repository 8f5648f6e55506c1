// vmem Windows backend: what every system call of the backend shares, its error and its seam.
#ifndef VMEM_SRC_WIN32_CALL_HPP
#define VMEM_SRC_WIN32_CALL_HPP

#include "../platform.hpp"

#include <vmem/error.hpp>

#include <windows.h>

#include <cstddef>
#include <system_error>

namespace vmem::detail::os {

/// Puts GetLastError() in `ec` (win32_category) and returns false. A failure never reads as
/// success: Wine, for one, fails VirtualProtect on reserved pages without setting an error
/// (Windows gives ERROR_INVALID_ADDRESS), which becomes ERROR_INVALID_FUNCTION.
inline bool fail(std::error_code& ec) noexcept {
    DWORD e = GetLastError();
    if (e == ERROR_SUCCESS)
        e = ERROR_INVALID_FUNCTION;
    ec.assign(static_cast<int>(e), win32_category());
    return false;
}

/// A system call over a range, through the seam's after_part mode (testing::failure_mode): armed
/// for `call`, `os(addr, n)` runs for the first part of the range only and the armed error comes
/// back from GetLastError(), as if Windows had refused the range midway.
template <class Os>
bool seam_call(testing::os_call call, void* addr, std::size_t size, Os os) noexcept {
    std::error_code injected;
    const std::size_t part = injected_partial(call, size, injected);
    if (!os(addr, part != 0 ? part : size))
        return false;
    if (part == 0)
        return true;
    SetLastError(static_cast<DWORD>(injected.value()));
    return false;
}

} // namespace vmem::detail::os

#endif
