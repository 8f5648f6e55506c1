// vmem tests: the replaced global operator new and delete (see allocation_counter.hpp). Each
// block carries its size in a header, so delete can subtract it.
#include "allocation_counter.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {

std::atomic<std::size_t> in_use{0};
constexpr std::size_t header = alignof(std::max_align_t);

void* allocate(std::size_t n) {
    void* p = std::malloc(n + header);
    if (p == nullptr)
        throw std::bad_alloc();
    *static_cast<std::size_t*>(p) = n;
    in_use.fetch_add(n, std::memory_order_relaxed);
    return static_cast<unsigned char*>(p) + header;
}

void deallocate(void* p) noexcept {
    if (p == nullptr)
        return;
    void* block = static_cast<unsigned char*>(p) - header;
    in_use.fetch_sub(*static_cast<std::size_t*>(block), std::memory_order_relaxed);
    std::free(block);
}

} // namespace

void* operator new(std::size_t n) {
    return allocate(n);
}
void* operator new[](std::size_t n) {
    return allocate(n);
}
void operator delete(void* p) noexcept {
    deallocate(p);
}
void operator delete[](void* p) noexcept {
    deallocate(p);
}
void operator delete(void* p, std::size_t) noexcept {
    deallocate(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    deallocate(p);
}

namespace vmem_probe {

std::size_t heap_bytes_in_use() noexcept {
    return in_use.load(std::memory_order_relaxed);
}

} // namespace vmem_probe
