// vmem: a contiguous vector whose elements never move, over one reservation.
#ifndef VMEM_STABLE_VECTOR_HPP
#define VMEM_STABLE_VECTOR_HPP

#include <vmem/config.hpp>
#include <vmem/error.hpp>
#include <vmem/memory.hpp>
#include <vmem/reservation.hpp>
#include <vmem/system.hpp>

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <new>
#include <stdexcept>
#include <system_error>
#include <type_traits>
#include <utility>

namespace vmem {

/// Options of a stable_vector. The defaults: normal pages as the OS gives them, commit in steps
/// of stable_vector<T>::default_commit_step, no prefault.
///
/// Why these defaults (bench/growth.cpp: thread CPU time per uint64_t appended with push_back,
/// construction and destruction included; Linux 6.18 in a 2-core VM, THP `madvise`; the README's
/// Performance run): at 256 M elements std::vector took 6.8 ns, these defaults 3.3 ns, the same
/// appends into a vector already resident 0.32 ns: what remains is the kernel faulting in and
/// zeroing 4 KiB pages. Prefault and commit steps from 64 KiB to 16 MiB changed nothing (a
/// populate zeroes the same pages a first touch does, and keeps a whole step resident before it
/// is used). huge_pages::prefer took 0.7 to 0.8 ns up to 512 MiB of data, but 9 to 10 ns at
/// 2 GiB, and swung between the two from run to run: a huge page costs what the kernel must do to
/// find one (compaction, on the appending thread; on this VM, memory the host took back). So huge
/// pages are not the default: besides that swing, a vector holding one element keeps a whole huge
/// page resident, and prefer takes pages of the OS's explicit pool (Linux hugetlb) for all of
/// max_size() at construction when the pool has them, which a vector whose maximum is
/// deliberately generous must not do. Ask for them (huge = prefer) for a vector known to grow
/// large. Peak resident memory is the data plus at most one step: 1.00 of the data at 2^24 + 2^20
/// elements, where std::vector peaks at 2.12.
struct stable_vector_options {
    /// Huge pages for the reservation, as reserve_options::huge (and as arena_options::huge:
    /// when the reservation gets them, the commit step, reserve() and shrink_to_fit() work in
    /// whole huge pages; Windows gives none to memory that is committed as it grows).
    huge_pages huge = huge_pages::os_default;
    /// Bytes committed at a time as the vector grows past capacity(), rounded up to whole pages;
    /// 0 for stable_vector<T>::default_commit_step.
    std::size_t commit_step = 0;
    /// Populate the pages of each commit as it is made (commit_options::prefault), so the
    /// elements constructed there never take a page fault.
    bool prefault = false;
};

namespace detail {
template <class It, class = void>
struct is_input_iterator : std::false_type {};
template <class It>
struct is_input_iterator<It, std::void_t<typename std::iterator_traits<It>::iterator_category>>
    : std::is_convertible<typename std::iterator_traits<It>::iterator_category,
                          std::input_iterator_tag> {};
} // namespace detail

/// A contiguous vector whose elements never move: it reserves room for max_size() elements up
/// front and commits pages as it grows, so growth never copies or moves an element, and pointers,
/// references and iterators to elements stay valid as long as the element does (across
/// push_back, emplace_back, insert at the end, resize, reserve and shrink_to_fit). Insert and
/// erase in the middle shift the elements after the point by assignment, as std::vector does:
/// a pointer there keeps its address but sees another element.
///
/// - Size. max_size() is the maximum given to the constructor, fixed for the object's life (only
///   assignment and swap, which exchange or copy whole vectors, change it). The reservation is
///   max_size() * sizeof(T) bytes rounded up to whole pages; nothing is committed at first.
/// - Growth. capacity() is the number of elements the committed pages hold (never more than
///   max_size()). Growing past it commits the next pages (read_write): in steps of
///   commit_step() bytes from the start as push_back, emplace_back, insert and resize grow it,
///   in whole pages for reserve(n). One system call, never a copy; within capacity(), no system
///   call. Any growth past max_size() throws std::length_error and changes nothing. A commit the
///   OS refuses throws std::bad_alloc when it is for lack of memory (the error compares equal to
///   std::errc::not_enough_memory: the commit limit, RLIMIT_DATA, vm.max_map_count), else
///   std::system_error, and changes nothing.
/// - Exception guarantees, as std::vector's: growth at the end (push_back, emplace_back, insert
///   at end(), resize, reserve, append through insert) has no effect when it throws, whatever
///   throws (the pages it committed are given back). An insert or emplace in the middle has no
///   effect when the growth or the making of the new elements throws. When the move of an
///   existing element throws (insert or emplace in the middle, erase), or an assignment
///   (assign), the vector is valid (its elements may hold moved-from values) and nothing leaks:
///   the basic guarantee. So with a noexcept move constructor and move assignment, inserting one
///   element anywhere has no effect when it throws.
/// - shrink_to_fit() decommits the whole pages past the last element: their memory and commit
///   charge go back to the OS at once, and capacity() falls to what the kept pages hold.
/// - Not thread-safe, like std::vector: concurrent const calls are fine, anything else needs
///   the caller's lock. The noexcept members never allocate from the heap (the throwing ones
///   allocate only to build the exception they throw).
///
/// The interface is std::vector's, with these differences: the constructors take the maximum
/// first (there is no count constructor: use resize() or assign()); there is no allocator; the
/// iterators are pointers; copy assignment is copy-and-swap (see operator=). T is any object
/// type that is not const or volatile, move-only types included; the members that copy need T
/// copyable, the ones that insert in the middle need it move-assignable and swappable.
template <class T>
class stable_vector {
    static_assert(std::is_object_v<T> && !std::is_const_v<T> && !std::is_volatile_v<T> &&
                      !std::is_array_v<T>,
                  "vmem::stable_vector<T>: T must be a non-const, non-volatile, non-array object "
                  "type");

public:
    using value_type = T;
    using size_type = std::size_t;
    using difference_type = std::ptrdiff_t;
    using reference = T&;
    using const_reference = const T&;
    using pointer = T*;
    using const_pointer = const T*;
    using iterator = T*;
    using const_iterator = const T*;
    using reverse_iterator = std::reverse_iterator<iterator>;
    using const_reverse_iterator = std::reverse_iterator<const_iterator>;

