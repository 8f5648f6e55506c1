// vmem POSIX backend: query, what the kernel says about the mappings around an address. Shared
// logic does not belong here (see src/platform.hpp).
//
// Linux: the PROCMAP_QUERY ioctl on /proc/self/maps (6.11+), a few calls per query; elsewhere, or
// when the testing switch asks (testing::use_procmap_query), /proc/self/maps read with read(2)
// into a stack buffer and parsed byte by byte, so a line may straddle two reads. macOS:
// mach_vm_region. Other systems: errc::not_supported.
//
// What a mapping's protection means here (one rule for every source):
// - no access at all: reserved when private (vmem's reservations, and decommitted pages, are
//   private PROT_NONE mappings; a committed page with access::none is one too, and no kernel
//   source tells them apart: capabilities::query_sees_committed_none is false); a shared mapping
//   with no access is committed with access::none (it has storage: a file or shared memory);
// - any access: committed. Write-only maps to read_write and execute-only to read_execute (with
//   write: read_write_execute): the nearest vmem access; the common CPUs grant read with either.
// Adjacent mappings with the same state and access are one run (the kernel keeps pages of one
// protection in several mappings when their other flags differ: accounting, locking, advice), so
// the run is the same whatever the kernel split. The shared layer bounds it to the reservation.
// A free address's run starts at its page and ends at the next mapping: no source says cheaply
// where a free range begins (nor does Windows's VirtualQuery), so no platform reports it.
#include "../platform.hpp"
#include "proc.hpp"

#include <vmem/error.hpp>

#include <cerrno>
#include <cstdint>

#if defined(__linux__)
#include <atomic>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>
#elif defined(__APPLE__)
#include <mach/mach.h>
#include <mach/mach_vm.h>
#endif

namespace vmem::detail::os {

namespace {

/// One run of pages: [lo, hi), with the state and access the rule above gives it.
struct run_of_pages {
    std::uintptr_t lo = 0;
    std::uintptr_t hi = 0;
    page_state state = page_state::free;
    access a = access::none;

