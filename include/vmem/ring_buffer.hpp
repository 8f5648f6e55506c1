// vmem: the double-mapped ("magic") ring buffer.
//
// vmem::double_mapping maps the same pages twice, back to back: data()[i] and
// data()[i + size()] are the same byte, for every i below size(). A record that runs past the end
// of the buffer continues, in the second view, at the buffer's start: a read or a write that wraps
// is one contiguous span, with no split and no copy. Audio, logging and network code build their
// queues this way.
//
// vmem::ring_buffer is a single-producer, single-consumer byte queue on one double_mapping: the
// producer asks write_span() for the free bytes (one span, however the free space wraps), writes
// there and publishes them with commit(n); the consumer asks read_span() for the published bytes,
// reads them and frees them with consume(n). One producer thread and one consumer thread may use
// it at the same time without a lock.
//
// Portability: Linux memfd_create, then one PROT_NONE reservation of twice the size and two
// MAP_FIXED | MAP_SHARED views inside it, so no other mapping can slip in between (FreeBSD the
// same, or shm_open(SHM_ANON); macOS shm_open with a random name, unlinked at once). Windows
// CreateFileMapping (backed by the page file), then placeholders where they work (VirtualAlloc2
// reserves a placeholder of twice the size, VirtualFree splits it, MapViewOfFile3 maps a view
// into each half: Windows 10 1803+), else MapViewOfFileEx at a free address and just after it,
// retried when another thread takes the address. capabilities::double_mapping says which.
//
// fork(): the views are shared mappings, so a child shares the bytes with its parent, while a
// ring_buffer's counters are the process's own: after a fork, use a ring in one of the two only
// (a child that writes into its copy overwrites what the parent has queued).
//
// A double_mapping is not a vmem reservation: vmem's free functions given its addresses refuse
// them with errc::not_reserved, as for any memory vmem does not own.
//
// Errors: as everywhere in vmem, a throwing form (std::system_error) and a noexcept form taking
// std::error_code&, which never allocates from the heap. A failed construction leaves nothing
// behind: no view, no reservation, no descriptor or handle.
#ifndef VMEM_RING_BUFFER_HPP
#define VMEM_RING_BUFFER_HPP

#include <vmem/config.hpp>
#include <vmem/error.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <system_error>

namespace vmem {

/// Owns `size()` bytes of shared memory mapped twice, back to back, read-write (see above).
/// Move-only; an empty one (the default, a moved-from or released one) owns nothing. The
/// destructor unmaps both views, which frees the memory.
class VMEM_DECL double_mapping {
public:
    /// Empty. Postconditions: !*this, data() == nullptr, size() == 0.
    double_mapping() noexcept = default;

    /// Maps `size` bytes, rounded up to the allocation granularity (the page on POSIX, 64 KiB on
    /// Windows), twice: at data() and at data() + size(). The bytes read zero.
    /// Errors: zero_size; size_overflow (the rounded size, or twice it, wraps or exceeds the user
    ///   address space); the OS's error (not_enough_memory, the limit on open files;
    ///   std::errc::file_too_large on Linux when the size exceeds the process's file size limit,
    ///   RLIMIT_FSIZE, which the memory object counts against);
    ///   errc::address_unavailable when Windows' retry path found its free address taken by
    ///   another thread every time. Nothing is left behind on error.
    /// Throws: std::system_error.
    explicit double_mapping(std::size_t size);
    /// As above; on error *this is empty and `ec` says why. Never allocates.
    double_mapping(std::size_t size, std::error_code& ec) noexcept;

    double_mapping(const double_mapping&) = delete;
    double_mapping& operator=(const double_mapping&) = delete;
    /// Postconditions: `other` is empty and *this owns what `other` owned.
    double_mapping(double_mapping&& other) noexcept;
    /// Releases what *this owned, then takes `other`'s.
    double_mapping& operator=(double_mapping&& other) noexcept;
    /// Releases both views; an error is ignored (it cannot happen for views vmem mapped).
    ~double_mapping();

    /// The first view; the second starts at data() + size(). Both are 2 * size() bytes long
    /// together.
    unsigned char* data() const noexcept { return data_; }
    /// The bytes of the memory (of each view): a multiple of allocation_granularity().
    std::size_t size() const noexcept { return size_; }
    explicit operator bool() const noexcept { return data_ != nullptr; }

    /// Unmaps both views. Postconditions on success: *this is empty; on error it still owns
    /// them. Errors: empty_reservation (nothing owned), or the OS error.
    void release(std::error_code& ec) noexcept;
    void release();