    /// The commit step when stable_vector_options::commit_step is 0: 1 MiB, rounded up to whole
    /// pages (to whole huge pages where the reservation has them). Measured (see
    /// stable_vector_options): steps from 64 KiB to 16 MiB cost the same per element within the
    /// noise (about 3 to 3.5 ns: the page faults dominate, not the commits); 1 MiB makes 16 times
    /// fewer system calls than 64 KiB and commits at most 1 MiB that may never be used.
    static constexpr std::size_t default_commit_step = std::size_t(1) << 20;

    /// Empty: max_size() 0, capacity() 0; any growth throws std::length_error.
    stable_vector() noexcept = default;

    /// Reserves room for `max` elements (max * sizeof(T) bytes, rounded up to whole pages),
    /// committing nothing. `max` 0 reserves nothing: an empty vector, as the default.
    /// Throws: std::system_error with reserve's error (errc::size_overflow when max * sizeof(T)
    /// does not fit in the address space; invalid_option, huge_pages_unavailable, or the OS's
    /// not_enough_memory when no room that large is free).
    explicit stable_vector(size_type max, const stable_vector_options& options = {}) {
        std::error_code ec;
        initialize(max, options, ec);
        if (ec)
            throw std::system_error(ec, "vmem::stable_vector");
    }
    /// As above; on error *this is empty (max_size() 0) and `ec` says why.
    stable_vector(size_type max, const stable_vector_options& options,
                  std::error_code& ec) noexcept {
        initialize(max, options, ec);
    }
    /// Room for `max` elements, holding a copy of `init`. Throws: as above; std::length_error
    /// when init.size() > max; or what copying an element throws.
    stable_vector(size_type max, std::initializer_list<T> init,
                  const stable_vector_options& options = {})
        : stable_vector(max, options) {
        append_range(init.begin(), init.end());
    }
    /// Room for `max` elements, holding a copy of [first, last). Throws: as above.
    template <class InputIt, std::enable_if_t<detail::is_input_iterator<InputIt>::value, int> = 0>
    stable_vector(size_type max, InputIt first, InputIt last,
                  const stable_vector_options& options = {})
        : stable_vector(max, options) {
        append_range(first, last);
    }

