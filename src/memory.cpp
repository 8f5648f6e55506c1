// vmem: the shared layer's operations. Every check that must behave the same on every platform
// lives here, before the call into a backend (src/posix or src/win32).
#include "platform.hpp"
#include "record.hpp"

#include <vmem/memory.hpp>

namespace vmem::detail {

namespace {

std::error_code out_of_memory() noexcept {
    return std::make_error_code(std::errc::not_enough_memory);
}

// After a refused commit or protect that the OS may have applied in part (Linux), puts every
// page of the cut back as the runs say it was: committed pages get their access again, reserved
// pages are mapped reserved again (which frees anything the kernel committed there). Errors are
// ignored: this is already the error path, and each call only undoes what the refused one did.
void put_back_reserved(void* p, std::size_t size, const os::mapping_traits& t) noexcept {
    std::error_code ignored;
    if (!os::decommit(p, size, t, ignored))
        os::protect(p, size, access::none, ignored); // at least no access, as reserved
}

void put_back_pages(const run_map::cut& c, const os::mapping_traits& t) noexcept {
    run_map::for_each_piece(
        c, [&t](std::uintptr_t lo, std::uintptr_t hi, bool committed, access a) {
            void* p = reinterpret_cast<void*>(lo);
            std::error_code ignored;
            if (committed && a != guard_access) // guard ranges are refused before any change
                os::protect(p, hi - lo, a, ignored);
            else if (!committed)
                put_back_reserved(p, hi - lo, t);
        });
}

// After a refused decommit or guard that the OS may have applied in part (Linux before 6.12 for a
// remap, madvise and the guard fallback; the seam's after_part mode everywhere): gives every page
// of the cut its recorded state and access again. Committed pages the call had decommitted come
// back committed with their access (reading zero: their contents were asked to go), and guard
// pages are guards again. Reserved pages are left alone: either call leaves them reserved (a
// backend whose guard failed lifts its markers). Where nothing changed, nothing does (the access
// is what the pages have; a guard again is a guard), and nothing is split.
void put_back_states(const run_map::cut& c, const os::mapping_traits& t) noexcept {
    run_map::for_each_piece(c,
                            [&t](std::uintptr_t lo, std::uintptr_t hi, bool committed, access a) {
                                void* p = reinterpret_cast<void*>(lo);
                                std::error_code ignored;
                                if (committed && a == guard_access)
                                    os::guard(p, hi - lo, t, ignored);
                                else if (committed)
                                    os::commit(p, hi - lo, a, ignored);
                            });
}

// The seam, then the spare nodes that let the change be recorded once the OS has made it.
bool ready(record& r, testing::os_call call, std::error_code& ec) noexcept {
    if (injected_failure(call, ec))
        return false;
    if (!r.runs.prepare()) {
        ec = out_of_memory();
        return false;
    }
    return true;
}

} // namespace

bool page_range(const void* addr, std::size_t size, const access* a, std::uintptr_t& lo,
                std::uintptr_t& hi, std::error_code& ec) noexcept {
    if (addr == nullptr) {
        ec = errc::null_address;
        return false;
    }
    if (size == 0) {
        ec = errc::zero_size;
        return false;
    }
    const std::uintptr_t first = reinterpret_cast<std::uintptr_t>(addr);
    const std::uintptr_t mask = os::page_size() - 1;
    if (size > UINTPTR_MAX - first ||
        first + size > UINTPTR_MAX - mask) { // end or its round-up wraps
        ec = errc::size_overflow;
        return false;
    }
    if (a != nullptr && !is_valid(*a)) {
        ec = errc::invalid_access;
        return false;
    }
    lo = first & ~mask;
    hi = (first + size + mask) & ~mask;
    return true;
}

void commit_unclassified(record& r, std::uintptr_t lo, std::uintptr_t hi, access a,
                         std::error_code& ec) noexcept {
    if (!ready(r, testing::os_call::commit, ec))
        return;
    void* const p = reinterpret_cast<void*>(lo);
    // Fast paths: the range is all reserved, or lies in one committed run.
    run* last = r.runs.last_below(hi);
    const bool reserved = last == nullptr || last->hi <= lo;
    if (!reserved && last->a == guard_access) {
        ec = errc::guard_page;
        return;
    }
    if (reserved || (last->lo <= lo && hi <= last->hi && (last->a == a || last->lo == lo))) {
        if (!os::commit(p, hi - lo, a, ec)) {
            if (os::partial_failures()) { // put back what the kernel may have changed
                std::error_code ignored;
                if (reserved)
                    put_back_reserved(p, hi - lo, r.traits);
                else
                    os::protect(p, hi - lo, last->a, ignored);
            }
            return;
        }
        if (reserved) {
            r.runs.add(lo, hi, a, last);
            r.committed.store(r.committed.load(std::memory_order_relaxed) + (hi - lo),
                              std::memory_order_relaxed);
        } else if (last->a != a) {
            if (last->hi == hi) {
                last->a = a; // the whole run
            } else {
                // Its head: the rest keeps its access.
                const std::uintptr_t end = last->hi;
                const access old = last->a;
                last->hi = hi;
                last->a = a;
                r.runs.add(hi, end, old, last);
            }
        }
        ec.clear();
        return;
    }
    const run_map::cut c = r.runs.isolate(lo, hi);
    if (run_map::holds_guard(c)) {
        r.runs.put_back(c);
        ec = errc::guard_page;
        return;
    }
    if (!os::commit(p, hi - lo, a, ec)) {
        if (os::partial_failures())
            put_back_pages(c, r.traits);
        r.runs.put_back(c);
        return;
    }
    const std::size_t before = r.runs.replace(c, true, a);
    r.committed.store(r.committed.load(std::memory_order_relaxed) + (hi - lo) - before,
                      std::memory_order_relaxed);
    ec.clear();
}

void decommit_unclassified(record& r, std::uintptr_t lo, std::uintptr_t hi,
                           std::error_code& ec) noexcept {
    if (!ready(r, testing::os_call::decommit, ec))
        return;
    // One system call that replaces the whole range. Refused, it may have replaced part of it
    // (Linux checks the mapping limit before it unmaps anything, and since 6.12 puts the old
    // mappings back on any later failure, but older kernels do not): the pages are then given
    // their state and access again. Contents already gone cannot come back, and were asked to go.
    void* const p = reinterpret_cast<void*>(lo);
    // Fast paths: the range is all reserved, or is exactly one committed run.
    run* last = r.runs.last_below(hi);
    const bool reserved = last == nullptr || last->hi <= lo;
    if (reserved || (last->lo == lo && last->hi == hi)) {
        if (!os::decommit(p, hi - lo, r.traits, ec)) {
            if (!reserved && os::partial_failures()) {
                std::error_code ignored;
                if (last->a == guard_access)
                    os::guard(p, hi - lo, r.traits, ignored);
                else
                    os::commit(p, hi - lo, last->a, ignored);
            }
            return;
        }
        if (!reserved) {
            const std::size_t gone = last->a == guard_access ? 0 : hi - lo;
            r.runs.remove(last);
            r.committed.store(r.committed.load(std::memory_order_relaxed) - gone,
                              std::memory_order_relaxed);
        }
        ec.clear();
        return;
    }
    const run_map::cut c = r.runs.isolate(lo, hi);
    if (!os::decommit(p, hi - lo, r.traits, ec)) {
        if (os::partial_failures())
            put_back_states(c, r.traits);
        r.runs.put_back(c);
        return;
    }
    const std::size_t before = r.runs.replace(c, false, access::none);
    r.committed.store(r.committed.load(std::memory_order_relaxed) - before,
                      std::memory_order_relaxed);
    ec.clear();
}

void protect_unclassified(record& r, std::uintptr_t lo, std::uintptr_t hi, access a,
                          std::error_code& ec) noexcept {
    if (!r.runs.prepare()) {
        ec = out_of_memory();
        return;
    }
    void* const p = reinterpret_cast<void*>(lo);
    // Fast path: the range lies in one committed run, and is all of it or keeps its access.
    run* last = r.runs.last_below(hi);
    if (last != nullptr && last->hi > lo && last->a == guard_access) {
        ec = errc::guard_page;
        return;
    }
    if (last != nullptr && last->lo <= lo && hi <= last->hi &&
        (last->a == a || (last->lo == lo && last->hi == hi))) {
        if (injected_failure(testing::os_call::protect, ec))
            return;
        if (!os::protect(p, hi - lo, a, ec)) {
            if (os::partial_failures()) {
                std::error_code ignored;
                os::protect(p, hi - lo, last->a, ignored);
            }
            return;
        }
        last->a = a;
        ec.clear();
        return;
    }
    const run_map::cut c = r.runs.isolate(lo, hi);
    if (!run_map::covers(c) || run_map::holds_guard(c)) {
        // Windows refuses reserved pages; so do we, everywhere. Guard pages stay guards.
        const bool guard = run_map::holds_guard(c);
        r.runs.put_back(c);
        ec = guard ? errc::guard_page : errc::not_committed;
        return;
    }
    if (injected_failure(testing::os_call::protect, ec)) {
        r.runs.put_back(c);
        return;
    }
    if (!os::protect(p, hi - lo, a, ec)) {
        if (os::partial_failures())
            put_back_pages(c, r.traits);
        r.runs.put_back(c);
        return;
    }
    r.runs.replace(c, true, a);
    ec.clear();
}

void commit_locked(record& r, std::uintptr_t lo, std::uintptr_t hi, access a,
                   std::error_code& ec) noexcept {
    commit_unclassified(r, lo, hi, a, ec);
    if (ec)
        os::classify_out_of_memory(ec, hi - lo);
}

void decommit_locked(record& r, std::uintptr_t lo, std::uintptr_t hi,
                     std::error_code& ec) noexcept {
    decommit_unclassified(r, lo, hi, ec);
    if (ec)
        os::classify_out_of_memory(ec, hi - lo);
}

void protect_locked(record& r, std::uintptr_t lo, std::uintptr_t hi, access a,
                    std::error_code& ec) noexcept {
    protect_unclassified(r, lo, hi, a, ec);
    if (ec)
        os::classify_out_of_memory(ec, hi - lo);
}

namespace {

// The committed pages of [lo, hi) with no guard among them: the precondition of discard, lock and
// make_executable. `any_none` tells whether some of them have access::none. On error `ec` is set
// and the map is as it was.
bool committed_throughout(record& r, std::uintptr_t lo, std::uintptr_t hi, bool& any_none,
                          std::error_code& ec) noexcept {
    run* last = r.runs.last_below(hi);
    if (last != nullptr && last->lo <= lo && hi <= last->hi) { // one run: no cut needed
        if (last->a == guard_access) {
            ec = errc::guard_page;
            return false;
        }
        any_none = last->a == access::none;
        return true;
    }
    if (!r.runs.prepare()) {
        ec = out_of_memory();
        return false;
    }
    const run_map::cut c = r.runs.isolate(lo, hi);
    const bool covered = run_map::covers(c);
    const bool guard = run_map::holds_guard(c);
    any_none = false;
    run_map::for_each_piece(c, [&](std::uintptr_t, std::uintptr_t, bool committed, access a) {
        any_none = any_none || (committed && a == access::none);
    });
    r.runs.put_back(c);
    if (guard || !covered) {
        ec = guard ? errc::guard_page : errc::not_committed;
        return false;
    }
    return true;
}

} // namespace

void commit_options_locked(record& r, std::uintptr_t lo, std::uintptr_t hi, access a,
                           const commit_options& o, std::error_code& ec) noexcept {
    if (!o.prefault) {
        commit_locked(r, lo, hi, a, ec);
        return;
    }
    // Commit, then populate; a refused populate puts the range back as it was (its contents
    // were not changed: populating never writes).
    if (!r.runs.prepare()) {
        ec = out_of_memory();
        return;
    }
    const run_map::cut before = r.runs.isolate(lo, hi);
    if (run_map::holds_guard(before)) {
        r.runs.put_back(before);
        ec = errc::guard_page;
        return;
    }
    if (injected_failure(testing::os_call::commit, ec)) {
        r.runs.put_back(before);
        return;
    }
    void* const p = reinterpret_cast<void*>(lo);
    bool done = os::commit(p, hi - lo, a, ec);
    if (done)
        done = !injected_failure(testing::os_call::prefault, ec) && os::prefault(p, hi - lo, a, ec);
    if (!done) {
        put_back_pages(before, r.traits); // also what a partly applied commit changed
        r.runs.put_back(before);
        os::classify_out_of_memory(ec, hi - lo);
        return;
    }
    const std::size_t had = r.runs.replace(before, true, a);
    r.committed.store(r.committed.load(std::memory_order_relaxed) + (hi - lo) - had,
                      std::memory_order_relaxed);
    ec.clear();
}

void discard_locked(record& r, std::uintptr_t lo, std::uintptr_t hi, std::error_code& ec) noexcept {
    bool any_none = false;
    if (!committed_throughout(r, lo, hi, any_none, ec))
        return;
    if (injected_failure(testing::os_call::discard, ec))
        return;
    // Nothing to put back on failure: discarding only lets contents go, which is what was asked.
    if (!os::discard(reinterpret_cast<void*>(lo), hi - lo, ec))
        return;
    ec.clear();
}

void guard_locked(record& r, std::uintptr_t lo, std::uintptr_t hi, std::error_code& ec) noexcept {
    if (r.traits.explicit_pool) { // its pages cannot be decommitted, so a guard could not be undone
        ec = errc::not_supported;
        return;
    }
    if (!r.runs.prepare()) {
        ec = out_of_memory();
        return;
    }
    if (injected_failure(testing::os_call::guard, ec))
        return;
    const run_map::cut c = r.runs.isolate(lo, hi);
    if (!os::guard(reinterpret_cast<void*>(lo), hi - lo, r.traits, ec)) {
        if (os::partial_failures()) // what a guard applied in part changed
            put_back_states(c, r.traits);
        r.runs.put_back(c);
        os::classify_out_of_memory(ec, hi - lo);
        return;
    }
    const std::size_t had = r.runs.replace(c, true, guard_access);
    r.committed.store(r.committed.load(std::memory_order_relaxed) - had, std::memory_order_relaxed);
    ec.clear();
}

void lock_locked(record& r, std::uintptr_t lo, std::uintptr_t hi, bool lock,
                 std::error_code& ec) noexcept {
    bool any_none = false;
    if (!committed_throughout(r, lo, hi, any_none, ec))
        return;
    // Pages no access may touch cannot be locked: Windows refuses them, and Linux's mlock would
    // mark them locked and then fail to fault them in, leaving the mark.
    if (lock && any_none) {
        ec = errc::no_access;
        return;
    }
    if (injected_failure(lock ? testing::os_call::lock : testing::os_call::unlock, ec))
        return;
    void* const p = reinterpret_cast<void*>(lo);
    // A lock or unlock the OS refuses partway is undone by the backend, which alone can learn
    // which pages were locked before (vmem records no locks).
    if (!(lock ? os::lock(p, hi - lo, ec) : os::unlock(p, hi - lo, ec)))
        return;
    ec.clear();
}

void make_executable_locked(record& r, std::uintptr_t lo, std::uintptr_t hi,
                            std::error_code& ec) noexcept {
    protect_locked(r, lo, hi, access::read_execute, ec);
    if (!ec)
        os::flush_instruction_cache(reinterpret_cast<void*>(lo), hi - lo);
}

void throw_if(const std::error_code& ec, const char* what) {
    if (ec)
        throw std::system_error(ec, what);
}

} // namespace vmem::detail

