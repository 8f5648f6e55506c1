// vmem: the seam in front of every operation (shared layer; see <vmem/testing.hpp>).
#include "lock.hpp"
#include "platform.hpp"
#include "record.hpp"

#include <vmem/error.hpp>
#include <vmem/testing.hpp>

#include <atomic>
#include <cstddef>
#include <mutex>

namespace vmem::detail {

std::atomic<bool> seam_armed{false};

namespace {

constexpr std::size_t kinds = static_cast<std::size_t>(testing::os_call::prefault) + 1;

struct seam {
    std::atomic<bool>& armed = seam_armed; // the fast path: one relaxed load when nothing is armed
    mutex lock;
    bool active[kinds] = {};
    bool after_part[kinds] = {}; // testing::failure_mode::after_part, else before
    unsigned skip[kinds] = {};
    int value[kinds] = {};
    const std::error_category* category[kinds] = {};
};

// Constant-initialised, trivially destructible: usable before main and after exit.
seam the_seam;
std::atomic<bool> native_aligned{true};

} // namespace

namespace {

// Fires the seam for `call` when it is armed in the mode `after_part` names (true: after_part,
// false: before): the skips first, then the failure, which disarms it.
bool fire(testing::os_call call, bool after_part, std::error_code& ec) noexcept {
    seam& s = the_seam;
    const auto k = static_cast<std::size_t>(call);
    std::lock_guard<mutex> hold(s.lock);
    if (!s.active[k] || s.after_part[k] != after_part)
        return false;
    if (s.skip[k] > 0) {
        --s.skip[k];
        return false;
    }
    s.active[k] = false;
    ec.assign(s.value[k], *s.category[k]);
    bool any = false;
    for (bool a : s.active)
        any = any || a;
    s.armed.store(any, std::memory_order_relaxed);
    return true;
}

// The category of the OS's own errors, as the backend reports them.
const std::error_category& os_error_category() noexcept {
#if defined(_WIN32)
    return win32_category();
#else
    return std::system_category();
#endif
}

} // namespace

bool injected_failure_armed(testing::os_call call, std::error_code& ec) noexcept {
    return fire(call, false, ec);
}

std::size_t injected_partial_armed(testing::os_call call, std::size_t size,
                                   std::error_code& ec) noexcept {
    const std::size_t page = os::page_size();
    if (size < page || !fire(call, true, ec))
        return 0;
    return (size / page + 1) / 2 * page; // the lower half, at least one page
}

bool native_aligned_allowed() noexcept {
    return native_aligned.load(std::memory_order_relaxed);
}

} // namespace vmem::detail

namespace vmem::testing {

void fail_os_call(os_call call, std::error_code error, unsigned skip,
                  std::error_code& ec) noexcept {
    fail_os_call(call, error, skip, failure_mode::before, ec);
}

void fail_os_call(os_call call, std::error_code error, unsigned skip, failure_mode mode,
                  std::error_code& ec) noexcept {
    detail::seam& s = detail::the_seam;
    const auto k = static_cast<std::size_t>(call);
    const bool after_part = mode == failure_mode::after_part;
    // An empty error would make a failure look like success. A partial failure is the OS's own
    // answer, of an operation the OS can do in part.
    if (k >= detail::kinds || !error || (!after_part && mode != failure_mode::before) ||
        (after_part && (error.category() != detail::os_error_category() ||
                        call == os_call::reserve || call == os_call::release))) {
        ec = std::make_error_code(std::errc::invalid_argument);
        return;
    }
    std::lock_guard<detail::mutex> hold(s.lock);
    s.active[k] = true;
    s.after_part[k] = after_part;
    s.skip[k] = skip;
    s.value[k] = error.value();
    s.category[k] = &error.category();
    s.armed.store(true, std::memory_order_relaxed);
    ec.clear();
}

void fail_os_call(os_call call, std::error_code error, unsigned skip) {
    fail_os_call(call, error, skip, failure_mode::before);
}

void fail_os_call(os_call call, std::error_code error, unsigned skip, failure_mode mode) {
    std::error_code ec;
    fail_os_call(call, error, skip, mode, ec);
    detail::throw_if(ec, "vmem::testing::fail_os_call");
}

void clear_os_call_failures() noexcept {
    detail::seam& s = detail::the_seam;
    std::lock_guard<detail::mutex> hold(s.lock);
    for (bool& a : s.active)
        a = false;
    s.armed.store(false, std::memory_order_relaxed);
}

void use_native_aligned_reserve(bool enabled) noexcept {
    detail::native_aligned.store(enabled, std::memory_order_relaxed);
}

std::size_t bookkeeping_bytes() noexcept {
    return detail::registry_bookkeeping_bytes() + detail::run_map::bookkeeping_bytes();
}

} // namespace vmem::testing
