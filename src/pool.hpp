// vmem: fixed-size blocks for the bookkeeping, taken from the OS in chunks, never from the heap.
// A pool is constant-initialised and never destroyed, so it works before main and after exit.
// Blocks are never given back to the OS: a block keeps its type for the life of the process,
// which is what lets another thread still lock a record that a release has just recycled.
#ifndef VMEM_SRC_POOL_HPP
#define VMEM_SRC_POOL_HPP

#include "lock.hpp"
#include "platform.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <mutex>
#include <new>

namespace vmem::detail {

/// The unit the pools take from the OS: at least one allocation granularity.
inline std::size_t pool_chunk_size() noexcept {
    const std::size_t g = os::allocation_granularity();
    const std::size_t want = 16 * os::page_size();
    return want <= g ? g : (want + g - 1) / g * g;
}

/// Blocks of T, each built once with T's default constructor (which must be noexcept) and then
/// recycled as they are: the user re-initialises what it needs. T has a `T* next_free` member.
template <class T>
class pool {
public:
    constexpr pool() noexcept = default;
    pool(const pool&) = delete;
    pool& operator=(const pool&) = delete;

    /// A block, or null when the OS refuses more memory.
    T* allocate() noexcept {
        std::lock_guard<mutex> hold(lock_);
        T* p = free_;
        if (p != nullptr) {
            free_ = p->next_free;
        } else {
            if (left_ < sizeof(T)) {
                const std::size_t chunk = std::max(pool_chunk_size(), sizeof(T));
                carve_ = static_cast<unsigned char*>(os::allocate_pages(chunk));
                if (carve_ == nullptr) {
                    left_ = 0;
                    return nullptr;
                }
                left_ = chunk;
            }
            p = new (carve_) T;
            carve_ += sizeof(T);
            left_ -= sizeof(T);
        }
        p->next_free = nullptr;
        in_use_.fetch_add(1, std::memory_order_relaxed);
        return p;
    }

    /// Gives back a chain of `count` blocks linked through next_free, ending at `last`.
    void deallocate(T* first, T* last, std::size_t count) noexcept {
        if (first == nullptr)
            return;
        std::lock_guard<mutex> hold(lock_);
        last->next_free = free_;
        free_ = first;
        in_use_.fetch_sub(count, std::memory_order_relaxed);
    }
    void deallocate(T* p) noexcept { deallocate(p, p, 1); }

    std::size_t bytes_in_use() const noexcept {
        return in_use_.load(std::memory_order_relaxed) * sizeof(T);
    }

private:
    mutex lock_;
    T* free_ = nullptr;
    unsigned char* carve_ = nullptr;
    std::size_t left_ = 0;
    std::atomic<std::size_t> in_use_{0};
};

} // namespace vmem::detail

#endif