namespace vmem {

using detail::page_range;
using detail::throw_if;

void* reserve(std::size_t size, const reserve_options& options, std::error_code& ec) noexcept {
    void* base = nullptr;
    detail::reserve_record(size, options, false, base, ec);
    if (ec)
        detail::os::classify_out_of_memory(ec, size);
    return base;
}

void* reserve(std::size_t size, const reserve_options& options) {
    std::error_code ec;
    void* base = reserve(size, options, ec);
    throw_if(ec, "vmem::reserve");
    return base;
}

void commit(void* addr, std::size_t size, access a, std::error_code& ec) noexcept {
    std::uintptr_t lo, hi;
    if (!page_range(addr, size, &a, lo, hi, ec))
        return;
    if (detail::locked_record r = detail::lock_range(lo, hi, ec))
        detail::commit_locked(*r.get(), lo, hi, a, ec);
}

void commit(void* addr, std::size_t size, access a) {
    std::error_code ec;
    commit(addr, size, a, ec);
    throw_if(ec, "vmem::commit");
}

void decommit(void* addr, std::size_t size, std::error_code& ec) noexcept {
    std::uintptr_t lo, hi;
    if (!page_range(addr, size, nullptr, lo, hi, ec))
        return;
    if (detail::locked_record r = detail::lock_range(lo, hi, ec))
        detail::decommit_locked(*r.get(), lo, hi, ec);
}

void decommit(void* addr, std::size_t size) {
    std::error_code ec;
    decommit(addr, size, ec);
    throw_if(ec, "vmem::decommit");
}

void protect(void* addr, std::size_t size, access a, std::error_code& ec) noexcept {
    std::uintptr_t lo, hi;
    if (!page_range(addr, size, &a, lo, hi, ec))
        return;
    if (detail::locked_record r = detail::lock_range(lo, hi, ec))
        detail::protect_locked(*r.get(), lo, hi, a, ec);
}

void protect(void* addr, std::size_t size, access a) {
    std::error_code ec;
    protect(addr, size, a, ec);
    throw_if(ec, "vmem::protect");
}

void commit(void* addr, std::size_t size, access a, const commit_options& options,
            std::error_code& ec) noexcept {
    std::uintptr_t lo, hi;
    if (!page_range(addr, size, &a, lo, hi, ec))
        return;
    if (detail::locked_record r = detail::lock_range(lo, hi, ec))
        detail::commit_options_locked(*r.get(), lo, hi, a, options, ec);
}

void commit(void* addr, std::size_t size, access a, const commit_options& options) {
    std::error_code ec;
    commit(addr, size, a, options, ec);
    throw_if(ec, "vmem::commit");
}

void discard(void* addr, std::size_t size, std::error_code& ec) noexcept {
    std::uintptr_t lo, hi;
    if (!page_range(addr, size, nullptr, lo, hi, ec))
        return;
    if (detail::locked_record r = detail::lock_range(lo, hi, ec))
        detail::discard_locked(*r.get(), lo, hi, ec);
}

void discard(void* addr, std::size_t size) {
    std::error_code ec;
    discard(addr, size, ec);
    throw_if(ec, "vmem::discard");
}

void guard(void* addr, std::size_t size, std::error_code& ec) noexcept {
    std::uintptr_t lo, hi;
    if (!page_range(addr, size, nullptr, lo, hi, ec))
        return;
    if (detail::locked_record r = detail::lock_range(lo, hi, ec))
        detail::guard_locked(*r.get(), lo, hi, ec);
}

void guard(void* addr, std::size_t size) {
    std::error_code ec;
    guard(addr, size, ec);
    throw_if(ec, "vmem::guard");
}

void lock(void* addr, std::size_t size, std::error_code& ec) noexcept {
    std::uintptr_t lo, hi;
    if (!page_range(addr, size, nullptr, lo, hi, ec))
        return;
    if (detail::locked_record r = detail::lock_range(lo, hi, ec))
        detail::lock_locked(*r.get(), lo, hi, true, ec);
}

void lock(void* addr, std::size_t size) {
    std::error_code ec;
    lock(addr, size, ec);
    throw_if(ec, "vmem::lock");
}

void unlock(void* addr, std::size_t size, std::error_code& ec) noexcept {
    std::uintptr_t lo, hi;
    if (!page_range(addr, size, nullptr, lo, hi, ec))
        return;
    if (detail::locked_record r = detail::lock_range(lo, hi, ec))
        detail::lock_locked(*r.get(), lo, hi, false, ec);
}

void unlock(void* addr, std::size_t size) {
    std::error_code ec;
    unlock(addr, size, ec);
    throw_if(ec, "vmem::unlock");
}

void make_executable(void* addr, std::size_t size, std::error_code& ec) noexcept {
    std::uintptr_t lo, hi;
    if (!page_range(addr, size, nullptr, lo, hi, ec))
        return;
    if (detail::locked_record r = detail::lock_range(lo, hi, ec))
        detail::make_executable_locked(*r.get(), lo, hi, ec);
}

void make_executable(void* addr, std::size_t size) {
    std::error_code ec;
    make_executable(addr, size, ec);
    throw_if(ec, "vmem::make_executable");
}

void flush_instruction_cache(const void* addr, std::size_t size) noexcept {
    if (addr != nullptr && size != 0)
        detail::os::flush_instruction_cache(addr, size);
}

void release(void* base, std::error_code& ec) noexcept {
    detail::record* dead = nullptr;
    {
        detail::locked_record r = detail::lock_base(base, ec);
        if (!r)
            return;
        if (r->owned) { // only its owner may release it
            ec = errc::reservation_owned;
            return;
        }
        if (detail::release_locked(*r.get(), ec))
            dead = r.get();
    }
    if (dead != nullptr)
        detail::free_record(dead); // after unlocking: a waiting thread finds it dead
}

void release(void* base) {
    std::error_code ec;
    release(base, ec);
    throw_if(ec, "vmem::release");
}

} // namespace vmem
