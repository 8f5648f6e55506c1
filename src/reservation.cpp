// vmem: vmem::reservation, the owner of one reservation (shared layer).
#include "platform.hpp"
#include "record.hpp"

#include <vmem/reservation.hpp>

namespace vmem {

using detail::throw_if;

namespace {

// Checks as the free functions do (detail::page_range), then that the range lies inside `r`.
// The owner's record cannot be released or reused by anyone else, so its bounds are read
// without its lock.
bool inside(const detail::record* r, const void* addr, std::size_t size, const access* a,
            std::uintptr_t& lo, std::uintptr_t& hi, std::error_code& ec) noexcept {
    if (r == nullptr) {
        ec = errc::empty_reservation;
        return false;
    }
    if (!detail::page_range(addr, size, a, lo, hi, ec))
        return false;
    if (!r->holds(lo, hi)) {
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
                         std::error_code& ec) noexcept {
    void* base; // owned: nobody else can release it, so record_->base stays this
    record_ = detail::reserve_record(size, options, true, base, ec);
    if (ec)
        detail::os::classify_out_of_memory(ec, size);
}

reservation::reservation(reservation&& other) noexcept : record_(other.record_) {
    other.record_ = nullptr;
}

reservation& reservation::operator=(reservation&& other) noexcept {
    reservation old(std::move(other)); // other is empty now; old releases what *this held
    swap(*this, old);
    return *this;
}

reservation::~reservation() {
    std::error_code ignored; // a destructor cannot report; the address space leaks at worst
    release(ignored);
}

reservation reservation::adopt(void* base, std::error_code& ec) noexcept {
    detail::locked_record r = detail::lock_base(base, ec);
    if (!r)
        return {};
    if (r->owned) {
        ec = errc::reservation_owned;
        return {};
    }
    r->owned = true;
    ec.clear();
    return reservation(r.get(), detail::owning_tag{});
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
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    return record_ != nullptr && a - record_->base < record_->size;
}

std::size_t reservation::committed_bytes() const noexcept {
    return record_ != nullptr ? record_->committed.load(std::memory_order_relaxed) : 0;
}

void reservation::commit(void* addr, std::size_t size, access a, std::error_code& ec) noexcept {
    std::uintptr_t lo, hi;
    if (!inside(record_, addr, size, &a, lo, hi, ec))
        return;
    detail::locked_record r(record_);
    detail::commit_locked(*record_, lo, hi, a, ec);
}

void reservation::commit(void* addr, std::size_t size, access a) {
    std::error_code ec;
    commit(addr, size, a, ec);
    throw_if(ec, "vmem::reservation::commit");
}

void reservation::decommit(void* addr, std::size_t size, std::error_code& ec) noexcept {
    std::uintptr_t lo, hi;
    if (!inside(record_, addr, size, nullptr, lo, hi, ec))
        return;
    detail::locked_record r(record_);
    detail::decommit_locked(*record_, lo, hi, ec);
}

void reservation::decommit(void* addr, std::size_t size) {
    std::error_code ec;
    decommit(addr, size, ec);
    throw_if(ec, "vmem::reservation::decommit");
}

void reservation::protect(void* addr, std::size_t size, access a, std::error_code& ec) noexcept {
    std::uintptr_t lo, hi;
    if (!inside(record_, addr, size, &a, lo, hi, ec))
        return;
    detail::locked_record r(record_);
    detail::protect_locked(*record_, lo, hi, a, ec);
}

void reservation::protect(void* addr, std::size_t size, access a) {
    std::error_code ec;
    protect(addr, size, a, ec);
    throw_if(ec, "vmem::reservation::protect");
}

void reservation::commit(void* addr, std::size_t size, access a, const commit_options& options,
                         std::error_code& ec) noexcept {
    std::uintptr_t lo, hi;
    if (!inside(record_, addr, size, &a, lo, hi, ec))
        return;
    detail::locked_record r(record_);
    detail::commit_options_locked(*record_, lo, hi, a, options, ec);
}

void reservation::commit(void* addr, std::size_t size, access a, const commit_options& options) {
    std::error_code ec;
    commit(addr, size, a, options, ec);
    throw_if(ec, "vmem::reservation::commit");
}

void reservation::discard(void* addr, std::size_t size, std::error_code& ec) noexcept {
    std::uintptr_t lo, hi;
    if (!inside(record_, addr, size, nullptr, lo, hi, ec))
        return;
    detail::locked_record r(record_);
    detail::discard_locked(*record_, lo, hi, ec);
}

void reservation::discard(void* addr, std::size_t size) {
    std::error_code ec;
    discard(addr, size, ec);
    throw_if(ec, "vmem::reservation::discard");
}

void reservation::guard(void* addr, std::size_t size, std::error_code& ec) noexcept {
    std::uintptr_t lo, hi;
    if (!inside(record_, addr, size, nullptr, lo, hi, ec))
        return;
    detail::locked_record r(record_);
    detail::guard_locked(*record_, lo, hi, ec);
}

void reservation::guard(void* addr, std::size_t size) {
    std::error_code ec;
    guard(addr, size, ec);
    throw_if(ec, "vmem::reservation::guard");
}

void reservation::lock(void* addr, std::size_t size, std::error_code& ec) noexcept {
    std::uintptr_t lo, hi;
    if (!inside(record_, addr, size, nullptr, lo, hi, ec))
        return;
    detail::locked_record r(record_);
    detail::lock_locked(*record_, lo, hi, true, ec);
}

void reservation::lock(void* addr, std::size_t size) {
    std::error_code ec;
    lock(addr, size, ec);
    throw_if(ec, "vmem::reservation::lock");
}

void reservation::unlock(void* addr, std::size_t size, std::error_code& ec) noexcept {
    std::uintptr_t lo, hi;
    if (!inside(record_, addr, size, nullptr, lo, hi, ec))
        return;
    detail::locked_record r(record_);
    detail::lock_locked(*record_, lo, hi, false, ec);
}

void reservation::unlock(void* addr, std::size_t size) {
    std::error_code ec;
    unlock(addr, size, ec);
    throw_if(ec, "vmem::reservation::unlock");
}

void reservation::make_executable(void* addr, std::size_t size, std::error_code& ec) noexcept {
    std::uintptr_t lo, hi;
    if (!inside(record_, addr, size, nullptr, lo, hi, ec))
        return;
    detail::locked_record r(record_);
    detail::make_executable_locked(*record_, lo, hi, ec);
}

void reservation::make_executable(void* addr, std::size_t size) {
    std::error_code ec;
    make_executable(addr, size, ec);
    throw_if(ec, "vmem::reservation::make_executable");
}

void reservation::release(std::error_code& ec) noexcept {
    if (record_ == nullptr) {
        ec = errc::empty_reservation;
        return;
    }
    bool released;
    {
        detail::locked_record r(record_);
        released = detail::release_locked(*record_, ec);
    }
    if (released) {
        detail::free_record(record_); // after unlocking: a waiting thread finds it dead
        record_ = nullptr;
    }
}

void reservation::release() {
    std::error_code ec;
    release(ec);
    throw_if(ec, "vmem::reservation::release");
}

huge_page_report reservation::huge_page_status(std::error_code& ec) const noexcept {
    if (record_ == nullptr) {
        ec = errc::empty_reservation;
        return {};
    }
    detail::locked_record r(record_);
    huge_page_report h = detail::huge_page_report_locked(*record_);
    ec.clear();
    return h;
}

huge_page_report reservation::huge_page_status() const {
    std::error_code ec;
    huge_page_report h = huge_page_status(ec);
    throw_if(ec, "vmem::reservation::huge_page_status");
    return h;
}

void* reservation::detach() noexcept {
    if (record_ == nullptr)
        return nullptr;
    void* b = base();
    {
        detail::locked_record r(record_);
        record_->owned = false;
    }
    record_ = nullptr;
    return b;
}

} // namespace vmem
