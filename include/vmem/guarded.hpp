// vmem: a block of memory between guard regions, and stacks guarded below.
//
// A guarded block is one reservation laid out as [guard][block][guard]: the block is committed
// read-write and the guard regions are vmem::guard pages, so an access that runs off the block
// faults at once instead of corrupting a neighbour. Which guard regions exist is a guard_side:
// - after (the default): the guard lies just above the block, so an overflow of a buffer that
//   grows upward (an array, a debug allocation) faults on its first byte past data() + size();
// - before: the guard lies just below the block. A stack grows downward, from its top toward
//   lower addresses, so its overflow runs off the *bottom*: a stack needs its guard before the
//   block. guarded_stack does that and names the ends top() and bottom();
// - both: guards on both sides (an underflow faults too).
//
// Costs: one reservation per block. The block and its guards are reserved and committed in one
// call, then the guard regions are guarded, so on Linux 6.13+ (capabilities::guard_pages_free) a
// guarded block is one kernel mapping whatever its guards; elsewhere on Linux each guard region
// splits it off (up to three mappings, which count against vm.max_map_count). On Windows the
// guard regions are reserved, PAGE_NOACCESS pages of the block's allocation.
//
// Errors: as everywhere in vmem, each constructor has a throwing form (std::system_error) and a
// noexcept form taking std::error_code&, which never allocates from the heap. A failed
// construction reserves nothing and leaves the object empty.
#ifndef VMEM_GUARDED_HPP
#define VMEM_GUARDED_HPP

#include <vmem/config.hpp>
#include <vmem/memory.hpp>
#include <vmem/reservation.hpp>

#include <cstddef>
#include <system_error>

namespace vmem {

/// Where a guarded_block puts its guard regions. Any other value is refused with
/// errc::invalid_option.
enum class guard_side {
    after,  ///< above the block: an overflow of an upward-growing buffer faults (the default)
    before, ///< below the block: an overflow of a downward-growing stack faults
    both,   ///< on both sides
};

/// Options of guarded_block.
struct guarded_options {
    guard_side side = guard_side::after;
    /// Size of each guard region in pages of page_size(); at least 1 (else errc::zero_size).
    std::size_t guard_pages = 1;
    /// Populate the block's pages now rather than at first touch (commit_options::prefault).
    bool prefault = false;
};

/// Owns a block of committed read-write memory with guard regions beside it (see above).
/// Move-only; an empty block (the default, a moved-from or released one) owns nothing. The
/// destructor releases the block and its guards, in one call.
class VMEM_DECL guarded_block {
public:
    /// Empty. Postconditions: !*this, data() == nullptr, size() == 0.
    guarded_block() noexcept = default;

    /// Reserves room for `size` bytes, rounded up to whole pages, plus options.guard_pages pages
    /// on each side options.side names; commits the block read-write (reading zero) and makes
    /// the guard regions guard pages.
    /// Errors: zero_size (`size` or guard_pages is zero); size_overflow (the block, a guard region
    ///   or their sum, rounded to pages, wraps or exceeds the user address space); invalid_option
    ///   (a side outside guard_side); or the error of reserve, commit or guard (not_enough_memory,
    ///   mapping_limit). Nothing stays reserved on error.
    /// Throws: std::system_error.
    explicit guarded_block(std::size_t size, const guarded_options& options = {});
    /// As above; on error *this is empty and `ec` says why. Never allocates.
    guarded_block(std::size_t size, const guarded_options& options, std::error_code& ec) noexcept;

    guarded_block(const guarded_block&) = delete;
    guarded_block& operator=(const guarded_block&) = delete;
    /// Postconditions: `other` is empty and *this owns what `other` owned.
    guarded_block(guarded_block&& other) noexcept;
    /// Releases what *this owned, then takes `other`'s.
    guarded_block& operator=(guarded_block&& other) noexcept;
    ~guarded_block() = default;

    /// The first byte of the block, and its size in bytes (a multiple of page_size()). The byte
    /// at data() + size() is a guard byte with guard_side::after or both; the byte at
    /// data() - 1 is one with guard_side::before or both.
    void* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
    unsigned char* begin() const noexcept { return data_; }
    unsigned char* end() const noexcept { return data_ + size_; }
    /// The bytes of each guard region (guard_pages * page_size()); 0 when empty.
    std::size_t guard_size() const noexcept { return guard_; }
    guard_side side() const noexcept { return side_; }
    /// The whole reservation: the block and its guard regions.
    void* reservation_base() const noexcept { return storage_.base(); }
    std::size_t reservation_size() const noexcept { return storage_.size(); }

    explicit operator bool() const noexcept { return data_ != nullptr; }

    /// Releases the block and its guards. Postconditions on success: *this is empty; on error
    /// it still owns them. Errors: empty_reservation, or the OS error.
    void release(std::error_code& ec) noexcept;
    void release();

    friend void swap(guarded_block& a, guarded_block& b) noexcept {
        swap(a.storage_, b.storage_);
        unsigned char* d = a.data_;
        a.data_ = b.data_;
        b.data_ = d;
        std::size_t n = a.size_;
        a.size_ = b.size_;
        b.size_ = n;
        n = a.guard_;
        a.guard_ = b.guard_;
        b.guard_ = n;
        guard_side s = a.side_;
        a.side_ = b.side_;
        b.side_ = s;
    }

private:
    reservation storage_;
    unsigned char* data_ = nullptr;
    std::size_t size_ = 0;
    std::size_t guard_ = 0;
    guard_side side_ = guard_side::after;
};

/// Options of guarded_stack.
struct stack_options {
    /// Size of the guard region below the stack in pages of page_size(); at least 1.
    std::size_t guard_pages = 1;
    /// Populate the stack's pages now rather than at first touch.
    bool prefault = false;
};

/// A stack for a fiber, a coroutine or a thread one makes oneself: a guarded_block with its guard
/// *below* (guard_side::before), since a stack grows from top() down toward bottom() and an
/// overflow runs off the bottom, into the guard. Move-only; releases on destruction.
class VMEM_DECL guarded_stack {
public:
    guarded_stack() noexcept = default;
    /// As guarded_block(size, {guard_side::before, options.guard_pages, options.prefault}).
    /// Throws: std::system_error.
    explicit guarded_stack(std::size_t size, const stack_options& options = {});
    guarded_stack(std::size_t size, const stack_options& options, std::error_code& ec) noexcept;

    /// One past the highest byte: the initial stack pointer of a downward-growing stack (aligned
    /// to page_size()).
    void* top() const noexcept { return block_.end(); }
    /// The lowest usable byte; the guard region lies just below it.
    void* bottom() const noexcept { return block_.data(); }
    /// The usable bytes (a multiple of page_size()).
    std::size_t size() const noexcept { return block_.size(); }
    std::size_t guard_size() const noexcept { return block_.guard_size(); }
    /// The block underneath (its side() is guard_side::before).
    const guarded_block& block() const noexcept { return block_; }

    explicit operator bool() const noexcept { return static_cast<bool>(block_); }

    void release(std::error_code& ec) noexcept { block_.release(ec); }
    void release();

private:
    guarded_block block_;
};

} // namespace vmem

#endif