    bool same_kind(const run_of_pages& o) const noexcept { return state == o.state && a == o.a; }
};

[[maybe_unused]] run_of_pages classify(std::uintptr_t lo, std::uintptr_t hi, bool read, bool write,
                                       bool execute, bool shared) noexcept {
    run_of_pages m;
    m.lo = lo;
    m.hi = hi;
    if (!read && !write && !execute) {
        m.state = shared ? page_state::committed : page_state::reserved;
        m.a = access::none;
        return m;
    }
    m.state = page_state::committed;
    if (write)
        m.a = execute ? access::read_write_execute : access::read_write;
    else
        m.a = execute ? access::read_execute : access::read;
    return m;
}

[[maybe_unused]] void fill(const run_of_pages& m, region& out) noexcept {
    out.base = reinterpret_cast<void*>(m.lo);
    out.size = m.hi - m.lo;
    out.state = m.state;
    out.access = m.a;
}

/// The free run from the page of `p` up to `next` (the next mapping's start; 0 when there is
/// none), and never past the top of the user address space when `p` is below it. Above it, free
/// to the end of the address space: what the kernel keeps there (x86-64's vsyscall page, listed in
/// /proc/self/maps but not by PROCMAP_QUERY) is no program's to map or release.
[[maybe_unused]] void fill_free(std::uintptr_t p, std::uintptr_t next, region& out) noexcept {
    const std::uintptr_t lo = p & ~(static_cast<std::uintptr_t>(page_size()) - 1);
    const std::uintptr_t limit = address_limit();
    if (lo >= limit)
        next = 0;
    else if (next == 0 || next > limit)
        next = limit;
    // next 0 here: to the end of the address space (the size wraps to fit)
    out.base = reinterpret_cast<void*>(lo);
    out.size = next - lo;
    out.state = page_state::free;
    out.access = access::none;
}

#if defined(__linux__)

bool fail(std::error_code& ec) noexcept {
    ec.assign(errno, std::system_category());
    return false;
}

/// An open /proc/self/maps, closed when this goes out of scope. Opened per query, never cached:
/// the file keeps the address space it was opened in, which after a fork is the parent's.
class maps_file {
public:
    maps_file() noexcept {
        do
            fd_ = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
        while (fd_ < 0 && errno == EINTR);
    }
    maps_file(const maps_file&) = delete;
    maps_file& operator=(const maps_file&) = delete;
    ~maps_file() {
        if (fd_ >= 0)
            close(fd_); // read-only: nothing to lose if it fails
    }
    int fd() const noexcept { return fd_; }

private:
    int fd_ = -1;
};

// --- PROCMAP_QUERY (Linux 6.11+, include/uapi/linux/fs.h; not in older headers) ---

/// The kernel's struct procmap_query: its ABI, field for field (104 bytes).
struct procmap_request {
    std::uint64_t size;          // in: sizeof this
    std::uint64_t query_flags;   // in
    std::uint64_t query_addr;    // in
    std::uint64_t vma_start;     // out
    std::uint64_t vma_end;       // out
    std::uint64_t vma_flags;     // out: the procmap_vma_* bits
    std::uint64_t vma_page_size; // out
    std::uint64_t vma_offset;    // out
    std::uint64_t inode;         // out
    std::uint32_t dev_major;     // out
    std::uint32_t dev_minor;     // out
    std::uint32_t vma_name_size; // in/out: 0, no name wanted
    std::uint32_t build_id_size; // in/out: 0, no build id wanted
    std::uint64_t vma_name_addr; // in
    std::uint64_t build_id_addr; // in
};
static_assert(sizeof(procmap_request) == 104, "the kernel's struct procmap_query");

constexpr unsigned long procmap_query_request = _IOWR('f', 17, procmap_request);
constexpr std::uint64_t procmap_vma_readable = 0x01;
constexpr std::uint64_t procmap_vma_writable = 0x02;
constexpr std::uint64_t procmap_vma_executable = 0x04;
constexpr std::uint64_t procmap_vma_shared = 0x08;
constexpr std::uint64_t procmap_covering_or_next = 0x10;

// 0 not tried yet, 1 works, -1 this kernel has no PROCMAP_QUERY (it does not come and go).
std::atomic<int> procmap_available{0};

enum class asked { found, none, unavailable, failed };

/// The mapping holding `p` (or, with `or_next`, the first one above it).
asked ask(int fd, std::uintptr_t p, bool or_next, run_of_pages& m, std::error_code& ec) noexcept {
    procmap_request q{};
    q.size = sizeof q;
    q.query_flags = or_next ? procmap_covering_or_next : 0;
    q.query_addr = p;
    int rc;
    do
        rc = ioctl(fd, procmap_query_request, &q);
    while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        if (errno == ENOENT)
            return asked::none;
        // ENOTTY before 6.11; EINVAL or E2BIG if the ABI ever disagrees with this struct.
        if (errno == ENOTTY || errno == EINVAL || errno == E2BIG)
            return asked::unavailable;
        fail(ec);
        return asked::failed;
    }
    m = classify(
        static_cast<std::uintptr_t>(q.vma_start), static_cast<std::uintptr_t>(q.vma_end),
        (q.vma_flags & procmap_vma_readable) != 0, (q.vma_flags & procmap_vma_writable) != 0,
        (q.vma_flags & procmap_vma_executable) != 0, (q.vma_flags & procmap_vma_shared) != 0);
    return asked::found;
}

/// Through PROCMAP_QUERY: the mapping holding p or the next, then its neighbours of the same kind
/// on either side. asked::unavailable sends the caller to the file.
asked query_by_ioctl(int fd, std::uintptr_t p, region& out, std::error_code& ec) noexcept {
    run_of_pages run;
    switch (ask(fd, p, true, run, ec)) {
    case asked::none:
        fill_free(p, 0, out);
        return asked::found;
    case asked::unavailable:
        return asked::unavailable;
    case asked::failed:
        return asked::failed;
    case asked::found:
        break;
    }
    if (run.lo > p) {
        fill_free(p, run.lo, out);
        return asked::found;
    }
    run_of_pages next;
    while (run.lo != 0) { // the mapping holding the byte below, if it is of the same kind
        const asked a = ask(fd, run.lo - 1, false, next, ec);
        if (a == asked::failed)
            return a;
        if (a != asked::found || next.hi != run.lo || !next.same_kind(run))
            break;
        run.lo = next.lo;
    }
    while (run.hi != 0) { // the mapping starting where the run ends (hi 0: the very top)
        const asked a = ask(fd, run.hi, false, next, ec);
        if (a == asked::failed)
            return a;
        if (a != asked::found || next.lo != run.hi || !next.same_kind(run))
            break;
        run.hi = next.hi;
    }
    fill(run, out);
    return asked::found;
}

// --- /proc/self/maps, parsed as it streams ---

/// Reads the lines of /proc/self/maps ("lo-hi rwxp offset dev inode path") one byte at a time,
/// so a line can straddle reads, and finds the run holding an address. Only the addresses and
/// the permissions are read; the rest of each line is skipped whatever its length.
class maps_parser {
public:
    explicit maps_parser(std::uintptr_t p) noexcept : p_(p), limit_(address_limit()) {}

