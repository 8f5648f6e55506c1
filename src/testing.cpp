// vmem: the seam in front of every system call (shared layer; see <vmem/testing.hpp>).
#include "record.hpp"

#include <vmem/testing.hpp>

#include <atomic>
#include <cstddef>
#include <mutex>

namespace vmem::detail {

namespace {

constexpr std::size_t kinds = 5;

struct seam {
    std::atomic<bool> armed{false}; // the fast path: one relaxed load when nothing is armed
    std::mutex lock;
    bool active[kinds] = {};
    unsigned skip[kinds] = {};
    std::error_code error[kinds];
};

seam& the_seam() noexcept {
    static seam s;
    return s;
}

} // namespace

bool injected_failure(testing::os_call call, std::error_code& ec) noexcept {
    seam& s = the_seam();
    if (!s.armed.load(std::memory_order_relaxed))
        return false;
    const auto k = static_cast<std::size_t>(call);
    std::lock_guard<std::mutex> hold(s.lock);
    if (!s.active[k])
        return false;
    if (s.skip[k] > 0) {
        --s.skip[k];
        return false;
    }
    s.active[k] = false;
    ec = s.error[k];
    bool any = false;
    for (bool a : s.active)
        any = any || a;
    s.armed.store(any, std::memory_order_relaxed);
    return true;
}

} // namespace vmem::detail

namespace vmem::testing {

void fail_os_call(os_call call, std::error_code error, unsigned skip) noexcept {
    detail::seam& s = detail::the_seam();
    const auto k = static_cast<std::size_t>(call);
    if (k >= detail::kinds)
        return;
    std::lock_guard<std::mutex> hold(s.lock);
    s.active[k] = true;
    s.skip[k] = skip;
    s.error[k] = error;
    s.armed.store(true, std::memory_order_relaxed);
}

void clear_os_call_failures() noexcept {
    detail::seam& s = detail::the_seam();
    std::lock_guard<std::mutex> hold(s.lock);
    for (bool& a : s.active)
        a = false;
    s.armed.store(false, std::memory_order_relaxed);
}

} // namespace vmem::testing