    /// A copy: the same elements, max_size() and options, in a reservation of its own.
    stable_vector(const stable_vector& other) : stable_vector(other.max_, other.options_) {
        append_range(other.begin(), other.end());
    }
    /// Postconditions: `other` is empty (max_size() 0) and *this has what `other` had: the same
    /// elements at the same addresses, so pointers to them stay valid.
    stable_vector(stable_vector&& other) noexcept
        : res_(std::move(other.res_)), data_(other.data_), size_(other.size_),
          capacity_(other.capacity_), max_(other.max_), committed_(other.committed_),
          step_(other.step_), unit_(other.unit_), options_(other.options_) {
        other.data_ = nullptr;
        other.size_ = other.capacity_ = other.max_ = 0;
        other.committed_ = other.step_ = other.unit_ = 0;
    }
    /// Copy-and-swap: *this becomes a copy of `other` as by the copy constructor (its max_size()
    /// and options included) and releases what it had; on an exception nothing changes.
    /// To keep this vector's reservation and maximum, use assign(other.begin(), other.end()).
    stable_vector& operator=(const stable_vector& other) {
        if (this != &other) {
            stable_vector copy(other);
            this->swap(copy);
        }
        return *this;
    }
    /// Destroys what *this held and releases its reservation, then takes `other`'s.
    stable_vector& operator=(stable_vector&& other) noexcept {
        if (this != &other) {
            stable_vector gone(std::move(*this));
            this->swap(other);
        }
        return *this;
    }
    /// As assign(init).
    stable_vector& operator=(std::initializer_list<T> init) {
        assign(init.begin(), init.end());
        return *this;
    }
    /// Destroys the elements and releases the reservation.
    ~stable_vector() { destroy_from(0); }

    /// Replaces the elements with `count` copies of `value` (which must not be an element of
    /// *this), keeping max_size(). Throws: std::length_error when count > max_size(), with no
    /// effect; std::bad_alloc as growth does; what copying throws (basic guarantee).
    void assign(size_type count, const T& value) {
        if (count > max_)
            throw_length_error();
        growth_guard guard(*this);
        grow_to(count, true);
        const size_type common = (std::min)(count, size_);
        std::fill_n(data_, common, value);
        if (count > size_)
            append_copies(count - size_, value);
        else
            destroy_from(count);
        guard.dismiss();
    }
    /// Replaces the elements with a copy of [first, last) (not iterators into *this). Throws: as
    /// above. A forward range longer than max_size() is refused before anything changes; a
    /// single-pass input range is read once, so one that turns out too long throws after
    /// assigning over some elements (the basic guarantee).
    template <class InputIt, std::enable_if_t<detail::is_input_iterator<InputIt>::value, int> = 0>
    void assign(InputIt first, InputIt last) {
        if constexpr (std::is_base_of_v<
                          std::forward_iterator_tag,
                          typename std::iterator_traits<InputIt>::iterator_category>) {
            const size_type count = static_cast<size_type>(std::distance(first, last));
            if (count > max_)
                throw_length_error();
            growth_guard guard(*this);
            grow_to(count, true);
            size_type i = 0;
            for (; i < size_ && first != last; ++i, ++first)
                data_[i] = *first;
            if (first != last)
                append_range(first, last);
            else
                destroy_from(i);
            guard.dismiss();
        } else {
            size_type i = 0;
            for (; i < size_ && first != last; ++i, ++first)
                data_[i] = *first;
            if (first != last)
                append_range(first, last);
            else
                destroy_from(i);
        }
    }
    void assign(std::initializer_list<T> init) { assign(init.begin(), init.end()); }