    /// Feeds the next bytes. False once the answer is known (no more input needed).
    bool feed(const char* bytes, std::size_t n) noexcept {
        for (std::size_t i = 0; i < n; ++i)
            if (!take(bytes[i]))
                return false;
        return true;
    }

    /// After the last byte (or a false from feed): the answer. False if a line was malformed.
    bool finish(region& out) noexcept {
        if (malformed_)
            return false;
        if (found_)
            fill(run_, out);
        else
            fill_free(p_, next_, out); // next_ 0: no mapping above p
        return true;
    }

private:
    enum class field { lo, hi, permissions, rest };

    bool take(char c) noexcept {
        switch (field_) {
        case field::lo:
        case field::hi: {
            const char sep = field_ == field::lo ? '-' : ' ';
            if (c == sep && digits_ != 0) {
                if (field_ == field::lo) {
                    lo_ = value_;
                    field_ = field::hi;
                } else {
                    hi_ = value_;
                    field_ = field::permissions;
                }
                value_ = 0;
                digits_ = 0;
                return true;
            }
            const int d = hex(c);
            if (d < 0 || digits_ == 2 * sizeof(std::uintptr_t)) {
                malformed_ = true;
                return false;
            }
            value_ = value_ << 4 | static_cast<std::uintptr_t>(d);
            ++digits_;
            return true;
        }
        case field::permissions:
            if (digits_ < 4) {
                perm_[digits_++] = c;
                return true;
            }
            field_ = field::rest;
            return c == '\n' ? line() : true;
        case field::rest:
            return c == '\n' ? line() : true;
        }
        return true;
    }

    // The kernel prints addresses in lowercase hexadecimal (%lx).
    static int hex(char c) noexcept {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        return -1;
    }

    /// A whole line has been read: lo_, hi_, perm_. False when the answer is known.
    bool line() noexcept {
        field_ = field::lo;
        digits_ = 0;
        value_ = 0;
        if (lo_ >= limit_) // the kernel's own pages above the user address space: not mappings
            return false;
        const run_of_pages m =
            classify(lo_, hi_, perm_[0] == 'r', perm_[1] == 'w', perm_[2] == 'x', perm_[3] == 's');
        const bool joins = have_run_ && run_.hi == m.lo && run_.same_kind(m);
        if (found_) { // extending the run that holds p
            if (!joins)
                return false;
            run_.hi = m.hi;
            return true;
        }
        if (m.lo > p_) { // p lies in the gap below this mapping
            next_ = m.lo;
            return false;
        }
        if (joins)
            run_.hi = m.hi;
        else
            run_ = m;
        have_run_ = true;
        found_ = p_ < m.hi;
        return true;
    }

