// vmem: the registry of live reservations, and reserve and release (shared layer).
//
// The index is a two-level sorted array: a top array of leaves, each leaf a sorted array of
// entries (base, end, record). A search is two binary searches over memory that stays in cache;
// an insert or erase moves at most one leaf's entries and, when a leaf splits or empties, the
// top array. All of it comes from the OS (pools and allocate_pages), never from the heap.
#include "platform.hpp"
#include "pool.hpp"
#include "record.hpp"

#include <vmem/memory.hpp>

#include <cstdint>
#include <cstring>
#include <mutex>
#include <type_traits>

namespace vmem::detail {

namespace {

struct entry {
    std::uintptr_t base;
    std::uintptr_t end;
    record* r;
};

struct leaf {
    static constexpr unsigned capacity = 126;
    unsigned count = 0;
    entry e[capacity];
    leaf* next_free = nullptr;
};

class reservation_index {
public:
    constexpr reservation_index() noexcept = default;

    /// The entry holding p, or null.
    const entry* find(std::uintptr_t p) const noexcept {
        const std::size_t i = leaf_of(p);
        if (i == npos)
            return nullptr;
        const leaf& l = *leaves_[i];
        if (l.count == 0) // the last leaf, kept empty
            return nullptr;
        unsigned lo = 0, hi = l.count; // the first entry whose base is above p
        while (lo < hi) {
            const unsigned mid = (lo + hi) / 2;
            if (l.e[mid].base <= p)
                lo = mid + 1;
            else
                hi = mid;
        }
        const entry& e = l.e[lo - 1]; // lo >= 1: the leaf's first base is <= p
        return p < e.end ? &e : nullptr;
    }

    /// Adds [base, end) -> r. Entries it overlaps are stale (their reservations are gone from the
    /// OS, which has just handed the range out again) and are dropped. False when the OS refuses
    /// memory; then nothing has changed.
    bool insert(std::uintptr_t base, std::uintptr_t end, record* r) noexcept {
        for (const entry* e; (e = find_overlap(base, end)) != nullptr;)
            erase(e->base, e->r);
        if (count_ == 0) {
            if (!room_for_one_leaf())
                return false;
            leaf* l = leaf_pool_.allocate();
            if (l == nullptr)
                return false;
            l->count = 0;
            insert_leaf(0, l);
        }
        std::size_t i = leaf_of(base);
        if (i == npos)
            i = 0;
        leaf* l = leaves_[i];
        if (l->count == leaf::capacity) {
            if (!room_for_one_leaf())
                return false;
            leaf* n = leaf_pool_.allocate();
            if (n == nullptr)
                return false;
            const unsigned keep = leaf::capacity / 2;
            n->count = leaf::capacity - keep;
            std::memcpy(n->e, l->e + keep, n->count * sizeof(entry));
            l->count = keep;
            insert_leaf(i + 1, n);
            if (base >= n->e[0].base) {
                ++i;
                l = n;
            }
        }
        unsigned at = 0;
        while (at < l->count && l->e[at].base < base) // leaves are short: a scan moves anyway
            ++at;
        std::memmove(l->e + at + 1, l->e + at, (l->count - at) * sizeof(entry));
        l->e[at] = entry{base, end, r};
        ++l->count;
        entries_.fetch_add(1, std::memory_order_relaxed);
        firsts_[i] = l->e[0].base;
        return true;
    }

    /// Removes the entry of `base` if it still belongs to `r`.
    void erase(std::uintptr_t base, const record* r) noexcept {
        const std::size_t i = leaf_of(base);
        if (i == npos)
            return;
        leaf* l = leaves_[i];
        unsigned at = 0;
        while (at < l->count && l->e[at].base < base)
            ++at;
        if (at == l->count || l->e[at].base != base || l->e[at].r != r)
            return;
        std::memmove(l->e + at, l->e + at + 1, (l->count - at - 1) * sizeof(entry));
        --l->count;
        entries_.fetch_sub(1, std::memory_order_relaxed);
        if (l->count == 0 && count_ == 1) {
            firsts_[0] = 0; // the last leaf stays, empty, for the next reserve
        } else if (l->count == 0) {
            std::memmove(firsts_ + i, firsts_ + i + 1, (count_ - i - 1) * sizeof(*firsts_));
            std::memmove(leaves_ + i, leaves_ + i + 1, (count_ - i - 1) * sizeof(*leaves_));
            --count_;
            leaf_pool_.deallocate(l);
        } else {
            firsts_[i] = l->e[0].base;
        }
    }