    /// Element access. operator[], front() and back() require the element to exist; at() throws
    /// std::out_of_range when pos >= size().
    reference at(size_type pos) {
        if (pos >= size_)
            throw std::out_of_range("vmem::stable_vector::at: index out of range");
        return data_[pos];
    }
    const_reference at(size_type pos) const {
        if (pos >= size_)
            throw std::out_of_range("vmem::stable_vector::at: index out of range");
        return data_[pos];
    }
    reference operator[](size_type pos) noexcept { return data_[pos]; }
    const_reference operator[](size_type pos) const noexcept { return data_[pos]; }
    reference front() noexcept { return data_[0]; }
    const_reference front() const noexcept { return data_[0]; }
    reference back() noexcept { return data_[size_ - 1]; }
    const_reference back() const noexcept { return data_[size_ - 1]; }
    /// The first element: the base of the reservation (null when max_size() is 0).
    T* data() noexcept { return data_; }
    const T* data() const noexcept { return data_; }

    iterator begin() noexcept { return data_; }
    const_iterator begin() const noexcept { return data_; }
    const_iterator cbegin() const noexcept { return data_; }
    iterator end() noexcept { return data_ + size_; }
    const_iterator end() const noexcept { return data_ + size_; }
    const_iterator cend() const noexcept { return data_ + size_; }
    reverse_iterator rbegin() noexcept { return reverse_iterator(end()); }
    const_reverse_iterator rbegin() const noexcept { return const_reverse_iterator(end()); }
    const_reverse_iterator crbegin() const noexcept { return const_reverse_iterator(end()); }
    reverse_iterator rend() noexcept { return reverse_iterator(begin()); }
    const_reverse_iterator rend() const noexcept { return const_reverse_iterator(begin()); }
    const_reverse_iterator crend() const noexcept { return const_reverse_iterator(begin()); }

    bool empty() const noexcept { return size_ == 0; }
    size_type size() const noexcept { return size_; }
    /// The maximum given to the constructor (0 when default-constructed or moved from).
    size_type max_size() const noexcept { return max_; }
    /// The elements the committed pages hold, at most max_size().
    size_type capacity() const noexcept { return capacity_; }
    /// The commit step in bytes, after rounding (0 when max_size() is 0).
    std::size_t commit_step() const noexcept { return step_; }
    /// The reservation holding the elements (for contains(), committed_bytes(),
    /// huge_page_status(); do not commit, decommit or release through it).
    const vmem::reservation& reservation() const noexcept { return res_; }

    /// Commits room for `n` elements (rounded up to whole pages, not to the step), so that
    /// growth up to n makes no system call. Nothing happens when n <= capacity().
    /// Throws: std::length_error when n > max_size(); std::bad_alloc (or std::system_error) when
    /// the OS refuses the commit. Either way nothing changes.
    void reserve(size_type n) {
        std::error_code ec;
        reserve(n, ec);
        if (ec) {
            if (n > max_)
                throw_length_error();
            throw_commit_error(ec);
        }
    }
    /// As above, without exceptions: `ec` is std::errc::not_enough_memory when n > max_size()
    /// (as for a full arena; max_size() tells it from the OS's refusal), else the commit's error.
    void reserve(size_type n, std::error_code& ec) noexcept {
        ec.clear();
        if (n <= capacity_)
            return;
        if (n > max_) {
            ec = std::make_error_code(std::errc::not_enough_memory);
            return;
        }
        commit_for(n, false, ec);
    }

    /// Decommits the whole pages (huge pages, where the reservation has them) past the last
    /// element: they return to reserved (an access faults; memory and commit charge go back at
    /// once). capacity() becomes what the kept pages hold; with no element, nothing is kept.
    /// Throws: std::system_error when the OS refuses the decommit (on Linux the mapping limit
    /// can); nothing changes then.
    void shrink_to_fit() {
        std::error_code ec;
        shrink_to_fit(ec);
        if (ec)
            throw std::system_error(ec, "vmem::stable_vector::shrink_to_fit");
    }
    void shrink_to_fit(std::error_code& ec) noexcept {
        ec.clear();
        const std::size_t keep = in_units(size_ * sizeof(T));
        if (keep >= committed_)
            return;
        res_.decommit(base() + keep, committed_ - keep, ec);
        if (ec)
            return;
        set_committed(keep);
    }

    /// Destroys every element. capacity() and the committed pages stay (shrink_to_fit gives
    /// them back).
    void clear() noexcept { destroy_from(0); }

