// vmem: guarded blocks and stacks, built on the public API (vmem::reservation and vmem::guard).
#include <vmem/guarded.hpp>
#include <vmem/system.hpp>

#include <limits>
#include <utility>

namespace vmem {

namespace {

constexpr std::size_t size_max = std::numeric_limits<std::size_t>::max();

// `n` rounded up to whole pages, or false when that wraps.
bool round_to_pages(std::size_t n, std::size_t page, std::size_t& rounded) noexcept {
    if (n > size_max - (page - 1))
        return false;
    rounded = (n + (page - 1)) / page * page;
    return true;
}

} // namespace

guarded_block::guarded_block(std::size_t size, const guarded_options& options) {
    std::error_code ec;
    guarded_block made(size, options, ec);
    if (ec)
        throw std::system_error(ec, "vmem::guarded_block");
    swap(*this, made);
}

guarded_block::guarded_block(std::size_t size, const guarded_options& options,
                             std::error_code& ec) noexcept {
    ec.clear();
    const bool below = options.side == guard_side::before || options.side == guard_side::both;
    const bool above = options.side == guard_side::after || options.side == guard_side::both;
    if (!below && !above) {
        ec = errc::invalid_option;
        return;
    }
    if (size == 0 || options.guard_pages == 0) {
        ec = errc::zero_size;
        return;
    }
    const std::size_t page = page_size();
    std::size_t block = 0;
    if (!round_to_pages(size, page, block) || options.guard_pages > size_max / page) {
        ec = errc::size_overflow;
        return;
    }
    const std::size_t guard_bytes = options.guard_pages * page;
    const std::size_t guards = (below && above) ? 2 : 1;
    if (guard_bytes > (size_max - block) / guards) {
        ec = errc::size_overflow;
        return;
    }
    const std::size_t total = block + guards * guard_bytes;

    // Reserve and commit everything in one call, then guard the guard regions: with guard
    // markers (Linux 6.13+) the whole block stays one kernel mapping. Committing only the block
    // would split it from its guards on every kernel.
    reserve_options ro;
    ro.commit = true;
    ro.commit_access = access::read_write;
    reservation whole(total, ro, ec);
    if (ec)
        return;
    unsigned char* const base = static_cast<unsigned char*>(whole.base());
    unsigned char* const first = base + (below ? guard_bytes : 0);
    if (below)
        whole.guard(base, guard_bytes, ec);
    if (!ec && above)
        whole.guard(first + block, guard_bytes, ec);
    if (!ec && options.prefault) // the block is committed: this populates it, nothing else
        whole.commit(first, block, access::read_write, commit_options{true}, ec);
    if (ec)
        return; // `whole` releases everything
    swap(storage_, whole);
    data_ = first;
    size_ = block;
    guard_ = guard_bytes;
    side_ = options.side;
}

guarded_block::guarded_block(guarded_block&& other) noexcept
    : storage_(std::move(other.storage_)), data_(other.data_), size_(other.size_),
      guard_(other.guard_), side_(other.side_) {
    other.data_ = nullptr;
    other.size_ = 0;
    other.guard_ = 0;
    other.side_ = guard_side::after;
}

guarded_block& guarded_block::operator=(guarded_block&& other) noexcept {
    guarded_block old(std::move(other)); // other is empty now; old releases what *this held
    swap(*this, old);
    return *this;
}

void guarded_block::release(std::error_code& ec) noexcept {
    storage_.release(ec);
    if (ec)
        return;
    data_ = nullptr;
    size_ = 0;
    guard_ = 0;
    side_ = guard_side::after;
}

void guarded_block::release() {
    std::error_code ec;
    release(ec);
    if (ec)
        throw std::system_error(ec, "vmem::guarded_block::release");
}

namespace {

guarded_options as_block(const stack_options& options) noexcept {
    guarded_options o;
    o.side = guard_side::before; // a stack grows down: its overflow runs off the bottom
    o.guard_pages = options.guard_pages;
    o.prefault = options.prefault;
    return o;
}

} // namespace

guarded_stack::guarded_stack(std::size_t size, const stack_options& options) {
    std::error_code ec;
    guarded_block made(size, as_block(options), ec);
    if (ec)
        throw std::system_error(ec, "vmem::guarded_stack");
    block_ = std::move(made);
}

guarded_stack::guarded_stack(std::size_t size, const stack_options& options,
                             std::error_code& ec) noexcept
    : block_(size, as_block(options), ec) {}

void guarded_stack::release() {
    std::error_code ec;
    block_.release(ec);
    if (ec)
        throw std::system_error(ec, "vmem::guarded_stack::release");
}

} // namespace vmem