    std::uintptr_t p_;
    std::uintptr_t limit_;
    field field_ = field::lo;
    std::uintptr_t value_ = 0;
    unsigned digits_ = 0;
    std::uintptr_t lo_ = 0;
    std::uintptr_t hi_ = 0;
    char perm_[4] = {};
    run_of_pages run_; // the run of same-kind mappings that ends with the last line read
    bool have_run_ = false;
    bool found_ = false;
    std::uintptr_t next_ = 0;
    bool malformed_ = false;
};

/// `piece` is how much each read asks for: the whole buffer, or a few bytes under the testing
/// switch, so that lines straddle reads (the kernel hands out whole lines when they fit).
bool query_by_file(int fd, std::uintptr_t p, std::size_t piece, region& out,
                   std::error_code& ec) noexcept {
    char buffer[file_buffer_size];
    if (piece > sizeof buffer)
        piece = sizeof buffer;
    maps_parser parser(p);
    for (;;) {
        const ssize_t n = read(fd, buffer, piece);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return fail(ec);
        }
        if (n == 0 || !parser.feed(buffer, static_cast<std::size_t>(n)))
            break;
    }
    if (!parser.finish(out)) {
        ec = std::make_error_code(std::errc::bad_message);
        return false;
    }
    return true;
}

#elif defined(__APPLE__)

/// The region holding p, or the first above it; false when there is none.
bool ask(std::uintptr_t p, run_of_pages& m, kern_return_t& kr) noexcept {
    mach_vm_address_t address = p;
    mach_vm_size_t size = 0;
    vm_region_basic_info_data_64_t info{};
    mach_msg_type_number_t count = VM_REGION_BASIC_INFO_COUNT_64;
    mach_port_t object = MACH_PORT_NULL;
    kr = mach_vm_region(mach_task_self(), &address, &size, VM_REGION_BASIC_INFO_64,
                        reinterpret_cast<vm_region_info_t>(&info), &count, &object);
    if (object != MACH_PORT_NULL)
        mach_port_deallocate(mach_task_self(), object); // not used; given back at once
    if (kr != KERN_SUCCESS)
        return false;
    m = classify(static_cast<std::uintptr_t>(address), static_cast<std::uintptr_t>(address + size),
                 (info.protection & VM_PROT_READ) != 0, (info.protection & VM_PROT_WRITE) != 0,
                 (info.protection & VM_PROT_EXECUTE) != 0, info.shared != 0);
    return true;
}

#endif

} // namespace

bool query(const void* address, bool fast_source, region& out, std::error_code& ec) noexcept {
    const auto p = reinterpret_cast<std::uintptr_t>(address);
#if defined(__linux__)
    maps_file maps;
    if (maps.fd() < 0)
        return fail(ec);
    if (fast_source && procmap_available.load(std::memory_order_relaxed) >= 0) {
        switch (query_by_ioctl(maps.fd(), p, out, ec)) {
        case asked::found:
        case asked::none:
            procmap_available.store(1, std::memory_order_relaxed);
            return true;
        case asked::failed:
            return false;
        case asked::unavailable:
            procmap_available.store(-1, std::memory_order_relaxed);
            break;
        }
    }
    // Under the testing switch, reads of an odd few bytes, so that lines straddle them.
    return query_by_file(maps.fd(), p, fast_source ? file_buffer_size : 61, out, ec);
#elif defined(__APPLE__)
    (void)fast_source;
    // A kernel region is one vm_map entry; neighbours of the same kind are joined as on Linux.
    run_of_pages run;
    kern_return_t kr;
    if (!ask(p, run, kr)) {
        if (kr != KERN_INVALID_ADDRESS) { // KERN_INVALID_ADDRESS: no region at or above p
            ec = std::make_error_code(std::errc::io_error);
            return false;
        }
        fill_free(p, 0, out);
        return true;
    }
    if (run.lo > p) {
        fill_free(p, run.lo, out);
        return true;
    }
    run_of_pages next;
    while (run.lo != 0 && ask(run.lo - 1, next, kr) && next.hi == run.lo && next.same_kind(run))
        run.lo = next.lo;
    while (run.hi != 0 && ask(run.hi, next, kr) && next.lo == run.hi && next.same_kind(run))
        run.hi = next.hi;
    fill(run, out);
    return true;
#else
    (void)p;
    (void)fast_source;
    (void)out;
    ec = errc::not_supported;
    return false;
#endif
}

} // namespace vmem::detail::os
