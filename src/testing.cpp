// vmem: the seam in front of every operation (shared layer; see <vmem/testing.hpp>).
#include "lock.hpp"
#include "record.hpp"

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
    unsigned skip[kinds] = {};
    int value[kinds] = {};
    const std::error_category* category[kinds] = {};
};

// Constant-initialised, trivially destructible: usable before main and after exit.
seam the_seam;
std::atomic<bool> native_aligned{true};

} // namespace

bool injected_failure_armed(testing::os_call call, std::error_code& ec) noexcept {
    seam& s = the_seam;
    const auto k = static_cast<std::size_t>(call);
    std::lock_guard<mutex> hold(s.lock);
    if (!s.active[k])
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

bool native_aligned_allowed() noexcept {
    return native_aligned.load(std::memory_order_relaxed);
}

} // namespace vmem::detail

namespace vmem::testing {

void fail_os_call(os_call call, std::error_code error, unsigned skip,
                  std::error_code& ec) noexcept {
    detail::seam& s = detail::the_seam;
    const auto k = static_cast<std::size_t>(call);
    if (k >= detail::kinds || !error) { // an empty error would make a failure look like success
        ec = std::make_error_code(std::errc::invalid_argument);
        return;
    }
    std::lock_guard<detail::mutex> hold(s.lock);
    s.active[k] = true;
    s.skip[k] = skip;
    s.value[k] = error.value();
    s.category[k] = &error.category();
    s.armed.store(true, std::memory_order_relaxed);
    ec.clear();
}

void fail_os_call(os_call call, std::error_code error, unsigned skip) {
    std::error_code ec;
    fail_os_call(call, error, skip, ec);
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
