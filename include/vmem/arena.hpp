// vmem: a region (bump) allocator over one reservation.
#ifndef VMEM_ARENA_HPP
#define VMEM_ARENA_HPP

#include <vmem/config.hpp>
#include <vmem/error.hpp>
#include <vmem/memory.hpp>
#include <vmem/reservation.hpp>

#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <system_error>
#include <utility>

namespace vmem {

/// Options of an arena. The defaults: normal pages as the OS gives them, commit in steps of
/// arena::default_commit_step, no prefault, and reset() keeps the first 64 MiB committed
/// (arena::default_keep_committed) and decommits the rest. Each default is chosen from
/// vmem_bench's arena.reset_cycle (a frame of 64 MiB in 64 KiB..1 MiB pieces, one write a page,
/// then reset(); Linux x86-64 in a VM, 4 KiB pages): the figures are quoted where they decide.
struct arena_options {
    /// Huge pages for the reservation, as reserve_options::huge. When the reservation gets them
    /// (huge_page_status().page_size is not 0), the commit step and keep_committed are rounded up
    /// to whole huge pages instead of pages. Windows gives large pages only to memory committed
    /// at reserve and never decommitted, which an arena is not: there `prefer` gets normal pages
    /// and `require` fails with errc::huge_pages_unavailable. Not the default, though `prefer`
    /// made a 64 MiB frame faulted in again after each reset about 9 times faster where Linux's
    /// transparent huge pages were to be had (2.7 ms against 23.4 ms): they come and go with the
    /// system's state and settings, and every step and keep_committed becomes whole huge pages,
    /// resident however little of one is used. Large per-frame arenas should ask for them.
    huge_pages huge = huge_pages::os_default;
    /// Bytes committed at a time as the arena grows, rounded up to whole pages; 0 for
    /// arena::default_commit_step.
    std::size_t commit_step = 0;
    /// Populate the pages of each step as it is committed (commit_options::prefault), so the
    /// allocations that follow never take a page fault. Off by default: it made a frame that
    /// faults in 64 MiB hardly faster (22.4 ms against 23.4 ms; the cost is the kernel zeroing and
    /// mapping each page, not the trap), and it makes a whole step resident however little of it
    /// is used.
    bool prefault = false;
    /// Bytes (from the start, rounded up to whole pages, at most the capacity) that reset() leaves
    /// committed, so that a per-frame or per-request arena does not fault the same pages in again
    /// every time. The pages kept stay resident (and charged) between frames; 0 gives everything
    /// back.
    ///
    /// Default 64 MiB. Memory faulted in again costs about 0.35 ms a MiB here (a 64 MiB frame:
    /// 23.4 ms after a reset that kept nothing, 17.5 ms keeping 16 MiB, 0.13 ms keeping 64 MiB,
    /// as fast as a buffer never given back at 0.12 ms; malloc + free of the 64 MiB each frame:
    /// 22.7 ms), against 2 us a MiB to reuse resident memory: whatever a frame reuses is worth
    /// keeping. A bound still matters, so that one big frame does not stay resident for good:
    /// 64 MiB is what glibc's malloc, which an arena replaces, may itself keep unreturned at the
    /// top of its heap (its trim threshold grows to twice its largest mmap threshold, 32 MiB on
    /// 64-bit Linux). An arena whose frames reach more sets its own amount (its capacity to
    /// keep everything); one that must stay lean between frames sets less.
    std::size_t keep_committed = std::size_t(64) << 20;
};

/// A region allocator: one reservation of a fixed maximum, from which allocations are carved in
/// order by bumping a pointer, and freed all at once by rewind() or reset().
///
/// - Growth. Pages are committed (read_write) in steps of commit_step() as the top passes the
///   committed end, never past capacity(). Allocations within the committed part are a pointer
///   bump: no lock, no system call, no heap.
/// - Alignment. Any power of two, also above the page size or the allocation granularity (the
///   pages skipped are committed with the step). 0 and other values are refused with
///   errc::invalid_alignment.
/// - Zero bytes. An allocation of 0 bytes takes 1 byte, so it returns a unique non-null pointer
///   (or fails as a 1-byte allocation would).
/// - Full. An allocation that does not fit between the top and capacity() fails, changing
///   nothing: std::errc::not_enough_memory in the noexcept form, std::bad_alloc in the throwing
///   form. So do sizes that would wrap (SIZE_MAX); no arithmetic wraps. A commit the OS refuses
///   for lack of memory gives the same answers (its own code compares equal to
///   std::errc::not_enough_memory); remaining() tells the two apart.
/// - Not thread-safe. One arena (and an arena_resource over it) is used by one thread at a time,
///   like a std::pmr::monotonic_buffer_resource; share one with your own lock, or use one arena
///   per thread.
/// - No heap: the noexcept members never allocate (the throwing forms allocate only to build the
///   exception they throw).
///
/// Move-only, like vmem::reservation: a moved-from arena is empty (capacity() 0) and refuses
/// every allocation with errc::empty_reservation. Destroying the arena releases the reservation
/// and with it every allocation.
class VMEM_DECL arena {
public:
    /// The commit step when arena_options::commit_step is 0: 1 MiB, rounded up to whole pages.
    /// The step barely matters to speed, as faulting the pages in costs far more than the commit
    /// that maps them (a 64 MiB frame after a reset that kept nothing: 23.1 ms in steps of
    /// 64 KiB, 23.4 ms in 1 MiB, 23.2 ms in 4 MiB), while it bounds what is committed past the
    /// top: 1 MiB keeps that small and takes one system call a MiB.
    static constexpr std::size_t default_commit_step = std::size_t(1) << 20;
    /// What reset() keeps committed when arena_options::keep_committed is left as it is: 64 MiB
    /// (rounded up to whole pages, at most the capacity). Why: arena_options::keep_committed.
    static constexpr std::size_t default_keep_committed = arena_options{}.keep_committed;

