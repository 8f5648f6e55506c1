// vmem: vmem::reservation, the owner of one reservation (shared layer).
#include "platform.hpp"
#include "record.hpp"

#include <vmem/reservation.hpp>

namespace vmem {

using detail::throw_if;

namespace {

// Checks as the free functions do (detail::page_range), then that the range lies inside `r`.
bool inside(const detail::record* r, const void* addr, std::size_t size, const access* a,
            std::uintptr_t& lo, std::uintptr_t& hi, std::error_code& ec) noexcept {
    if (r == nullptr) {
        ec = errc::empty_reservation;
        return false;
    }
    if (!detail::page_range(addr, size, a, lo, hi, ec))
        return false;
    if (!r->holds(lo) || hi - r->base > r->size) {
        ec = errc::outside_reservation;
        return false;
    }
    return true;
}

} // namespace

reservation::reservation(std::size_t size, const reserve_options& options) {
    std::error_code ec;
    reservation made(size, options, ec);
    throw_if(ec, "vmem::reservation");
    swap(*this, made);
}

reservation::reservation(std::size_t size, const reserve_options& options,
                         std::error_code& ec) noexcept
    : record_(detail::reserve_record(size, options.address, options.at == placement::exact,
                                     options.alignment, ec)) {}

reservation::reservation(reservation&& other) noexcept : record_(other.record_) {
    other.record_ = nullptr;
}

reservation& reservation::operator=(reservation&& other) noexcept {
    reservation old(std::move(other)); // other is empty now; old releases what *this held
    swap(*this, old);
    return *this;
}

reservation::~reservation() {
    if (record_ != nullptr) {
        std::error_code ignored; // a destructor cannot report; the address space leaks at worst
        detail::release_record(record_, ignored);
    }
}

reservation reservation::adopt(void* base, std::error_code& ec) noexcept {
    detail::record* r = detail::find_base(base, ec);
    if (r == nullptr)
        return {};
    ec.clear();
    return reservation(r);
}

reservation reservation::adopt(void* base) {
    std::error_code ec;
    reservation r = adopt(base, ec);
    throw_if(ec, "vmem::reservation::adopt");
    return r;
}

void* reservation::base() const noexcept {
    return record_ != nullptr ? reinterpret_cast<void*>(record_->base) : nullptr;
}

std::size_t reservation::size() const noexcept {
    return record_ != nullptr ? record_->size : 0;
}

bool reservation::contains(const void* p) const noexcept {
    return record_ != nullptr && record_->holds(reinterpret_cast<std::uintptr_t>(p));
}

std::size_t reservation::committed_bytes() const noexcept {
    if (record_ == nullptr)
        return 0;
    std::lock_guard<std::mutex> hold(record_->lock);
    return record_->committed.bytes();
}

void reservation::commit(void* addr, std::size_t size, access a, std::error_code& ec) noexcept {
    std::uintptr_t lo, hi;
    if (inside(record_, addr, size, &a, lo, hi, ec))
        detail::commit_pages(*record_, lo, hi, a, ec);
}

void reservation::commit(void* addr, std::size_t size, access a) {
    std::error_code ec;
    commit(addr, size, a, ec);
    throw_if(ec, "vmem::reservation::commit");
}

void reservation::decommit(void* addr, std::size_t size, std::error_code& ec) noexcept {
    std::uintptr_t lo, hi;
    if (inside(record_, addr, size, nullptr, lo, hi, ec))
        detail::decommit_pages(*record_, lo, hi, ec);
}

void reservation::decommit(void* addr, std::size_t size) {
    std::error_code ec;
    decommit(addr, size, ec);
    throw_if(ec, "vmem::reservation::decommit");
}

void reservation::protect(void* addr, std::size_t size, access a, std::error_code& ec) noexcept {
    std::uintptr_t lo, hi;
    if (inside(record_, addr, size, &a, lo, hi, ec))
        detail::protect_pages(*record_, lo, hi, a, ec);
}

void reservation::protect(void* addr, std::size_t size, access a) {
    std::error_code ec;
    protect(addr, size, a, ec);
    throw_if(ec, "vmem::reservation::protect");
}

void reservation::release(std::error_code& ec) noexcept {
    if (record_ == nullptr) {
        ec = errc::empty_reservation;
        return;
    }
    if (detail::release_record(record_, ec))
        record_ = nullptr;
}

void reservation::release() {
    std::error_code ec;
    release(ec);
    throw_if(ec, "vmem::reservation::release");
}

void* reservation::detach() noexcept {
    void* b = base();
    record_ = nullptr;
    return b;
}

} // namespace vmem
