// vmem: the double-mapped ring buffer (shared layer; the mapping itself is os::map_twice in
// src/posix/ring.cpp and src/win32/ring.cpp).
#include "platform.hpp"

#include <vmem/error.hpp>
#include <vmem/ring_buffer.hpp>

#include <atomic>
#include <cstdint>
#include <limits>
#include <utility>

namespace vmem::detail::os {

namespace {
// Constant-initialised, trivially destructible: usable before main and after exit.
std::atomic<bool> placeholders_allowed{true};
} // namespace

bool placeholder_double_mapping_allowed() noexcept {
    return placeholders_allowed.load(std::memory_order_relaxed);
}

} // namespace vmem::detail::os

namespace vmem::testing {

void use_placeholder_double_mapping(bool enabled) noexcept {
    detail::os::placeholders_allowed.store(enabled, std::memory_order_relaxed);
}

std::size_t double_mapping_retries() noexcept {
    return detail::os::double_mapping_retries();
}

} // namespace vmem::testing

namespace vmem {

double_mapping::double_mapping(std::size_t size) {
    std::error_code ec;
    double_mapping made(size, ec);
    if (ec)
        throw std::system_error(ec, "vmem::double_mapping");
    swap(*this, made);
}

double_mapping::double_mapping(std::size_t size, std::error_code& ec) noexcept {
    ec.clear();
    if (size == 0) {
        ec = errc::zero_size;
        return;
    }
    // Rounded up to the granularity: each view must start on it (Windows maps views only at
    // multiples of 64 KiB), and twice the rounded size must lie within the address space.
    const std::size_t granularity = detail::os::allocation_granularity();
    const std::uintptr_t limit = detail::os::address_limit();
    if (size > std::numeric_limits<std::size_t>::max() - (granularity - 1)) {
        ec = errc::size_overflow;
        return;
    }
    const std::size_t rounded = (size + (granularity - 1)) / granularity * granularity;
    if (rounded > limit / 2) {
        ec = errc::size_overflow;
        return;
    }
    void* base =
        detail::os::map_twice(rounded, detail::os::placeholder_double_mapping_allowed(), ec);
    if (base == nullptr) {
        // ENOMEM from the mapping limit or a process limit, told apart as for reserve.
        detail::os::classify_out_of_memory(ec, 2 * rounded);
        return;
    }
    data_ = static_cast<unsigned char*>(base);
    size_ = rounded;
}

double_mapping::double_mapping(double_mapping&& other) noexcept {
    swap(*this, other);
}

double_mapping& double_mapping::operator=(double_mapping&& other) noexcept {
    double_mapping taken(std::move(other));
    swap(*this, taken);
    return *this; // `taken` releases what *this held
}

double_mapping::~double_mapping() {
    if (data_ != nullptr) {
        std::error_code ignored; // views this object mapped: unmapping them cannot be refused
        detail::os::unmap_twice(data_, size_, ignored);
    }
}

void double_mapping::release(std::error_code& ec) noexcept {
    ec.clear();
    if (data_ == nullptr) {
        ec = errc::empty_reservation;
        return;
    }
    if (!detail::os::unmap_twice(data_, size_, ec))
        return;
    data_ = nullptr;
    size_ = 0;
}

void double_mapping::release() {
    std::error_code ec;
    release(ec);
    if (ec)
        throw std::system_error(ec, "vmem::double_mapping::release");
}

ring_buffer::ring_buffer(std::size_t capacity) : memory_(capacity) {}

ring_buffer::ring_buffer(std::size_t capacity, std::error_code& ec) noexcept
    : memory_(capacity, ec) {}

ring_buffer::ring_buffer(ring_buffer&& other) noexcept : memory_(std::move(other.memory_)) {
    head_.value.store(other.head_.value.load(std::memory_order_relaxed), std::memory_order_relaxed);
    tail_.value.store(other.tail_.value.load(std::memory_order_relaxed), std::memory_order_relaxed);
    head_.seen = other.head_.seen;
    tail_.seen = other.tail_.seen;
    other.head_.value.store(0, std::memory_order_relaxed);
    other.tail_.value.store(0, std::memory_order_relaxed);
    other.head_.seen = other.tail_.seen = 0;
}

ring_buffer& ring_buffer::operator=(ring_buffer&& other) noexcept {
    if (this != &other) {
        memory_ = std::move(other.memory_);
        head_.value.store(other.head_.value.load(std::memory_order_relaxed),
                          std::memory_order_relaxed);
        tail_.value.store(other.tail_.value.load(std::memory_order_relaxed),
                          std::memory_order_relaxed);
        head_.seen = other.head_.seen;
        tail_.seen = other.tail_.seen;
        other.head_.value.store(0, std::memory_order_relaxed);
        other.tail_.value.store(0, std::memory_order_relaxed);
        other.head_.seen = other.tail_.seen = 0;
    }
    return *this;
}

// write_span, commit, read_span and consume are inline in the header (a call each cost more than
// the queue's own work for small records); the throwing forms are here.

void ring_buffer::commit(std::size_t n) {
    std::error_code ec;
    commit(n, ec);
    if (ec)
        throw std::system_error(ec, "vmem::ring_buffer::commit");
}

void ring_buffer::consume(std::size_t n) {
    std::error_code ec;
    consume(n, ec);
    if (ec)
        throw std::system_error(ec, "vmem::ring_buffer::consume");
}

std::size_t ring_buffer::size() const noexcept {
    // Tail first: head only grows, so head read after tail is never behind it. Seen from a
    // third thread, both sides may move between the two loads: never more than the capacity.
    const std::uint64_t tail = tail_.value.load(std::memory_order_acquire);
    const std::uint64_t head = head_.value.load(std::memory_order_acquire);
    const std::uint64_t used = head - tail;
    return used < memory_.size() ? static_cast<std::size_t>(used) : memory_.size();
}

} // namespace vmem
