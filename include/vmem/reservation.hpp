// vmem: the owner of one reservation.
#ifndef VMEM_RESERVATION_HPP
#define VMEM_RESERVATION_HPP

#include <vmem/access.hpp>
#include <vmem/config.hpp>
#include <vmem/memory.hpp>

#include <cstddef>
#include <system_error>

namespace vmem {

namespace detail {
struct record;
struct owning_tag {};
} // namespace detail

/// Owns one reservation and releases it when destroyed. Move-only; an empty reservation (the
/// default, a moved-from one, one released or detached) owns nothing.
///
/// The members are the operations of <vmem/memory.hpp> restricted to this reservation: a range
/// that does not lie inside it is refused with errc::outside_reservation, on every platform.
/// They behave exactly as the free functions, without the registry lookup. Calls on one
/// reservation from several threads are serialised by a lock of its own.
///
/// While an object owns a reservation, nothing else can release it: vmem::release(base()) and
/// adopt(base()) are refused with errc::reservation_owned. Using one object from several threads
/// is safe for the const members and the operations (commit, decommit, protect); moving,
/// assigning, releasing, detaching or destroying it while another thread uses the same object
/// is the caller's race, as for any C++ object.
class VMEM_DECL reservation {
public:
    /// Empty. Postconditions: !*this, base() == nullptr, size() == 0.
    reservation() noexcept = default;

    /// Reserves `size` bytes as vmem::reserve does. Throws: std::system_error.
    explicit reservation(std::size_t size, const reserve_options& options = {});
    /// Reserves `size` bytes as vmem::reserve does; on error leaves *this empty.
    reservation(std::size_t size, const reserve_options& options, std::error_code& ec) noexcept;

    reservation(const reservation&) = delete;
    reservation& operator=(const reservation&) = delete;

    /// Postconditions: `other` is empty and *this owns what `other` owned.
    reservation(reservation&& other) noexcept;
    /// Releases what *this owned (errors ignored, as in the destructor), then takes `other`'s.
    reservation& operator=(reservation&& other) noexcept;

    /// Releases the reservation, if any. Never throws; a failure to release is ignored (the
    /// address space leaks, no memory is touched).
    ~reservation();

    /// Takes ownership of a reservation made by vmem::reserve (or given up by detach()).
    /// Errors: null_address, not_reservation_base, not_reserved, reservation_owned (another
    /// vmem::reservation owns it already).
    static reservation adopt(void* base, std::error_code& ec) noexcept;
    static reservation adopt(void* base);

    /// The base address and the size in bytes (a multiple of page_size()).
    void* base() const noexcept;
    std::size_t size() const noexcept;
    /// True when [p, p+1) lies inside the reservation.
    bool contains(const void* p) const noexcept;
    /// The number of bytes committed at present. Constant time; no lock.
    std::size_t committed_bytes() const noexcept;

    explicit operator bool() const noexcept { return record_ != nullptr; }

    /// As vmem::commit, vmem::decommit, vmem::protect, within this reservation.
    /// Errors: also empty_reservation when *this is empty.
    void commit(void* addr, std::size_t size, access a, std::error_code& ec) noexcept;
    void commit(void* addr, std::size_t size, access a);
    void decommit(void* addr, std::size_t size, std::error_code& ec) noexcept;
    void decommit(void* addr, std::size_t size);
    void protect(void* addr, std::size_t size, access a, std::error_code& ec) noexcept;
    void protect(void* addr, std::size_t size, access a);
    /// As vmem::commit with options, vmem::discard, vmem::guard, vmem::lock, vmem::unlock and
    /// vmem::make_executable, within this reservation.
    void commit(void* addr, std::size_t size, access a, const commit_options& options,
                std::error_code& ec) noexcept;
    void commit(void* addr, std::size_t size, access a, const commit_options& options);
    void discard(void* addr, std::size_t size, std::error_code& ec) noexcept;
    void discard(void* addr, std::size_t size);
    void guard(void* addr, std::size_t size, std::error_code& ec) noexcept;
    void guard(void* addr, std::size_t size);
    void lock(void* addr, std::size_t size, std::error_code& ec) noexcept;
    void lock(void* addr, std::size_t size);
    void unlock(void* addr, std::size_t size, std::error_code& ec) noexcept;
    void unlock(void* addr, std::size_t size);
    void make_executable(void* addr, std::size_t size, std::error_code& ec) noexcept;
    void make_executable(void* addr, std::size_t size);
    /// As vmem::huge_page_status(base()).
    huge_page_report huge_page_status(std::error_code& ec) const noexcept;
    huge_page_report huge_page_status() const;

    /// Releases the whole reservation. Postconditions on success: *this is empty. On error *this
    /// still owns the reservation, unchanged. Errors: empty_reservation, or the OS error.
    void release(std::error_code& ec) noexcept;
    void release();

    /// Gives up ownership without releasing: *this becomes empty and the reservation, unowned,
    /// lives on until vmem::release(base) or adopt(). Returns the base (null if *this was empty).
    void* detach() noexcept;

    friend void swap(reservation& a, reservation& b) noexcept {
        detail::record* t = a.record_;
        a.record_ = b.record_;
        b.record_ = t;
    }

private:
    reservation(detail::record* r, detail::owning_tag) noexcept : record_(r) {}
    detail::record* record_ = nullptr;
};

} // namespace vmem

#endif
