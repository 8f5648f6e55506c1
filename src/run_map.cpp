// vmem: the committed runs of one reservation (shared layer; see run_map.hpp).
#include "run_map.hpp"

#include "pool.hpp"

#include <type_traits>

namespace vmem::detail {

namespace {

// Constant-initialised and never destroyed (trivially destructible): usable at any time.
pool<run> node_pool;
static_assert(std::is_trivially_destructible_v<pool<run>>);

// The treap's priorities: a hash of where the node lives, the run it was made for, and where
// this library was loaded. Runs laid out in any order get a balanced tree, and a program cannot
// arrange its runs to build a chain: it does not know the node addresses or the load address
// (address-space layout randomisation), and a node keeps its priority when its run's start moves.
std::uint32_t priority_of(const run* node, std::uintptr_t key) noexcept {
    std::uint64_t z = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(node)) ^
                      (static_cast<std::uint64_t>(key) * 0x9e3779b97f4a7c15u) ^
                      static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(&node_pool));
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u; // splitmix64's finaliser
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return static_cast<std::uint32_t>(z ^ (z >> 31));
}

// Keys below `key` go to l, the rest to r.
void split(run* t, std::uintptr_t key, run*& l, run*& r) noexcept {
    if (t == nullptr) {
        l = r = nullptr;
    } else if (t->lo < key) {
        split(t->right, key, t->right, r);
        l = t;
    } else {
        split(t->left, key, l, t->left);
        r = t;
    }
}

// Every key of a is below every key of b.
run* merge(run* a, run* b) noexcept {
    if (a == nullptr)
        return b;
    if (b == nullptr)
        return a;
    if (a->priority > b->priority) {
        a->right = merge(a->right, b);
        return a;
    }
    b->left = merge(a, b->left);
    return b;
}

run* leftmost(run* t) noexcept {
    while (t != nullptr && t->left != nullptr)
        t = t->left;
    return t;
}

run* rightmost(run* t) noexcept {
    while (t != nullptr && t->right != nullptr)
        t = t->right;
    return t;
}

// Unlinks the leftmost node of t (which must not be empty) into `out`; returns the new root.
run* pop_leftmost(run* t, run*& out) noexcept {
    if (t->left == nullptr) {
        out = t;
        return t->right;
    }
    run* parent = t;
    while (parent->left->left != nullptr)
        parent = parent->left;
    out = parent->left;
    parent->left = out->right;
    return t;
}

} // namespace

run* run_map::take_spare() noexcept {
    run* r = spares_;
    spares_ = r->next_free;
    --spare_count_;
    r->left = r->right = r->next_free = nullptr;
    return r;
}

void run_map::give(run* r) noexcept {
    if (spare_count_ < max_spares) {
        r->next_free = spares_;
        spares_ = r;
        ++spare_count_;
    } else {
        node_pool.deallocate(r);
    }
}

void run_map::give_tree(run* t) noexcept {
    // Iterative, so a map of any size is given back without deep recursion: rotate left
    // children up until the node has none, then free it and go right.
    run* first = nullptr;
    run* last = nullptr;
    std::size_t count = 0;
    while (t != nullptr) {
        if (t->left != nullptr) {
            run* l = t->left;
            t->left = l->right;
            l->right = t;
            t = l;
            continue;
        }
        run* next = t->right;
        if (spare_count_ < max_spares) {
            give(t);
        } else {
            t->next_free = first;
            first = t;
            if (last == nullptr)
                last = t;
            ++count;
        }
        t = next;
    }
    node_pool.deallocate(first, last, count);
}

bool run_map::prepare() noexcept {
    while (spare_count_ < needed_spares) {
        run* r = node_pool.allocate();
        if (r == nullptr)
            return false;
        give(r);
    }
    return true;
}

// Splits the run that straddles x, if any, into [lo, x) and [x, hi).
void run_map::split_at(std::uintptr_t x) noexcept {
    run* cand = last_below(x);
    if (cand == nullptr || cand->hi <= x)
        return;
    run* n = take_spare();
    n->lo = x;
    n->hi = cand->hi;
    n->a = cand->a;
    n->priority = priority_of(n, x);
    cand->hi = x;
    run *l, *r;
    split(root_, x, l, r);
    root_ = merge(merge(l, n), r);
}