    friend void swap(double_mapping& a, double_mapping& b) noexcept {
        unsigned char* d = a.data_;
        a.data_ = b.data_;
        b.data_ = d;
        const std::size_t n = a.size_;
        a.size_ = b.size_;
        b.size_ = n;
    }

private:
    unsigned char* data_ = nullptr;
    std::size_t size_ = 0;
};

/// A contiguous run of bytes: what write_span() and read_span() return (C++17 has no std::span).
template <class Byte>
class byte_span {
public:
    constexpr byte_span() noexcept = default;
    constexpr byte_span(Byte* data, std::size_t size) noexcept : data_(data), size_(size) {}
    constexpr Byte* data() const noexcept { return data_; }
    constexpr std::size_t size() const noexcept { return size_; }
    constexpr bool empty() const noexcept { return size_ == 0; }
    constexpr Byte* begin() const noexcept { return data_; }
    constexpr Byte* end() const noexcept { return data_ + size_; }
    /// Requires: i < size().
    constexpr Byte& operator[](std::size_t i) const noexcept { return data_[i]; }

private:
    Byte* data_ = nullptr;
    std::size_t size_ = 0;
};

/// A single-producer, single-consumer byte queue over a double_mapping (see above).
///
/// The producer calls write_span() and commit(); the consumer calls read_span() and consume();
/// size(), empty() and capacity() may be called by either. One producer thread and one consumer
/// thread may run at the same time with no lock: commit() publishes the written bytes with
/// release ordering and read_span() sees them with acquire ordering (and consume() hands freed
/// space back the same way). Two producers, or two consumers, at once are the caller's race, as
/// is moving, assigning or destroying the ring while another thread uses it.
///
/// (Its members are exported one by one, not the class: an exported class with std::atomic
/// members makes MSVC warn (C4251) in a DLL build.)
class ring_buffer {
public:
    /// Empty: capacity() == 0, every span empty.
    ring_buffer() noexcept = default;
    /// A ring of `capacity` bytes, rounded up to the allocation granularity, all free.
    /// Errors: those of double_mapping(capacity). Throws: std::system_error.
    VMEM_DECL explicit ring_buffer(std::size_t capacity);
    VMEM_DECL ring_buffer(std::size_t capacity, std::error_code& ec) noexcept;

    ring_buffer(const ring_buffer&) = delete;
    ring_buffer& operator=(const ring_buffer&) = delete;
    /// Postconditions: `other` is empty; *this holds its memory and its queued bytes.
    VMEM_DECL ring_buffer(ring_buffer&& other) noexcept;
    VMEM_DECL ring_buffer& operator=(ring_buffer&& other) noexcept;
    ~ring_buffer() = default;

    /// Producer: the free bytes, as one contiguous span starting where the next byte goes, even
    /// when the free space wraps past the end of the buffer. Its size is capacity() - size() as
    /// the producer sees it (the consumer may free more meanwhile).
    byte_span<unsigned char> write_span() noexcept {
        const std::size_t capacity = memory_.size();
        if (capacity == 0)
            return {};
        const std::uint64_t head = head_.value.load(std::memory_order_relaxed);
        const std::uint64_t tail = tail_.value.load(std::memory_order_acquire);
        head_.seen = tail;
        const auto used = static_cast<std::size_t>(head - tail);
        return {memory_.data() + static_cast<std::size_t>(head % capacity), capacity - used};
    }
    /// Producer: publishes the first `n` bytes of the free space to the consumer.
    /// Errors: errc::outside_reservation when `n` is more than the free space (more than
    ///   write_span().size() would give now); nothing is published then. 0 is allowed.
    /// Throws: std::system_error.
    void commit(std::size_t n, std::error_code& ec) noexcept {
        const std::uint64_t head = head_.value.load(std::memory_order_relaxed);
        const std::size_t capacity = memory_.size();
        if (n > capacity - static_cast<std::size_t>(head - head_.seen)) {
            head_.seen = tail_.value.load(std::memory_order_acquire);
            if (n > capacity - static_cast<std::size_t>(head - head_.seen)) {
                ec = errc::outside_reservation;
                return;
            }
        }
        head_.value.store(head + n, std::memory_order_release); // publishes the bytes written
        ec.clear();
    }
    VMEM_DECL void commit(std::size_t n);

