// vmem: the arena, built on the public API (vmem::reservation) alone.
#include <vmem/arena.hpp>
#include <vmem/system.hpp>

#include <new>
#include <utility>

namespace vmem {

namespace {

// Rounds `n` up to a multiple of `unit` (not necessarily a power of two), saturating at `limit`.
std::size_t round_up_within(std::size_t n, std::size_t unit, std::size_t limit) noexcept {
    const std::size_t rest = n % unit;
    if (rest == 0)
        return n < limit ? n : limit;
    const std::size_t add = unit - rest;
    return n <= limit && add <= limit - n ? n + add : limit;
}

[[noreturn]] void throw_error(const std::error_code& ec) {
    if (ec == std::errc::not_enough_memory)
        throw std::bad_alloc();
    throw std::system_error(ec);
}

} // namespace

arena::arena(std::size_t capacity, const arena_options& options) {
    std::error_code ec;
    arena a(capacity, options, ec);
    if (ec)
        throw std::system_error(ec);
    *this = std::move(a);
}

arena::arena(std::size_t capacity, const arena_options& options, std::error_code& ec) noexcept {
    reserve_options ro;
    ro.huge = options.huge;
    vmem::reservation r(capacity, ro, ec);
    if (ec)
        return;
    // The unit of commit: a page, or a huge page where the reservation has them (a commit of
    // part of a huge page would split it).
    std::size_t unit = page_size();
    if (options.huge != huge_pages::os_default && options.huge != huge_pages::never) {
        std::error_code hec;
        const huge_page_report report = r.huge_page_status(hec);
        if (!hec && report.page_size > unit)
            unit = report.page_size;
    }
    const std::size_t step = options.commit_step != 0 ? options.commit_step : default_commit_step;
    res_ = std::move(r);
    base_ = static_cast<unsigned char*>(res_.base());
    capacity_ = res_.size();
    step_ = round_up_within(step, unit, capacity_);
    keep_ = round_up_within(options.keep_committed, unit, capacity_);
    prefault_ = options.prefault;
}

arena::arena(arena&& other) noexcept
    : res_(std::move(other.res_)), base_(other.base_), used_(other.used_),
      committed_(other.committed_), capacity_(other.capacity_), step_(other.step_),
      keep_(other.keep_), prefault_(other.prefault_) {
    other.base_ = nullptr;
    other.used_ = other.committed_ = other.capacity_ = other.step_ = other.keep_ = 0;
    other.prefault_ = false;
}

arena& arena::operator=(arena&& other) noexcept {
    if (this != &other) {
        arena gone(std::move(*this));
        swap(*this, other);
    }
    return *this;
}

void* arena::allocate_slow(std::size_t n, std::size_t pad, std::error_code& ec) noexcept {
    if (!res_) {
        ec = errc::empty_reservation;
        return nullptr;
    }
    const std::size_t room = capacity_ - used_;
    if (pad > room || n > room - pad) {
        ec = std::make_error_code(std::errc::not_enough_memory);
        return nullptr;
    }
    const std::size_t end = used_ + pad + n;
    if (end > committed_) {
        const std::size_t target = round_up_within(end, step_, capacity_);
        commit_options co;
        co.prefault = prefault_;
        res_.commit(base_ + committed_, target - committed_, access::read_write, co, ec);
        if (ec)
            return nullptr;
        committed_ = target;
    }
    void* p = base_ + used_ + pad;
    used_ = end;
    ec.clear();
    return p;
}

void arena::throw_allocation_error(const std::error_code& ec) {
    throw_error(ec);
}

void arena::rewind(marker m, std::error_code& ec) noexcept {
    if (m.offset > used_) {
        ec = errc::outside_reservation;
        return;
    }
    used_ = m.offset;
    ec.clear();
}

void arena::rewind(marker m) {
    std::error_code ec;
    rewind(m, ec);
    if (ec)
        throw std::system_error(ec);
}

void arena::reset(std::error_code& ec) noexcept {
    if (!res_) {
        ec = errc::empty_reservation;
        return;
    }
    if (committed_ > keep_) {
        res_.decommit(base_ + keep_, committed_ - keep_, ec);
        if (ec)
            return;
        committed_ = keep_;
    }
    used_ = 0;
    ec.clear();
}

void arena::reset() {
    std::error_code ec;
    reset(ec);
    if (ec)
        throw std::system_error(ec);
}

} // namespace vmem
