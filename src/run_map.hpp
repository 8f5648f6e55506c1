// vmem: the committed runs of one reservation and the access of each, as a treap of disjoint
// runs. Its size grows with the number of separately committed runs, never with the
// reservation's size. Nodes come from a pool (the OS), and each map keeps a few spares so that a
// change, once the system call has succeeded, can be recorded without asking for memory:
// recording never fails.
//
// The access is what lets a change that the OS applied in part be put back (see memory.cpp); the
// probe of a test cannot see it otherwise, so the failure-atomicity tests check it.
#ifndef VMEM_SRC_RUN_MAP_HPP
#define VMEM_SRC_RUN_MAP_HPP

#include <vmem/access.hpp>

#include <cstddef>
#include <cstdint>

namespace vmem::detail {

/// The access recorded for guard pages (vmem::guard): not one of vmem::access's values, so no
/// caller can ask for it. A guard run is neither committed (it is not in committed_bytes) nor
/// reserved (commit, protect, discard and lock refuse it); decommit makes it reserved.
constexpr access guard_access = static_cast<access>(0x80);

struct run {
    std::uintptr_t lo = 0, hi = 0; // [lo, hi), page-aligned
    access a = access::none;
    std::uint32_t priority = 0; // the treap's heap order
    run* left = nullptr;
    run* right = nullptr;
    run* next_free = nullptr; // in a pool's or a map's free chain
};

// Adjacent runs may have the same access (a fast path that changes one run's access does not look
// at its neighbours); covers() and for_each_piece() take them as they come, and any later change
// that cuts at an address joins the runs that meet there.
class run_map {
public:
    /// The runs of [lo, hi), cut out of the map: `mid` holds exactly the runs inside [lo, hi)
    /// (those that straddled an end were split there), `left` and `right` the rest.
    struct cut {
        std::uintptr_t lo, hi;
        run* left;
        run* mid;
        run* right;
    };

    constexpr run_map() noexcept = default;

    /// Makes sure a change of one range can be recorded without allocating. False when the OS
    /// refuses the memory (then nothing has changed).
    bool prepare() noexcept;

    /// Cuts [lo, hi) out (see cut). The map is empty until put_back or replace.
    cut isolate(std::uintptr_t lo, std::uintptr_t hi) noexcept;

    /// Puts the cut back unchanged.
    void put_back(const cut& c) noexcept;

    /// Puts the cut back with [lo, hi) committed with access `a` (committed; guard_access makes
    /// guard pages) or reserved. Returns the committed bytes `mid` held (guard pages not counted).
    std::size_t replace(const cut& c, bool committed, access a) noexcept;

    /// True when `mid` covers all of [lo, hi).
    static bool covers(const cut& c) noexcept;
    /// True when `mid` holds guard pages.
    static bool holds_guard(const cut& c) noexcept;

    /// Calls f(lo, hi, committed, access) for each committed run and each reserved gap of the
    /// cut, in address order.
    template <class F>
    static void for_each_piece(const cut& c, F f) noexcept {
        std::uintptr_t at = c.lo;
        in_order(c.mid, [&](const run* r) {
            if (r->lo > at)
                f(at, r->lo, false, access::none);
            f(r->lo, r->hi, true, r->a);
            at = r->hi;
        });
        if (at < c.hi)
            f(at, c.hi, false, access::none);
    }

    /// The fast paths: most changes touch at most one run, and need one search instead of a cut.
    /// The run with the highest start below `x`, or null.
    run* last_below(std::uintptr_t x) const noexcept;
    /// Adds [lo, hi) with access `a` in a gap (`before` is last_below(hi), which ends at or
    /// below lo, or null); after prepare() it cannot fail. Joins the runs that end at `lo` and
    /// start at `hi` when their access is the same.
    void add(std::uintptr_t lo, std::uintptr_t hi, access a, run* before) noexcept;
    /// Removes run `r`.
    void remove(run* r) noexcept;

    /// Gives every node back to the pool, spares too; the map is empty.
    void clear() noexcept;

    /// True when the map holds no run.
    bool empty() const noexcept { return root_ == nullptr; }

    /// The bytes the nodes of every map hold (in use, or kept as a map's spares).
    static std::size_t bookkeeping_bytes() noexcept;

private:
    template <class F>
    static void in_order(const run* t, F&& f) noexcept {
        while (t != nullptr) {
            in_order(t->left, f);
            f(t);
            t = t->right;
        }
    }

    run* take_spare() noexcept;
    void give(run* r) noexcept;
    void give_tree(run* t) noexcept;
    void split_at(std::uintptr_t x) noexcept;
    void coalesce_at(std::uintptr_t x) noexcept;

    static constexpr unsigned max_spares = 4;
    static constexpr unsigned needed_spares = 3; // two boundary splits and one new run

    run* root_ = nullptr;
    run* spares_ = nullptr;
    unsigned spare_count_ = 0;
};

} // namespace vmem::detail

#endif
