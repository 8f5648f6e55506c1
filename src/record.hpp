// vmem: the bookkeeping of one reservation, and the registry of all of them.
//
// Locking. Each record has a lock that serialises every operation on its reservation and keeps
// its runs in step with the OS. The registry has a shared lock, held only to search or to change
// the index, never across a system call. Order: a record's lock, then the registry's, then a
// pool's; nothing takes them the other way round.
//
// Lifetime. Records live in a pool and are never given back to the OS, so a thread that found a
// record in the registry may still lock it after another thread released the reservation: it
// then sees the record dead, or alive as a later reservation, and checks which under its lock.
#ifndef VMEM_SRC_RECORD_HPP
#define VMEM_SRC_RECORD_HPP

#include "lock.hpp"
#include "platform.hpp"
#include "run_map.hpp"

#include <vmem/access.hpp>
#include <vmem/error.hpp>
#include <vmem/memory.hpp>
#include <vmem/testing.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <system_error>

namespace vmem::detail {

struct record {
    mutex lock;
    // Set when the record is given a reservation, under `lock`; constant while it is alive.
    std::uintptr_t base = 0;
    std::size_t size = 0;
    bool live = false;                     // a reservation of the OS's that vmem has not released
    bool owned = false;                    // a vmem::reservation owns it
    std::atomic<std::size_t> committed{0}; // bytes; read without the lock
    os::mapping_traits traits;             // what every mapping of it carries (set at reserve)
    run_map runs;
    record* next_free = nullptr; // in the pool's free chain

    /// True when [lo, hi) lies inside this reservation.
    bool holds(std::uintptr_t lo, std::uintptr_t hi) const noexcept {
        return lo - base < size && hi - base <= size;
    }
};

/// A record locked by the calling thread, unlocked when this goes out of scope.
class locked_record {
public:
    locked_record() noexcept = default;
    explicit locked_record(record* r) noexcept : r_(r) {
        if (r_ != nullptr)
            r_->lock.lock();
    }
    locked_record(locked_record&& other) noexcept : r_(other.r_) { other.r_ = nullptr; }
    locked_record(const locked_record&) = delete;
    locked_record& operator=(const locked_record&) = delete;
    ~locked_record() {
        if (r_ != nullptr)
            r_->lock.unlock();
    }
    record* get() const noexcept { return r_; }
    record* operator->() const noexcept { return r_; }
    explicit operator bool() const noexcept { return r_ != nullptr; }

private:
    record* r_ = nullptr;
};

/// Reserves and registers: a live record, owned as asked, or null with `ec` set; `base` is the
/// reservation's base (read it from here: an unowned record may be released and reused by
/// another thread as soon as this returns). Every check of reserve's arguments happens here.
record* reserve_record(std::size_t size, const reserve_options& options, bool owned, void*& base,
                       std::error_code& ec) noexcept;

/// The live record whose base is `base`, locked; or empty with errc::null_address, not_reserved
/// or not_reservation_base.
locked_record lock_base(void* base, std::error_code& ec) noexcept;

/// The live record holding all of [lo, hi), locked; or empty with errc::not_reserved,
/// outside_reservation or spans_reservations.
locked_record lock_range(std::uintptr_t lo, std::uintptr_t hi, std::error_code& ec) noexcept;

/// Releases and unregisters the locked, live `r`. On success `r` is dead; the caller unlocks it
/// and then gives it back with free_record. On error nothing has changed.
bool release_locked(record& r, std::error_code& ec) noexcept;
void free_record(record* r) noexcept;

/// The operations on a locked, live record and a range already checked to lie inside it, in
/// whole pages.
void commit_locked(record& r, std::uintptr_t lo, std::uintptr_t hi, access a,
                   std::error_code& ec) noexcept;
void decommit_locked(record& r, std::uintptr_t lo, std::uintptr_t hi, std::error_code& ec) noexcept;
void protect_locked(record& r, std::uintptr_t lo, std::uintptr_t hi, access a,
                    std::error_code& ec) noexcept;
/// The operations of issue 9 on a locked, live record (see memory.hpp for each contract).
void commit_options_locked(record& r, std::uintptr_t lo, std::uintptr_t hi, access a,
                           const commit_options& o, std::error_code& ec) noexcept;
void discard_locked(record& r, std::uintptr_t lo, std::uintptr_t hi, std::error_code& ec) noexcept;
void guard_locked(record& r, std::uintptr_t lo, std::uintptr_t hi, std::error_code& ec) noexcept;
void lock_locked(record& r, std::uintptr_t lo, std::uintptr_t hi, bool lock,
                 std::error_code& ec) noexcept;
void make_executable_locked(record& r, std::uintptr_t lo, std::uintptr_t hi,
                            std::error_code& ec) noexcept;

/// What huge pages the locked, live `r` got (vmem::huge_page_status).
huge_page_report huge_page_report_locked(const record& r) noexcept;

/// Checks (addr, size) and rounds it outward to pages: null, zero size, wrap-around; then the
/// access, if `a` is not null. Does not look at reservations. Every operation checks in this
/// order, free function or member, so both report the same error for the same mistake.
bool page_range(const void* addr, std::size_t size, const access* a, std::uintptr_t& lo,
                std::uintptr_t& hi, std::error_code& ec) noexcept;

/// The seam in front of every operation (see <vmem/testing.hpp>): true when a failure was
/// injected, with `ec` set to it. Inline, so that an unarmed seam costs one relaxed load.
extern std::atomic<bool> seam_armed;
bool injected_failure_armed(testing::os_call call, std::error_code& ec) noexcept;
inline bool injected_failure(testing::os_call call, std::error_code& ec) noexcept {
    return seam_armed.load(std::memory_order_relaxed) && injected_failure_armed(call, ec);
}
/// Whether aligned reserves may use the OS's one-call path (testing::use_native_aligned_reserve).
bool native_aligned_allowed() noexcept;

/// The live reservation holding `p` (searched under the registry's shared lock, not locked):
/// true with its [base, end), or false when `p` lies in none. A snapshot: it may be released as
/// soon as this returns.
bool reservation_holding(std::uintptr_t p, std::uintptr_t& base, std::uintptr_t& end) noexcept;

/// The bytes the registry and the records hold.
std::size_t registry_bookkeeping_bytes() noexcept;

/// Throws std::system_error(ec, what) if ec is set.
void throw_if(const std::error_code& ec, const char* what);

} // namespace vmem::detail

#endif