// Joins the run ending at x with the run starting at x when their access is the same.
void run_map::coalesce_at(std::uintptr_t x) noexcept {
    run *l, *r;
    split(root_, x, l, r);
    run* a = rightmost(l);
    run* b = leftmost(r);
    if (a != nullptr && b != nullptr && a->hi == x && b->lo == x && a->a == b->a) {
        run* gone;
        r = pop_leftmost(r, gone);
        a->hi = gone->hi;
        give(gone);
    }
    root_ = merge(l, r);
}

run_map::cut run_map::isolate(std::uintptr_t lo, std::uintptr_t hi) noexcept {
    split_at(lo);
    split_at(hi);
    cut c{lo, hi, nullptr, nullptr, nullptr};
    run* rest;
    split(root_, lo, c.left, rest);
    split(rest, hi, c.mid, c.right);
    root_ = nullptr;
    return c;
}

void run_map::put_back(const cut& c) noexcept {
    root_ = merge(merge(c.left, c.mid), c.right);
    coalesce_at(c.lo);
    coalesce_at(c.hi);
}

std::size_t run_map::replace(const cut& c, bool committed, access a) noexcept {
    std::size_t old = 0;
    in_order(c.mid, [&](const run* r) { old += r->a == guard_access ? 0 : r->hi - r->lo; });
    give_tree(c.mid);
    run* mid = nullptr;
    if (committed) {
        mid = take_spare();
        mid->lo = c.lo;
        mid->hi = c.hi;
        mid->a = a;
        mid->priority = priority_of(mid, c.lo);
    }
    root_ = merge(merge(c.left, mid), c.right);
    coalesce_at(c.lo);
    coalesce_at(c.hi);
    return old;
}

bool run_map::covers(const cut& c) noexcept {
    std::uintptr_t at = c.lo;
    bool whole = true;
    in_order(c.mid, [&](const run* r) {
        whole = whole && r->lo == at;
        at = r->hi;
    });
    return whole && at == c.hi;
}

bool run_map::holds_guard(const cut& c) noexcept {
    bool guard = false;
    in_order(c.mid, [&](const run* r) { guard = guard || r->a == guard_access; });
    return guard;
}

run* run_map::last_below(std::uintptr_t x) const noexcept {
    run* cand = nullptr;
    for (run* t = root_; t != nullptr;) {
        if (t->lo < x) {
            cand = t;
            t = t->right;
        } else {
            t = t->left;
        }
    }
    return cand;
}

void run_map::add(std::uintptr_t lo, std::uintptr_t hi, access a, run* before) noexcept {
    // The run after the gap: the first at or above hi.
    run* after = nullptr;
    for (run* t = root_; t != nullptr;) {
        if (t->lo >= hi) {
            after = t;
            t = t->left;
        } else {
            t = t->right;
        }
    }
    const bool join_before = before != nullptr && before->hi == lo && before->a == a;
    const bool join_after = after != nullptr && after->lo == hi && after->a == a;
    if (join_before && join_after) {
        before->hi = after->hi;
        remove(after);
    } else if (join_before) {
        before->hi = hi;
    } else if (join_after) {
        after->lo = lo; // no run starts in [lo, hi), so the order of keys holds
    } else {
        run* n = take_spare();
        n->lo = lo;
        n->hi = hi;
        n->a = a;
        n->priority = priority_of(n, lo);
        // Down to where n's priority belongs, then n takes that subtree's place, split around lo.
        run** link = &root_;
        while (*link != nullptr && (*link)->priority > n->priority)
            link = (*link)->lo < lo ? &(*link)->right : &(*link)->left;
        split(*link, lo, n->left, n->right);
        *link = n;
    }
}

void run_map::remove(run* r) noexcept {
    run** link = &root_;
    while (*link != r)
        link = (*link)->lo < r->lo ? &(*link)->right : &(*link)->left;
    *link = merge(r->left, r->right);
    give(r);
}

void run_map::clear() noexcept {
    give_tree(root_);
    root_ = nullptr;
    if (spares_ != nullptr) { // a released reservation keeps nothing
        run* last = spares_;
        while (last->next_free != nullptr)
            last = last->next_free;
        node_pool.deallocate(spares_, last, spare_count_);
        spares_ = nullptr;
        spare_count_ = 0;
    }
}

std::size_t run_map::bookkeeping_bytes() noexcept {
    return node_pool.bytes_in_use();
}

} // namespace vmem::detail