    /// Inserts before `pos` (an iterator into *this) and returns an iterator to the first element
    /// inserted (`pos` when none is). Elements before `pos` do not move; those after it are moved
    /// up by move assignment (std::rotate for several). Throws: std::length_error past
    /// max_size(), std::bad_alloc, or what T throws; see the class's exception guarantees.
    iterator insert(const_iterator pos, const T& value) { return emplace(pos, value); }
    iterator insert(const_iterator pos, T&& value) { return emplace(pos, std::move(value)); }
    iterator insert(const_iterator pos, size_type count, const T& value) {
        const size_type offset = index_of(pos);
        const size_type old_size = size_;
        append_copies(count, value);
        std::rotate(data_ + offset, data_ + old_size, data_ + size_);
        return data_ + offset;
    }
    template <class InputIt, std::enable_if_t<detail::is_input_iterator<InputIt>::value, int> = 0>
    iterator insert(const_iterator pos, InputIt first, InputIt last) {
        const size_type offset = index_of(pos);
        const size_type old_size = size_;
        append_range(first, last);
        std::rotate(data_ + offset, data_ + old_size, data_ + size_);
        return data_ + offset;
    }
    iterator insert(const_iterator pos, std::initializer_list<T> init) {
        return insert(pos, init.begin(), init.end());
    }
    /// Constructs an element from `args` before `pos`. In the middle, the new element is made
    /// first (so `args` may refer to elements of *this), the last element is move-constructed
    /// one place up, the others move-assigned, and the new one move-assigned into place.
    template <class... Args>
    iterator emplace(const_iterator pos, Args&&... args) {
        const size_type offset = index_of(pos);
        if (offset == size_) {
            emplace_back(std::forward<Args>(args)...);
            return data_ + offset;
        }
        growth_guard guard(*this);
        grow_to(size_ + 1, true);
        T made(std::forward<Args>(args)...);
        construct_at_end(std::move(data_[size_ - 1]));
        guard.dismiss();
        std::move_backward(data_ + offset, data_ + size_ - 2, data_ + size_ - 1);
        data_[offset] = std::move(made);
        return data_ + offset;
    }

    /// Removes [first, last) (or the one element at `pos`, which must exist), moving the elements
    /// after them down by move assignment; returns an iterator to the element that followed the
    /// last one removed. Capacity stays.
    iterator erase(const_iterator pos) { return erase(pos, pos + 1); }
    iterator erase(const_iterator first, const_iterator last) {
        const size_type from = index_of(first);
        const size_type to = index_of(last);
        if (from != to) {
            T* const new_end = std::move(data_ + to, data_ + size_, data_ + from);
            destroy_from(static_cast<size_type>(new_end - data_));
        }
        return data_ + from;
    }

    /// Appends an element at the end, committing the next step when size() == capacity(); never
    /// moves an element. emplace_back returns a reference to it (as since C++17). Throws:
    /// std::length_error when size() == max_size(), std::bad_alloc as growth does, or what T's
    /// constructor throws; with no effect.
    void push_back(const T& value) { emplace_back(value); }
    void push_back(T&& value) { emplace_back(std::move(value)); }
    template <class... Args>
    reference emplace_back(Args&&... args) {
        if (size_ != capacity_)
            return construct_at_end(std::forward<Args>(args)...);
        growth_guard guard(*this);
        grow_to(size_ + 1, true);
        T& made = construct_at_end(std::forward<Args>(args)...);
        guard.dismiss();
        return made;
    }
    /// Destroys the last element, which must exist.
    void pop_back() noexcept { destroy_from(size_ - 1); }

    /// Makes size() `count`: destroys the elements past it, or appends value-initialised
    /// elements (copies of `value`). Throws: std::length_error when count > max_size(), or as
    /// growth does; with no effect.
    void resize(size_type count) {
        if (count <= size_) {
            destroy_from(count);
            return;
        }
        if (count > max_)
            throw_length_error();
        growth_guard guard(*this);
        grow_to(count, true);
        const size_type old_size = size_;
        try {
            while (size_ < count)
                construct_at_end();
        } catch (...) {
            destroy_from(old_size);
            throw;
        }
        guard.dismiss();
    }
    void resize(size_type count, const T& value) {
        if (count <= size_)
            destroy_from(count);
        else
            append_copies(count - size_, value);
    }