    /// A point to rewind() to: the top of the arena when mark() was called.
    struct marker {
        std::size_t offset = 0;
    };

    /// Empty: capacity() 0, every allocation refused with errc::empty_reservation.
    arena() noexcept = default;
    /// Reserves `capacity` bytes (rounded up to whole pages), committing nothing yet.
    /// Throws: std::system_error with reserve's error (zero_size, size_overflow, ...).
    explicit arena(std::size_t capacity, const arena_options& options = {});
    /// As above; on error *this is empty and `ec` says why.
    arena(std::size_t capacity, const arena_options& options, std::error_code& ec) noexcept;

    arena(const arena&) = delete;
    arena& operator=(const arena&) = delete;
    /// Postconditions: `other` is empty and *this has what `other` had.
    arena(arena&& other) noexcept;
    /// Releases what *this had, then takes `other`'s.
    arena& operator=(arena&& other) noexcept;
    ~arena() = default;

    /// Returns `size` bytes aligned to `alignment`, or null with `ec` set: invalid_alignment,
    /// empty_reservation, std::errc::not_enough_memory (full), or the OS error of the commit.
    void* allocate(std::size_t size, std::size_t alignment, std::error_code& ec) noexcept {
        if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
            ec = errc::invalid_alignment;
            return nullptr;
        }
        const std::size_t n = size == 0 ? 1 : size;
        const std::uintptr_t top = reinterpret_cast<std::uintptr_t>(base_) + used_;
        const std::size_t pad = static_cast<std::size_t>((~top + 1) & (alignment - 1));
        const std::size_t room = committed_ - used_;
        if (pad <= room && n <= room - pad) {
            void* p = base_ + used_ + pad;
            used_ += pad + n;
            ec.clear();
            return p;
        }
        return allocate_slow(n, pad, ec);
    }
    /// As above. Throws: std::bad_alloc when the arena is full or the OS is out of memory,
    /// std::system_error for the other errors. Inline, as the other form is, with only the throw
    /// out of line: an out-of-line call cost 2.2 times the inline form (arena_resource, and so
    /// every pmr container, allocates through this one).
    void* allocate(std::size_t size, std::size_t alignment = alignof(std::max_align_t)) {
        std::error_code ec;
        void* p = allocate(size, alignment, ec);
        if (ec)
            throw_allocation_error(ec);
        return p;
    }

