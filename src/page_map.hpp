// vmem: which pages of one reservation are committed, as a set of disjoint, coalesced runs.
// Its size grows with the number of separately committed runs, never with the reservation's
// size: a 1 TiB reservation with nothing committed costs an empty map.
#ifndef VMEM_SRC_PAGE_MAP_HPP
#define VMEM_SRC_PAGE_MAP_HPP

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <utility>

namespace vmem::detail {

class page_map {
    using runs_type = std::map<std::uintptr_t, std::uintptr_t>; // first -> one past the last

public:
    /// A node allocated ahead, so that add() and remove() never allocate and so never fail
    /// after the system call they record has succeeded. May throw std::bad_alloc.
    using spare = runs_type::node_type;
    static spare make_spare() {
        runs_type one;
        one.emplace(0, 0);
        return one.extract(one.begin());
    }

    /// True when every byte of [lo, hi) is committed.
    bool covers(std::uintptr_t lo, std::uintptr_t hi) const noexcept {
        auto it = runs_.upper_bound(lo);
        if (it == runs_.begin())
            return false;
        --it;
        return it->first <= lo && hi <= it->second; // runs are coalesced: one run or none
    }

    /// Marks [lo, hi) committed. Uses `node` (left empty afterwards).
    void add(std::uintptr_t lo, std::uintptr_t hi, spare& node) noexcept {
        auto it = first_touching(lo);
        while (it != runs_.end() && it->first <= hi) { // absorb overlapping and adjacent runs
            if (it->first < lo)
                lo = it->first;
            if (it->second > hi)
                hi = it->second;
            it = runs_.erase(it);
        }
        node.key() = lo;
        node.mapped() = hi;
        runs_.insert(std::move(node));
    }

    /// Marks [lo, hi) not committed. May use `node` (to split a run).
    void remove(std::uintptr_t lo, std::uintptr_t hi, spare& node) noexcept {
        auto it = first_touching(lo);
        while (it != runs_.end() && it->first < hi) {
            const std::uintptr_t first = it->first;
            const std::uintptr_t last = it->second;
            if (last <= lo) { // only adjacent
                ++it;
                continue;
            }
            if (first < lo && hi < last) { // [lo, hi) is inside: split in two
                it->second = lo;
                node.key() = hi;
                node.mapped() = last;
                runs_.insert(std::move(node));
                return;
            }
            if (first < lo) { // keep the head
                it->second = lo;
                ++it;
            } else if (hi < last) { // keep the tail: re-key the node, no allocation
                auto tail = runs_.extract(it++);
                tail.key() = hi;
                runs_.insert(std::move(tail));
                return;
            } else {
                it = runs_.erase(it);
            }
        }
    }

    std::size_t bytes() const noexcept {
        std::size_t total = 0;
        for (const auto& run : runs_)
            total += run.second - run.first;
        return total;
    }

private:
    /// The first run that ends at or after `lo`.
    runs_type::iterator first_touching(std::uintptr_t lo) noexcept {
        auto it = runs_.upper_bound(lo);
        if (it != runs_.begin() && std::prev(it)->second >= lo)
            --it;
        return it;
    }

    runs_type runs_;
};

} // namespace vmem::detail

#endif