    /// Exchanges everything, reservations included: no element moves, and pointers to elements
    /// now point into the other vector.
    void swap(stable_vector& other) noexcept {
        using std::swap;
        swap(res_, other.res_);
        swap(data_, other.data_);
        swap(size_, other.size_);
        swap(capacity_, other.capacity_);
        swap(max_, other.max_);
        swap(committed_, other.committed_);
        swap(step_, other.step_);
        swap(unit_, other.unit_);
        swap(options_, other.options_);
    }
    friend void swap(stable_vector& a, stable_vector& b) noexcept { a.swap(b); }

private:
    // Gives back, when the operation that made it throws, what the operation committed (the
    // growth of an operation with no effect has none either). A refused decommit is ignored
    // deliberately: the pages stay committed, and capacity() says so.
    class growth_guard {
    public:
        explicit growth_guard(stable_vector& v) noexcept : v_(&v), committed_(v.committed_) {}
        growth_guard(const growth_guard&) = delete;
        growth_guard& operator=(const growth_guard&) = delete;
        ~growth_guard() {
            if (v_ != nullptr)
                v_->give_back_past(committed_);
        }
        void dismiss() noexcept { v_ = nullptr; }

    private:
        stable_vector* v_;
        std::size_t committed_;
    };

    void initialize(size_type max, const stable_vector_options& options,
                    std::error_code& ec) noexcept {
        ec.clear();
        options_ = options;
        if (max == 0)
            return;
        if (max > (std::numeric_limits<std::size_t>::max)() / sizeof(T)) {
            ec = errc::size_overflow;
            return;
        }
        reserve_options ro;
        ro.huge = options.huge;
        if (alignof(T) > allocation_granularity())
            ro.alignment = alignof(T);
        vmem::reservation r(max * sizeof(T), ro, ec);
        if (ec)
            return;
        // The unit of commit and decommit: a page, or a huge page where the reservation has
        // them (committing or decommitting part of one would split it).
        std::size_t unit = page_size();
        if (options.huge != huge_pages::os_default && options.huge != huge_pages::never) {
            std::error_code hec;
            const huge_page_report report = r.huge_page_status(hec);
            if (!hec && report.page_size > unit)
                unit = report.page_size;
        }
        res_ = std::move(r);
        data_ = static_cast<T*>(res_.base());
        max_ = max;
        unit_ = unit;
        step_ =
            round_up_within(options.commit_step != 0 ? options.commit_step : default_commit_step,
                            unit_, res_.size());
    }

    unsigned char* base() const noexcept { return static_cast<unsigned char*>(res_.base()); }

    // Rounds `n` up to a multiple of `unit` (not necessarily a power of two), saturating at
    // `limit`.
    static std::size_t round_up_within(std::size_t n, std::size_t unit,
                                       std::size_t limit) noexcept {
        const std::size_t rest = n % unit;
        if (rest == 0)
            return n < limit ? n : limit;
        const std::size_t add = unit - rest;
        return n <= limit && add <= limit - n ? n + add : limit;
    }
    std::size_t in_units(std::size_t bytes) const noexcept {
        return unit_ == 0 ? 0 : round_up_within(bytes, unit_, res_.size());
    }

    void set_committed(std::size_t bytes) noexcept {
        committed_ = bytes;
        capacity_ = (std::min)(bytes / sizeof(T), max_);
    }

    // Commits room for `n` elements (capacity() < n <= max_size()), rounded up to the step or
    // to the unit. On error nothing changes.
    void commit_for(size_type n, bool to_step, std::error_code& ec) noexcept {
        const std::size_t target =
            round_up_within(n * sizeof(T), to_step ? step_ : unit_, res_.size());
        commit_options co;
        co.prefault = options_.prefault;
        res_.commit(base() + committed_, target - committed_, access::read_write, co, ec);
        if (!ec)
            set_committed(target);
    }