    /// Gives back the last allocation: when [p, p+size) ends at the top (p and size as given to
    /// allocate), the top moves back to p; otherwise nothing happens (memory is freed by rewind
    /// and reset only). Never decommits.
    void deallocate(void* p, std::size_t size) noexcept {
        const std::size_t n = size == 0 ? 1 : size;
        // Compared as integers: a pointer from elsewhere may not be subtracted from base_.
        const std::uintptr_t at = reinterpret_cast<std::uintptr_t>(p);
        const std::uintptr_t first = reinterpret_cast<std::uintptr_t>(base_);
        if (p != nullptr && at >= first && at - first <= used_ && used_ - (at - first) == n)
            used_ = at - first;
    }

    /// The current top, to rewind() to later.
    marker mark() const noexcept { return marker{used_}; }
    /// Frees every allocation made since `m` was taken: the next allocations return the same
    /// addresses again. What is committed stays committed.
    /// Errors: errc::outside_reservation when `m` lies above the current top (an earlier rewind
    /// or reset went below it); nothing changes.
    void rewind(marker m, std::error_code& ec) noexcept;
    void rewind(marker m);

    /// Frees every allocation and decommits the pages past keep_committed() (they return to
    /// reserved: access faults, storage and commit charge given back). On error (the OS refused
    /// the decommit) nothing changes.
    void reset(std::error_code& ec) noexcept;
    void reset();

    /// Bytes allocated (the top's offset from base(), alignment padding included).
    std::size_t size() const noexcept { return used_; }
    /// Bytes committed, from base(): a multiple of the page size.
    std::size_t committed() const noexcept { return committed_; }
    /// The maximum: the size of the reservation.
    std::size_t capacity() const noexcept { return capacity_; }
    /// capacity() - size().
    std::size_t remaining() const noexcept { return capacity_ - used_; }
    /// The commit step and the amount reset() keeps, after rounding.
    std::size_t commit_step() const noexcept { return step_; }
    std::size_t keep_committed() const noexcept { return keep_; }
    /// The first byte of the reservation (null when empty).
    void* base() const noexcept { return base_; }
    /// The reservation the arena allocates from (for contains(), committed_bytes(),
    /// huge_page_status(); do not decommit or release through it).
    const vmem::reservation& reservation() const noexcept { return res_; }

    /// Inline, as reservation's: a friend is not exported from a shared library with the class.
    friend void swap(arena& a, arena& b) noexcept {
        using std::swap;
        swap(a.res_, b.res_);
        swap(a.base_, b.base_);
        swap(a.used_, b.used_);
        swap(a.committed_, b.committed_);
        swap(a.capacity_, b.capacity_);
        swap(a.step_, b.step_);
        swap(a.keep_, b.keep_);
        swap(a.prefault_, b.prefault_);
    }

private:
    void* allocate_slow(std::size_t n, std::size_t pad, std::error_code& ec) noexcept;
    [[noreturn]] static void throw_allocation_error(const std::error_code& ec);

    vmem::reservation res_;
    unsigned char* base_ = nullptr;
    std::size_t used_ = 0;
    std::size_t committed_ = 0;
    std::size_t capacity_ = 0;
    std::size_t step_ = 0;
    std::size_t keep_ = 0;
    bool prefault_ = false;
};

/// A std::pmr::memory_resource over an arena (which must outlive it): for std::pmr::vector,
/// std::pmr::string and the other pmr containers. allocate is arena::allocate (std::bad_alloc
/// when full); deallocate is arena::deallocate (frees the last allocation only, else nothing:
/// a monotonic resource). Two resources are equal when they use the same arena. Single-threaded,
/// like the arena.
class arena_resource : public std::pmr::memory_resource {
public:
    explicit arena_resource(vmem::arena& a) noexcept : arena_(&a) {}
    vmem::arena& arena() const noexcept { return *arena_; }

private:
    void* do_allocate(std::size_t bytes, std::size_t alignment) override {
        return arena_->allocate(bytes, alignment);
    }
    void do_deallocate(void* p, std::size_t bytes, std::size_t) override {
        arena_->deallocate(p, bytes);
    }
    bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
        if (this == &other)
            return true;
#if defined(__cpp_rtti) || defined(__GXX_RTTI) || defined(_CPPRTTI)
        const arena_resource* o = dynamic_cast<const arena_resource*>(&other);
        return o != nullptr && o->arena_ == arena_;
#else
        return false; // without RTTI (-fno-rtti, /GR-) only the same object: still correct
#endif
    }

    vmem::arena* arena_;
};

} // namespace vmem

#endif