    /// The entries in use; the pages that hold them, leaves' slack and the top array, are the
    /// pool's overhead (about one page per 120 reservations).
    std::size_t bookkeeping_bytes() const noexcept {
        return entries_.load(std::memory_order_relaxed) * sizeof(entry);
    }

private:
    static constexpr std::size_t npos = ~std::size_t{0};

    /// The leaf whose range of bases holds p (the last whose first base is <= p), or npos.
    std::size_t leaf_of(std::uintptr_t p) const noexcept {
        std::size_t lo = 0, hi = count_;
        while (lo < hi) {
            const std::size_t mid = (lo + hi) / 2;
            if (firsts_[mid] <= p)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo == 0 ? npos : lo - 1;
    }

    /// An entry overlapping [base, end), or null.
    const entry* find_overlap(std::uintptr_t base, std::uintptr_t end) const noexcept {
        if (const entry* e = find(base))
            return e;
        // The last entry starting below `end`, if it starts at or after `base`.
        const std::size_t i = leaf_of(end - 1);
        if (i == npos)
            return nullptr;
        const leaf& l = *leaves_[i];
        for (unsigned k = l.count; k-- > 0;)
            if (l.e[k].base < end)
                return l.e[k].base >= base ? &l.e[k] : nullptr;
        return nullptr;
    }

    bool room_for_one_leaf() noexcept {
        if (count_ < capacity_)
            return true;
        const std::size_t page = os::page_size();
        std::size_t bytes = 2 * capacity_ * (sizeof(*firsts_) + sizeof(*leaves_));
        if (bytes < page)
            bytes = page;
        bytes = (bytes + page - 1) / page * page;
        const std::size_t capacity = bytes / (sizeof(*firsts_) + sizeof(*leaves_));
        auto* block = static_cast<unsigned char*>(os::allocate_pages(bytes));
        if (block == nullptr)
            return false;
        auto* firsts = reinterpret_cast<std::uintptr_t*>(block);
        auto* leaves = reinterpret_cast<leaf**>(block + capacity * sizeof(*firsts_));
        if (count_ != 0) {
            std::memcpy(firsts, firsts_, count_ * sizeof(*firsts_));
            std::memcpy(leaves, leaves_, count_ * sizeof(*leaves_));
        }
        if (firsts_ != nullptr) // at the mapping limit this may fail and leave the pages behind
            os::free_pages(firsts_, top_bytes_.load(std::memory_order_relaxed));
        firsts_ = firsts;
        leaves_ = leaves;
        capacity_ = capacity;
        top_bytes_.store(bytes, std::memory_order_relaxed);
        return true;
    }

    void insert_leaf(std::size_t i, leaf* l) noexcept {
        std::memmove(firsts_ + i + 1, firsts_ + i, (count_ - i) * sizeof(*firsts_));
        std::memmove(leaves_ + i + 1, leaves_ + i, (count_ - i) * sizeof(*leaves_));
        firsts_[i] = l->count != 0 ? l->e[0].base : 0;
        leaves_[i] = l;
        ++count_;
    }

    std::uintptr_t* firsts_ = nullptr; // the first base of each leaf, ascending
    leaf** leaves_ = nullptr;
    std::size_t count_ = 0;
    std::size_t capacity_ = 0;
    std::atomic<std::size_t> top_bytes_{0};
    std::atomic<std::size_t> entries_{0};
    pool<leaf> leaf_pool_;
};

// Constant-initialised and never destroyed: vmem works before main, in static destructors, in
// atexit handlers and in exiting threads, in any order.
struct registry {
    shared_mutex lock;
    reservation_index by_base;
    pool<record> records;
};
registry the_registry;
static_assert(std::is_trivially_destructible_v<registry>);

bool is_power_of_two(std::size_t n) noexcept {
    return n != 0 && (n & (n - 1)) == 0;
}

bool valid_huge(huge_pages h) noexcept {
    return h == huge_pages::os_default || h == huge_pages::never || h == huge_pages::prefer ||
           h == huge_pages::require;
}

bool valid_fork(fork_policy f) noexcept {
    return f == fork_policy::inherit || f == fork_policy::dont_fork ||
           f == fork_policy::zero_on_fork;
}

} // namespace

locked_record lock_base(void* base, std::error_code& ec) noexcept {
    if (base == nullptr) {
        ec = errc::null_address;
        return {};
    }
    const auto p = reinterpret_cast<std::uintptr_t>(base);
    record* r = nullptr;
    {
        the_registry.lock.lock_shared();
        const entry* e = the_registry.by_base.find(p);
        if (e != nullptr && e->base == p)
            r = e->r;
        else
            ec = e == nullptr ? errc::not_reserved : errc::not_reservation_base;
        the_registry.lock.unlock_shared();
    }
    if (r == nullptr)
        return {};
    locked_record held(r);
    // Released since (or released and reused elsewhere): the reservation we found is gone.
    if (!r->live || r->base != p) {
        ec = errc::not_reserved;
        return {};
    }
    return held;
}

locked_record lock_range(std::uintptr_t lo, std::uintptr_t hi, std::error_code& ec) noexcept {
    record* r = nullptr;
    {
        the_registry.lock.lock_shared();
        const entry* e = the_registry.by_base.find(lo);
        if (e == nullptr)
            ec = errc::not_reserved;
        else if (hi > e->end)
            ec = the_registry.by_base.find(hi - 1) != nullptr ? errc::spans_reservations
                                                              : errc::outside_reservation;
        else
            r = e->r;
        the_registry.lock.unlock_shared();
    }
    if (r == nullptr)
        return {};
    locked_record held(r);
    // Released since the search: not_reserved. (Reused since for a reservation that holds the
    // range: the operation simply comes after that reserve.)
    if (!r->live || !r->holds(lo, hi)) {
        ec = errc::not_reserved;
        return {};
    }
    return held;
}

record* reserve_record(std::size_t size, const reserve_options& options, bool owned,
                       void*& base_out, std::error_code& ec) noexcept {
    base_out = nullptr;
    void* const address = options.address;
    const placement at = options.at;
    std::size_t alignment = options.alignment;
    if (size == 0) {
        ec = errc::zero_size;
        return nullptr;
    }
    if (at != placement::prefer && at != placement::exact) {
        ec = errc::invalid_placement;
        return nullptr;
    }
    const bool exact = at == placement::exact;
    if (exact && address == nullptr) {
        ec = errc::null_address;
        return nullptr;
    }
    const std::uintptr_t limit = os::address_limit(); // one past the top of user space
    if (alignment != 0 && (!is_power_of_two(alignment) || alignment >= limit)) {
        ec = errc::invalid_alignment;
        return nullptr;
    }
    // The other options: each value in its enum, then the combinations that contradict.
    if (options.commit && !is_valid(options.commit_access)) {
        ec = errc::invalid_access;
        return nullptr;
    }
    if (!valid_huge(options.huge) || !valid_fork(options.fork) ||
        (options.prefault && !options.commit)) {
        ec = errc::invalid_option;
        return nullptr;
    }
    const std::size_t page = os::page_size();
    // No reservation can be larger than the user address space, on any platform.
    if (size > limit || size > SIZE_MAX - (page - 1) || ((size + page - 1) & ~(page - 1)) > limit) {
        ec = errc::size_overflow;
        return nullptr;
    }
    size = (size + page - 1) & ~(page - 1);
    if (alignment < os::allocation_granularity())
        alignment = os::allocation_granularity();
    // What the OS can give for these options: a fork policy it lacks is not_supported, huge pages
    // it cannot give are huge_pages_unavailable for `require`; huge pages may raise the size
    // and the alignment.
    os::mapping_traits traits;
    if (!os::plan_mapping(options, traits, size, alignment, ec))
        return nullptr;
    // The over-reservation an aligned reserve may need must fit in a size_t too, as must the size
    // rounded to huge pages.
    if (size > limit || size > SIZE_MAX - alignment) {
        ec = errc::size_overflow;
        return nullptr;
    }

    std::uintptr_t hint = reinterpret_cast<std::uintptr_t>(address) & ~(alignment - 1);
    // An address no program can own: the null page, past the top of user space, non-canonical,
    // or a range that would run past the top. Exact fails; prefer ignores the hint.
    const bool ownable = hint != 0 && hint < limit && size <= limit - hint;
    if (!ownable) {
        if (exact) {
            ec = errc::address_unavailable;
            return nullptr;
        }
        hint = 0;
    }

    // The seam fails the operation as a whole, once, before anything is asked of the OS.
    if (injected_failure(testing::os_call::reserve, ec))
        return nullptr;

    record* r = the_registry.records.allocate(); // before the OS call, so failing leaks nothing
    if (r == nullptr) {
        ec = std::make_error_code(std::errc::not_enough_memory);
        return nullptr;
    }
    const bool native = native_aligned_allowed();
    const access* const commit = options.commit ? &options.commit_access : nullptr;
    void* base = nullptr;
    {
        // Held across the system calls: a thread that found this record in an earlier life
        // waits here, and the spare run nodes recording the commit are ready before it is made.
        locked_record held(r);
        if (commit != nullptr && !r->runs.prepare()) {
            ec = std::make_error_code(std::errc::not_enough_memory);
        } else {
            os::mapping_traits got = traits;
            if (hint != 0)
                base = os::reserve(reinterpret_cast<void*>(hint), size, alignment, native, got,
                                   commit, ec);
            // placement::prefer: whatever kept the address from us, try anywhere; if memory is
            // short, that attempt reports it.
            if (base == nullptr && !exact) {
                got = traits;
                base = os::reserve(nullptr, size, alignment, native, got, commit, ec);
            }
            std::error_code ignored;
            // A range whose end does not fit in an address (one ending at the very top of the
            // space: Wine's WoW64 mode hands those out to 32-bit programs) could never be found
            // again by its addresses: given back, as if the OS had no room.
            if (base != nullptr && reinterpret_cast<std::uintptr_t>(base) > UINTPTR_MAX - size) {
                os::release(base, size, ignored);
                base = nullptr;
                ec = errc::address_unavailable;
            }
            // Prefault: populate the whole reservation now, or fail as a whole (the seam for
            // prefault fails it here, after the reserve, as the OS would).
            if (base != nullptr && options.prefault &&
                (injected_failure(testing::os_call::prefault, ec) ||
                 !os::prefault(base, size, options.commit_access, ec))) {
                os::release(base, size, ignored);
                base = nullptr;
            }
            if (base != nullptr) {
                const auto b = reinterpret_cast<std::uintptr_t>(base);
                r->base = b;
                r->size = size;
                r->owned = owned;
                r->traits = got;
                if (commit != nullptr)
                    r->runs.add(b, b + size, *commit, nullptr);
                r->committed.store(commit != nullptr ? size : 0, std::memory_order_relaxed);
                r->live = true;
            } else {
                r->runs.clear();
            }
        }
    }
    if (base == nullptr) {
        the_registry.records.deallocate(r);
        return nullptr;
    }

    const auto b = reinterpret_cast<std::uintptr_t>(base);
    bool registered;
    {
        std::lock_guard<shared_mutex> hold(the_registry.lock);
        registered = the_registry.by_base.insert(b, b + size, r);
    }
    if (!registered) {
        {
            // A thread that found this record in an earlier life may have used it meanwhile.
            locked_record held(r);
            r->runs.clear();
            r->committed.store(0, std::memory_order_relaxed);
            r->live = false;
        }
        std::error_code ignored; // never handed out: nothing else to report
        os::release(base, size, ignored);
        the_registry.records.deallocate(r);
        ec = std::make_error_code(std::errc::not_enough_memory);
        return nullptr;
    }
    ec.clear();
    base_out = base;
    return r;
}

bool release_locked(record& r, std::error_code& ec) noexcept {
    // The registry is not held across the system call: other reservations' operations go on.
    // Until the entry is erased below, a search may still find this record; it then waits for
    // its lock and finds it dead. A reserve that gets the range from the OS meanwhile drops the
    // stale entry itself (index::insert).
    if (injected_failure(testing::os_call::release, ec) ||
        !os::release(reinterpret_cast<void*>(r.base), r.size, ec))
        return false;
    {
        std::lock_guard<shared_mutex> hold(the_registry.lock);
        the_registry.by_base.erase(r.base, &r);
    }
    r.runs.clear();
    r.committed.store(0, std::memory_order_relaxed);
    r.live = false;
    r.owned = false;
    ec.clear();
    return true;
}

void free_record(record* r) noexcept {
    the_registry.records.deallocate(r);
}

bool reservation_holding(std::uintptr_t p, std::uintptr_t& base, std::uintptr_t& end) noexcept {
    the_registry.lock.lock_shared();
    const entry* e = the_registry.by_base.find(p);
    if (e != nullptr) {
        base = e->base;
        end = e->end;
    }
    the_registry.lock.unlock_shared();
    return e != nullptr;
}

std::size_t registry_bookkeeping_bytes() noexcept {
    return the_registry.records.bytes_in_use() + the_registry.by_base.bookkeeping_bytes();
}

} // namespace vmem::detail