    // Makes capacity() at least `n`, or throws with nothing changed.
    void grow_to(size_type n, bool to_step) {
        if (n <= capacity_)
            return;
        if (n > max_)
            throw_length_error();
        std::error_code ec;
        commit_for(n, to_step, ec);
        if (ec)
            throw_commit_error(ec);
    }

    // Decommits what lies past both `old_committed` and the pages the elements use.
    void give_back_past(std::size_t old_committed) noexcept {
        std::size_t keep = in_units(size_ * sizeof(T));
        if (keep < old_committed)
            keep = old_committed;
        if (keep >= committed_)
            return;
        std::error_code ec;
        res_.decommit(base() + keep, committed_ - keep, ec);
        if (!ec) // a refusal is ignored: see growth_guard
            set_committed(keep);
    }

    [[noreturn]] static void throw_length_error() {
        throw std::length_error("vmem::stable_vector: growth past max_size()");
    }
    [[noreturn]] static void throw_commit_error(const std::error_code& ec) {
        if (ec == std::errc::not_enough_memory)
            throw std::bad_alloc();
        throw std::system_error(ec, "vmem::stable_vector: commit");
    }

    // Requires size() < capacity().
    template <class... Args>
    T& construct_at_end(Args&&... args) {
        T* made = ::new (static_cast<void*>(data_ + size_)) T(std::forward<Args>(args)...);
        ++size_;
        return *made;
    }

    void destroy_from(size_type n) noexcept {
        if constexpr (!std::is_trivially_destructible_v<T>) {
            while (size_ > n)
                data_[--size_].~T();
        }
        size_ = n < size_ ? n : size_;
    }

    size_type index_of(const_iterator pos) const noexcept {
        return static_cast<size_type>(pos - static_cast<const T*>(data_));
    }

    // Appends `count` copies of `value` (which may be an element: nothing moves), or throws
    // with no effect.
    void append_copies(size_type count, const T& value) {
        if (count > max_ - size_)
            throw_length_error();
        growth_guard guard(*this);
        grow_to(size_ + count, true);
        const size_type old_size = size_;
        try {
            for (; count > 0; --count)
                construct_at_end(value);
        } catch (...) {
            destroy_from(old_size);
            throw;
        }
        guard.dismiss();
    }

    // Appends a copy of [first, last), or throws with no effect.
    template <class InputIt>
    void append_range(InputIt first, InputIt last) {
        growth_guard guard(*this);
        const size_type old_size = size_;
        if constexpr (std::is_base_of_v<
                          std::forward_iterator_tag,
                          typename std::iterator_traits<InputIt>::iterator_category>) {
            const auto count = std::distance(first, last);
            if (count < 0 || static_cast<size_type>(count) > max_ - size_)
                throw_length_error();
            grow_to(size_ + static_cast<size_type>(count), true);
        }
        try {
            for (; first != last; ++first) {
                if (size_ == capacity_)
                    grow_to(size_ + 1, true);
                construct_at_end(*first);
            }
        } catch (...) {
            destroy_from(old_size);
            throw;
        }
        guard.dismiss();
    }

    vmem::reservation res_;
    T* data_ = nullptr;
    size_type size_ = 0;
    size_type capacity_ = 0;
    size_type max_ = 0;
    std::size_t committed_ = 0;
    std::size_t step_ = 0;
    std::size_t unit_ = 0;
    stable_vector_options options_;
};

/// Equal when the sizes are equal and the elements compare equal in order.
template <class T>
bool operator==(const stable_vector<T>& a, const stable_vector<T>& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}
template <class T>
bool operator!=(const stable_vector<T>& a, const stable_vector<T>& b) {
    return !(a == b);
}
/// Lexicographical order, with T's operator<.
template <class T>
bool operator<(const stable_vector<T>& a, const stable_vector<T>& b) {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
}
template <class T>
bool operator>(const stable_vector<T>& a, const stable_vector<T>& b) {
    return b < a;
}
template <class T>
bool operator<=(const stable_vector<T>& a, const stable_vector<T>& b) {
    return !(b < a);
}
template <class T>
bool operator>=(const stable_vector<T>& a, const stable_vector<T>& b) {
    return !(a < b);
}

} // namespace vmem

#endif