    /// Consumer: the published bytes, as one contiguous span starting at the oldest, even when
    /// they wrap past the end of the buffer. The consumer's alone, although const: it records
    /// what it saw for consume() (another thread watching the ring calls size()).
    byte_span<const unsigned char> read_span() const noexcept {
        const std::size_t capacity = memory_.size();
        if (capacity == 0)
            return {};
        const std::uint64_t tail = tail_.value.load(std::memory_order_relaxed);
        const std::uint64_t head = head_.value.load(std::memory_order_acquire);
        tail_.seen = head;
        return {memory_.data() + static_cast<std::size_t>(tail % capacity),
                static_cast<std::size_t>(head - tail)};
    }
    /// Consumer: frees the first `n` published bytes for the producer.
    /// Errors: errc::outside_reservation when `n` is more than are published; nothing is freed
    ///   then. 0 is allowed. Throws: std::system_error.
    void consume(std::size_t n, std::error_code& ec) noexcept {
        const std::uint64_t tail = tail_.value.load(std::memory_order_relaxed);
        if (n > tail_.seen - tail) {
            tail_.seen = head_.value.load(std::memory_order_acquire);
            if (n > tail_.seen - tail) {
                ec = errc::outside_reservation;
                return;
            }
        }
        tail_.value.store(tail + n, std::memory_order_release); // hands the space back
        ec.clear();
    }
    VMEM_DECL void consume(std::size_t n);

    /// The published bytes not yet consumed (a snapshot when the other side is running).
    VMEM_DECL std::size_t size() const noexcept;
    bool empty() const noexcept { return size() == 0; }
    /// The bytes the ring holds at most: the double_mapping's size().
    std::size_t capacity() const noexcept { return memory_.size(); }
    /// The memory underneath.
    const double_mapping& memory() const noexcept { return memory_; }

private:
    // The protocol: the producer owns head_ (its own writes need no ordering to be seen by itself)
    // and reads tail_ with acquire, so the consumer's reads of the bytes it freed happen before the
    // producer writes over them; the consumer mirrors that. Each keeps the other's counter as it
    // last loaded it (`seen`): write_span and read_span load it fresh, and commit and consume check
    // against the copy, loading again only when the copy says no (it lags, never leads), so that a
    // record costs one load of the line the other core writes, not two. These four members are
    // inline: out of line, a call each cost more than their work for small records.
    //
    // Keeps `head_` and `tail_` on cache lines of their own, so that the producer's writes of
    // one do not evict the consumer's copy of the other. Padding rather than alignas, so that
    // no compiler warns that the class is padded; 128 bytes covers the 64-byte lines of x86 and
    // most ARM cores and the 128-byte ones of Apple's (not a page size).
    static constexpr std::size_t cache_line_pad = 128;

    /// A counter alone on its cache line(s), padding on both sides, and on a line of its own
    /// past that its owner's copy of the other side's counter as last loaded: a bound that only
    /// lags (the counters only grow), so commit and consume check against it and load the line
    /// the other core writes only when it is not enough. (The copy is apart from the counter,
    /// which the other side polls, so that updating it does not take that line away from them.)
    struct counter_line {
        unsigned char before[cache_line_pad];
        std::atomic<std::uint64_t> value{0};
        unsigned char after[cache_line_pad];
        mutable std::uint64_t seen = 0; // the other counter, as last loaded by this one's owner
        unsigned char after_seen[cache_line_pad];
    };

    double_mapping memory_;
    /// Bytes ever committed; written by the producer only (release), read by the consumer
    /// (acquire). 64 bits, so it never wraps; the position is head_ % capacity(). head_.seen:
    /// tail_ as the producer last loaded it.
    counter_line head_;
    /// Bytes ever consumed; written by the consumer only (release), read by the producer
    /// (acquire). tail_.seen: head_ as the consumer last loaded it.
    counter_line tail_;
};

} // namespace vmem

namespace vmem::testing {

/// With `enabled` false, double_mapping takes the path used where Windows has no working
/// placeholders (MapViewOfFileEx at a free address, retried when another thread takes it), so
/// that path can be tested on any Windows; capabilities::double_mapping reports the choice. True
/// restores the OS's own answer. POSIX has one path and ignores this.
VMEM_DECL void use_placeholder_double_mapping(bool enabled) noexcept;

/// How many times Windows' retry path found its address taken and tried again, since the
/// program started (0 elsewhere): lets a test see that contention happened.
VMEM_DECL std::size_t double_mapping_retries() noexcept;

} // namespace vmem::testing

#endif
