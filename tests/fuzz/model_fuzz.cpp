// vmem fuzzing: a libFuzzer target that turns its input into a sequence of operations on up to
// three reservations (reserve with options, commit, decommit, protect, discard, guard, release,
// adopt, detach, writes, and range operations with vmem's failure seam armed), through the free
// functions and through vmem::reservation, in both error forms, with addresses and sizes that are
// often wrong on purpose. It keeps a model of every page (state, access, contents) and after each
// step checks, exactly:
// - the result: success, or the very error code the contract gives (README, <vmem/memory.hpp>);
// - vmem::query: every run of the pages of the reservation the step touched, state, access and
//   bounds, and committed_bytes() of an owned reservation;
// - the pages themselves: a sample probed for faults on read and write, and every readable page
//   of that reservation read back (contents survive unless the model says they are gone).
// On any disagreement it prints the divergence and traps, which libFuzzer saves as a crash.
//
// Linux only (libFuzzer with clang; preset `fuzz`, run by scripts/fuzz). VMEM_FUZZ_TRACE=1 in the
// environment prints every step, for reading a saved input.
#include <vmem/vmem.hpp>

#include "probe.hpp" // vmem_probe::is_unmapped: whether an address range is free, without vmem

#include <array>
#include <atomic>
#include <climits>
#include <csetjmp>
#include <csignal>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <errno.h>
#include <string_view>
#include <system_error>
#include <unistd.h>

namespace {

// ---------------------------------------------------------------------------------------------
// The fault probe. tests/support/probe.hpp has one too, but it installs and removes its handler
// around every touch (four system calls per probe); a fuzzer probes hundreds of pages per input,
// so this one installs its handler once and a touch that does not fault costs no system call.
// A fault that is not a probe's goes to the handler that was there before (libFuzzer's, which
// saves the input), else aborts (which libFuzzer also catches).

sigjmp_buf* volatile landing = nullptr;
struct sigaction previous_segv {
}, previous_bus{};

void on_fault(int sig, siginfo_t* info, void* context) {
    if (landing != nullptr)
        siglongjmp(*landing, 1);
    const struct sigaction& previous = sig == SIGSEGV ? previous_segv : previous_bus;
    if ((previous.sa_flags & SA_SIGINFO) != 0 && previous.sa_sigaction != nullptr) {
        previous.sa_sigaction(sig, info, context);
        return;
    }
    if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
        previous.sa_handler(sig);
        return;
    }
    static const char message[] = "model_fuzz: a fault outside the probe\n";
    (void)!write(2, message, sizeof message - 1);
    std::abort();
}

// After libFuzzer has installed its own handlers (it does so before the first input).
void install_probe() {
    struct sigaction act {};
    act.sa_sigaction = on_fault;
    sigemptyset(&act.sa_mask);
    // SA_NODEFER: the signal stays unblocked in the handler, so leaving it by siglongjmp needs
    // no mask to be restored, and sigsetjmp(…, 0) saves none (no system call per probe).
    act.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &act, &previous_segv);
    sigaction(SIGBUS, &act, &previous_bus);
}

// Reads the byte at p into out; false when the read faulted.
__attribute__((noinline)) bool probe_read(const unsigned char* p, unsigned char& out) {
    sigjmp_buf here;
    volatile unsigned char value = 0;
    if (sigsetjmp(here, 0) == 0) {
        landing = &here;
        std::atomic_signal_fence(std::memory_order_seq_cst);
        value = *static_cast<const volatile unsigned char*>(p);
        std::atomic_signal_fence(std::memory_order_seq_cst);
        landing = nullptr;
        out = value;
        return true;
    }
    landing = nullptr;
    return false;
}

// Writes back the byte at p (contents unchanged); false when the write (or the read) faulted.
__attribute__((noinline)) bool probe_write(unsigned char* p) {
    unsigned char old = 0;
    if (!probe_read(p, old))
        return false;
    sigjmp_buf here;
    if (sigsetjmp(here, 0) == 0) {
        landing = &here;
        std::atomic_signal_fence(std::memory_order_seq_cst);
        *static_cast<volatile unsigned char*>(p) = old;
        std::atomic_signal_fence(std::memory_order_seq_cst);
        landing = nullptr;
        return true;
    }
    landing = nullptr;
    return false;
}

// Fills [p, p+size) with `byte`; false when that faulted.
__attribute__((noinline)) bool probe_fill(unsigned char* p, std::size_t size, unsigned char byte) {
    sigjmp_buf here;
    if (sigsetjmp(here, 0) == 0) {
        landing = &here;
        std::atomic_signal_fence(std::memory_order_seq_cst);
        std::memset(p, byte, size);
        std::atomic_signal_fence(std::memory_order_seq_cst);
        landing = nullptr;
        return true;
    }
    landing = nullptr;
    return false;
}

// ---------------------------------------------------------------------------------------------
// What the machine is, asked once.

struct facts {
    std::size_t page = 0;
    std::size_t granularity = 0;
    unsigned address_bits = 0;
    std::size_t max_pages = 0; ///< per reservation
    bool write_execute = false;
    bool discard_zero_fills = false;
    bool guard_pages_free = false;
    bool query_sees_committed_none = false;
    bool fork_control = false;
    bool huge_choices = false; ///< whether prefer/require are modelled (see init)
    bool trace = false;
};
facts the;

// ---------------------------------------------------------------------------------------------
// The model.

constexpr std::size_t most_pages = 64;
constexpr int slot_count = 3;

enum class state : unsigned char { reserved, committed, guard };

/// What query reports for a page.
struct seen {
    vmem::page_state state = vmem::page_state::reserved;
    vmem::access access = vmem::access::none;
    bool operator==(const seen& o) const { return state == o.state && access == o.access; }
    bool operator!=(const seen& o) const { return !(*this == o); }
};

struct page {
    state s = state::reserved;
    vmem::access a = vmem::access::none; ///< when committed
    unsigned char fill = 0;              ///< every byte, when committed and known
    bool known = true;                   ///< false after a discard that need not zero
    seen guard_seen;                     ///< what query shows of a guard page
};

bool readable(const page& p) {
    return p.s == state::committed && p.a != vmem::access::none;
}
bool writable(const page& p) {
    return p.s == state::committed &&
           (p.a == vmem::access::read_write || p.a == vmem::access::read_write_execute);
}

seen appearance(const page& p) {
    if (p.s == state::guard)
        return p.guard_seen;
    if (p.s == state::reserved || (p.a == vmem::access::none && !the.query_sees_committed_none))
        return {};
    return {vmem::page_state::committed, p.a};
}

struct slot {
    bool live = false;
    unsigned char* base = nullptr;
    std::size_t pages = 0;
    vmem::reservation owner; ///< holds it when owned; empty for a reservation of vmem::reserve
    unsigned char* stale = nullptr; ///< the base of the last reservation released here
    std::array<page, most_pages> pg{};

    std::uintptr_t lo() const { return reinterpret_cast<std::uintptr_t>(base); }
    std::uintptr_t hi() const { return lo() + pages * the.page; }
    bool owned() const { return static_cast<bool>(owner); }
};

std::array<slot, slot_count> slots;
unsigned char outside[64]; // memory no reservation holds

int step_number = 0;

const char* name(vmem::access a) {
    switch (a) {
    case vmem::access::none:
        return "none";
    case vmem::access::read:
        return "read";
    case vmem::access::read_write:
        return "read_write";
    case vmem::access::read_execute:
        return "read_execute";
    case vmem::access::read_write_execute:
        return "read_write_execute";
    }
    return "(invalid)";
}

const char* name(vmem::page_state s) {
    switch (s) {
    case vmem::page_state::free:
        return "free";
    case vmem::page_state::reserved:
        return "reserved";
    case vmem::page_state::committed:
        return "committed";
    }
    return "?";
}

// One letter per page: . reserved, G guard, committed n r w x X (none, read, read_write,
// read_execute, read_write_execute).
char letter(const page& p) {
    if (p.s != state::committed)
        return p.s == state::guard ? 'G' : '.';
    switch (p.a) {
    case vmem::access::none:
        return 'n';
    case vmem::access::read:
        return 'r';
    case vmem::access::read_write:
        return 'w';
    case vmem::access::read_execute:
        return 'x';
    case vmem::access::read_write_execute:
        return 'X';
    }
    return '?';
}

[[noreturn]] __attribute__((format(printf, 1, 2))) void diverged(const char* format, ...) {
    std::fprintf(stderr, "model_fuzz: DIVERGENCE at step %d: ", step_number);
    va_list args;
    va_start(args, format);
    std::vfprintf(stderr, format, args);
    va_end(args);
    std::fputc('\n', stderr);
    for (int i = 0; i < slot_count; ++i) {
        const slot& s = slots[static_cast<std::size_t>(i)];
        if (!s.live)
            continue;
        std::fprintf(stderr, "  slot %d: %p, %zu pages, %s:", i, static_cast<void*>(s.base),
                     s.pages, s.owned() ? "owned" : "unowned");
        for (std::size_t k = 0; k < s.pages; ++k) {
            const page& p = s.pg[k];
            std::fputc(letter(p), stderr);
        }
        std::fputc('\n', stderr);
    }
    __builtin_trap();
}

__attribute__((format(printf, 1, 2))) void trace(const char* format, ...) {
    if (!the.trace)
        return;
    std::fprintf(stderr, "[%d] ", step_number);
    va_list args;
    va_start(args, format);
    std::vfprintf(stderr, format, args);
    va_end(args);
    std::fputc('\n', stderr);
}

std::string_view code_text(const std::error_code& ec, char* buf, std::size_t n) {
    if (!ec)
        return "success";
    std::snprintf(buf, n, "%s:%d (%s)", ec.category().name(), ec.value(), ec.message().c_str());
    return buf;
}

// The result must be exactly `want` (an empty code: success).
void expect(const char* what, const std::error_code& got, const std::error_code& want) {
    if (got == want && got.category() == want.category())
        return;
    char a[160], b[160];
    diverged("%s returned %s, the model expects %s", what, code_text(got, a, sizeof a).data(),
             code_text(want, b, sizeof b).data());
}

// ---------------------------------------------------------------------------------------------
// The input.

struct input {
    const std::uint8_t* p;
    std::size_t n;
    std::uint8_t byte() {
        if (n == 0)
            return 0;
        --n;
        return *p++;
    }
};

// An address for an operation: in, around or far from slot t, or one that is wrong on purpose.
unsigned char* pick_address(std::uint8_t mode_byte, std::uint8_t offset_byte, int& t) {
    t = mode_byte % slot_count;
    const unsigned kind = (mode_byte / slot_count) % 8;
    // An address in a reservation needs one: the next live slot, if slot t is empty.
    for (int k = 1; k < slot_count && !slots[static_cast<std::size_t>(t)].live && kind != 3; ++k)
        if (slots[static_cast<std::size_t>((t + k) % slot_count)].live)
            t = (t + k) % slot_count;
    const slot& s = slots[static_cast<std::size_t>(t)];
    unsigned char* base = s.live ? s.base : s.stale;
    const std::size_t pages = s.live ? s.pages : 1;
    const std::size_t pg = the.page;
    switch (kind) {
    case 2:
        return nullptr;
    case 3: // a released reservation (or, live, its base)
        base = s.stale != nullptr ? s.stale : base;
        return base == nullptr ? nullptr : base + (offset_byte % 4) * pg;
    case 5: // at the top of the address space: wraps with any size
        return reinterpret_cast<unsigned char*>(UINTPTR_MAX - (offset_byte % 3) * pg -
                                                offset_byte % 7);
    case 6: // memory that is not a reservation
        return outside + offset_byte % sizeof outside;
    default:
        break;
    }
    if (base == nullptr)
        return outside;
    switch (kind) {
    case 0: // a page boundary, up to the end
        return base + (offset_byte % (pages + 1)) * pg;
    case 1: // inside a page
        return base + (offset_byte % pages) * pg + 1 + (offset_byte * 37u) % (pg - 1);
    case 4: // just before the reservation
        return base - (1 + offset_byte % 2) * pg;
    default: // a page inside
        return base + (offset_byte % pages) * pg;
    }
}

// A size for an operation at `at`, often wrong on purpose.
std::size_t pick_size(std::uint8_t mode_byte, std::uint8_t count_byte, const unsigned char* at,
                      int t) {
    const std::size_t pg = the.page;
    const std::size_t count = 1 + count_byte % the.max_pages;
    const slot& s = slots[static_cast<std::size_t>(t)];
    const auto a = reinterpret_cast<std::uintptr_t>(at);
    switch (mode_byte % 8) {
    case 1: // not a whole number of pages
        return count_byte % 2 == 0 ? count * pg - 1 - count_byte % (pg - 1) : count * pg + 1;
    case 2:
        return 0;
    case 3:
        return SIZE_MAX - count_byte % 3;
    case 4: // address + size wraps to 0, or ends in the last page (whose round-up wraps)
        return static_cast<std::size_t>(0 - a) - (count_byte % 2 == 0 ? 0 : pg / 2);
    case 5: // to the end of the reservation
        return s.live && a >= s.lo() && a < s.hi() ? s.hi() - a : count * pg;
    case 6: // a page past the end of the reservation
        return s.live && a >= s.lo() && a < s.hi() ? s.hi() - a + pg : count * pg + pg;
    case 7: // a few bytes
        return 1 + count_byte % 32;
    default:
        return count * pg;
    }
}

vmem::access pick_access(std::uint8_t b) {
    using vmem::access;
    switch (b % 8) {
    case 0:
        return access::none;
    case 1:
        return access::read;
    case 3:
        return the.write_execute ? access::read_execute : access::read;
    case 4:
        return the.write_execute ? access::read_write_execute : access::read_write;
    case 5:
        return static_cast<access>(2u); // write-only: not an access
    case 6:
        return static_cast<access>(0x80000000u);
    default:
        return access::read_write;
    }
}

// ---------------------------------------------------------------------------------------------
// The model's answers.

/// The range as vmem's shared layer checks it: null, zero size, wrap-around, the access value.
bool range_error(const void* addr, std::size_t size, const vmem::access* a, std::uintptr_t& lo,
                 std::uintptr_t& hi, std::error_code& want) {
    if (addr == nullptr) {
        want = vmem::errc::null_address;
        return true;
    }
    if (size == 0) {
        want = vmem::errc::zero_size;
        return true;
    }
    const auto first = reinterpret_cast<std::uintptr_t>(addr);
    const std::uintptr_t mask = the.page - 1;
    if (size > UINTPTR_MAX - first || first + size > UINTPTR_MAX - mask) {
        want = vmem::errc::size_overflow;
        return true;
    }
    if (a != nullptr && !vmem::is_valid(*a)) {
        want = vmem::errc::invalid_access;
        return true;
    }
    lo = first & ~mask;
    hi = (first + size + mask) & ~mask;
    return false;
}

slot* holding(std::uintptr_t p) {
    for (slot& s : slots)
        if (s.live && p >= s.lo() && p < s.hi())
            return &s;
    return nullptr;
}

/// Where a range operation lands: the slot and its pages [first, last), or the error.
/// `member` of slot t: through slots[t].owner; else the free function.
slot* locate(bool member, int t, const void* addr, std::size_t size, const vmem::access* a,
             std::size_t& first, std::size_t& last, std::error_code& want) {
    std::uintptr_t lo = 0, hi = 0;
    slot* s = nullptr;
    if (member) {
        s = &slots[static_cast<std::size_t>(t)];
        if (!s->owned()) {
            want = vmem::errc::empty_reservation;
            return nullptr;
        }
        if (range_error(addr, size, a, lo, hi, want))
            return nullptr;
        if (!(lo >= s->lo() && hi <= s->hi())) {
            want = vmem::errc::outside_reservation;
            return nullptr;
        }
    } else {
        if (range_error(addr, size, a, lo, hi, want))
            return nullptr;
        s = holding(lo);
        if (s == nullptr) {
            want = vmem::errc::not_reserved;
            return nullptr;
        }
        if (hi > s->hi()) {
            want = holding(hi - 1) != nullptr ? vmem::errc::spans_reservations
                                              : vmem::errc::outside_reservation;
            return nullptr;
        }
    }
    want.clear();
    first = (lo - s->lo()) / the.page;
    last = (hi - s->lo()) / the.page;
    return s;
}

// ---------------------------------------------------------------------------------------------
// The checks after each step.

// query, run by run, and committed_bytes.
void check_query(const slot& s) {
    if (!s.live)
        return;
    const std::size_t pg = the.page;
    if (s.owned()) {
        std::size_t committed = 0;
        for (std::size_t i = 0; i < s.pages; ++i)
            committed += s.pg[i].s == state::committed ? pg : 0;
        if (s.owner.committed_bytes() != committed || s.owner.base() != s.base ||
            s.owner.size() != s.pages * pg)
            diverged("reservation %p: committed_bytes %zu, size %zu; the model %zu, %zu",
                     static_cast<void*>(s.base), s.owner.committed_bytes(), s.owner.size(),
                     committed, s.pages * pg);
    }
    for (std::size_t i = 0; i < s.pages;) {
        const seen want = appearance(s.pg[i]);
        std::size_t end = i + 1;
        while (end < s.pages && appearance(s.pg[end]) == want)
            ++end;
        std::error_code ec;
        const vmem::region got = vmem::query(s.base + i * pg, ec);
        if (ec || got.state != want.state || got.access != want.access ||
            got.base != s.base + i * pg || got.size != (end - i) * pg ||
            got.reservation != s.base) {
            char a[160];
            diverged("query(page %zu of %p): %s %s/%s at page %td, %zu pages, reservation %p; "
                     "the model %s/%s, pages %zu..%zu",
                     i, static_cast<void*>(s.base), code_text(ec, a, sizeof a).data(),
                     name(got.state), name(got.access),
                     (static_cast<unsigned char*>(got.base) - s.base) /
                         static_cast<std::ptrdiff_t>(pg),
                     got.size / pg, got.reservation, name(want.state), name(want.access), i, end);
        }
        i = end;
    }
}

// Page i of s: faults as the model says (a faulting probe costs a signal: only when `faults`),
// and, readable, holds what the model says.
void check_page(const slot& s, std::size_t i, bool faults) {
    const page& p = s.pg[i];
    unsigned char* at = s.base + i * the.page;
    const std::size_t pg = the.page;
    if (readable(p)) {
        const std::size_t offsets[] = {0, pg / 2, pg - 1, (i * 131) % pg};
        for (std::size_t off : offsets) {
            unsigned char b = 0;
            if (!probe_read(at + off, b))
                diverged("page %zu of %p faults on read; the model says %s", i,
                         static_cast<void*>(s.base), name(p.a));
            if (p.known && b != p.fill)
                diverged("page %zu of %p: byte %zu reads %u, the model %u", i,
                         static_cast<void*>(s.base), off, b, p.fill);
        }
    } else if (faults) {
        unsigned char b = 0;
        if (probe_read(at + (i * 7) % pg, b))
            diverged("page %zu of %p can be read; the model says it faults (%s)", i,
                     static_cast<void*>(s.base),
                     p.s == state::guard      ? "guard"
                     : p.s == state::reserved ? "reserved"
                                              : "committed, none");
    }
    if (writable(p)) {
        if (!probe_write(at + (i * 13) % pg))
            diverged("page %zu of %p faults on write; the model says %s", i,
                     static_cast<void*>(s.base), name(p.a));
    } else if (faults && readable(p)) {
        if (probe_write(at + (i * 13) % pg))
            diverged("page %zu of %p can be written; the model says %s", i,
                     static_cast<void*>(s.base), name(p.a));
    }
}

// Every readable and writable page of s (no signal), and the pages that should fault among the
// ones the step touched, its ends, and one the input picks.
void check_pages(const slot& s, std::size_t first, std::size_t last, std::uint8_t pick) {
    if (!s.live)
        return;
    for (std::size_t i = 0; i < s.pages; ++i) {
        const bool sampled = i == first || (last > first && i == last - 1) ||
                             i == (first + last) / 2 || i == 0 || i == s.pages - 1 ||
                             i == pick % s.pages;
        check_page(s, i, sampled);
    }
}

// A reservation gone: query sees free memory there, and no vmem reservation.
void check_released(const unsigned char* base) {
    std::error_code ec;
    const vmem::region r = vmem::query(base, ec);
    if (ec || r.reservation != nullptr || r.state != vmem::page_state::free)
        diverged("released %p: query says %s, reservation %p", static_cast<const void*>(base),
                 name(r.state), r.reservation);
}

// ---------------------------------------------------------------------------------------------
// The operations. Each returns the slot it touched (for the checks), or null.

// Calls `noexcept_form(ec)` or, with `throwing`, `throwing_form()` catching the system_error, and
// returns the code either way.
template <class E, class T>
std::error_code call(bool throwing, E noexcept_form, T throwing_form) {
    std::error_code ec;
    if (!throwing) {
        ec = std::make_error_code(std::errc::interrupted); // must be cleared on success
        noexcept_form(ec);
        return ec;
    }
    try {
        throwing_form();
    } catch (const std::system_error& e) {
        ec = e.code();
        if (!ec)
            diverged("a std::system_error without an error code: %s", e.what());
    }
    return ec;
}

// Gives the writable pages of [first, last) contents of their own, so that every step has
// contents to lose: each page a byte derived from the step and the page.
void fill_writable(slot& s, std::size_t first, std::size_t last) {
    for (std::size_t i = first; i < last; ++i) {
        page& p = s.pg[i];
        if (!writable(p))
            continue;
        const auto fill = static_cast<unsigned char>(1 + (step_number * 7 + i) % 255);
        if (!probe_fill(s.base + i * the.page, the.page, fill))
            diverged("page %zu of %p faults on write; the model says %s", i,
                     static_cast<void*>(s.base), name(p.a));
        p.fill = fill;
        p.known = true;
    }
}

void op_reserve(input& in, std::uint8_t form) {
    int t = in.byte() % slot_count;
    for (int k = 1; k < slot_count && slots[static_cast<std::size_t>(t)].live; ++k)
        t = (t + 1) % slot_count; // the next empty slot
    const std::uint8_t size_mode = in.byte();
    const std::uint8_t count_byte = in.byte();
    const std::uint8_t where = in.byte();
    const std::uint8_t align_mode = in.byte();
    const std::uint8_t bits = in.byte();
    const std::uint8_t access_byte = in.byte();
    slot& s = slots[static_cast<std::size_t>(t)];
    if (s.live)
        return; // every slot is taken: nothing to do
    const std::size_t pg = the.page;
    const std::size_t count = 1 + count_byte % the.max_pages;
    std::size_t size = count * pg;
    switch (size_mode % 6) {
    case 1:
        size = count * pg - 1 - count_byte % (pg - 1);
        break;
    case 2:
        size = 0;
        break;
    case 3:
        size = count_byte % 2 == 0 ? SIZE_MAX : SIZE_MAX - pg + 2;
        break;
    case 4:
        size = std::size_t{1} << (sizeof(std::size_t) * CHAR_BIT - 2);
        break;
    default:
        break;
    }

    vmem::reserve_options o;
    // Where: nothing, a released reservation's base, a live reservation, past the user space.
    const slot& other = slots[static_cast<std::size_t>((where / 8) % slot_count)];
    switch (where % 8) {
    case 1:
        o.at = vmem::placement::exact; // without an address
        break;
    case 2:
    case 3:
        o.address = other.stale;
        o.at = where % 8 == 2 ? vmem::placement::exact : vmem::placement::prefer;
        break;
    case 4:
        o.address = other.live ? other.base : nullptr;
        o.at = vmem::placement::exact;
        break;
    case 5:
        o.address = other.live ? other.base + (where % other.pages) * pg : other.stale;
        o.at = vmem::placement::prefer;
        break;
    case 6:
        o.address = reinterpret_cast<void*>(std::uintptr_t{1} << 60);
        o.at = (where / 24) % 2 == 0 ? vmem::placement::exact : vmem::placement::prefer;
        break;
    case 7:
        o.at = static_cast<vmem::placement>(5); // not a placement
        break;
    default:
        break;
    }
    if (o.address != nullptr && (where / 64) % 2 == 1) // not on a page boundary: rounded down
        o.address = static_cast<unsigned char*>(o.address) + 1 + where % (pg - 1);
    const std::size_t gran = the.granularity;
    switch (align_mode % 8) {
    case 1:
        o.alignment = 1; // below the granularity: raised to it
        break;
    case 2:
        o.alignment = 2 * gran;
        break;
    case 3:
        o.alignment = 16 * gran;
        break;
    case 4:
        o.alignment = 3 * gran; // not a power of two
        break;
    case 5:
        o.alignment = std::size_t{1} << the.address_bits; // as large as the address space
        break;
    case 6:
        o.alignment = std::size_t{1} << (sizeof(std::size_t) * CHAR_BIT - 1);
        break;
    case 7:
        o.alignment = 4 * gran;
        break;
    default:
        break;
    }
    o.commit = (bits & 1) != 0;
    o.prefault = (bits & 2) != 0;
    o.commit_access = pick_access(access_byte);
    switch ((bits >> 2) & 7) {
    case 1:
        o.huge = vmem::huge_pages::never;
        break;
    case 2:
        o.huge = the.huge_choices ? vmem::huge_pages::prefer : vmem::huge_pages::never;
        break;
    case 3:
        o.huge = the.huge_choices ? vmem::huge_pages::require : vmem::huge_pages::os_default;
        break;
    case 4:
        o.huge = static_cast<vmem::huge_pages>(9);
        break;
    default:
        break;
    }
    switch ((bits >> 5) & 3) {
    case 1:
        o.fork = the.fork_control ? vmem::fork_policy::dont_fork : vmem::fork_policy::inherit;
        break;
    case 2:
        o.fork = the.fork_control ? vmem::fork_policy::zero_on_fork : vmem::fork_policy::inherit;
        break;
    case 3:
        o.fork = static_cast<vmem::fork_policy>(7);
        break;
    default:
        break;
    }
    o.executable = (bits & 0x80) != 0;

    // The model's answer, in the contract's order.
    std::error_code want;
    const bool exact = o.at == vmem::placement::exact;
    const std::uintptr_t top = std::uintptr_t{1} << the.address_bits; // the limit, to a page
    const bool valid_huge = static_cast<unsigned>(o.huge) <= 3;
    const bool valid_fork = static_cast<unsigned>(o.fork) <= 2;
    std::size_t align = o.alignment < gran ? gran : o.alignment;
    std::uintptr_t hint = 0;
    bool hint_free = false;
    if (size == 0)
        want = vmem::errc::zero_size;
    else if (o.at != vmem::placement::prefer && !exact)
        want = vmem::errc::invalid_placement;
    else if (exact && o.address == nullptr)
        want = vmem::errc::null_address;
    else if (o.alignment != 0 &&
             ((o.alignment & (o.alignment - 1)) != 0 || o.alignment >= top - pg))
        want = vmem::errc::invalid_alignment;
    else if (o.commit && !vmem::is_valid(o.commit_access))
        want = vmem::errc::invalid_access;
    else if (!valid_huge || !valid_fork || (o.prefault && !o.commit))
        want = vmem::errc::invalid_option;
    else if (size > top - pg)
        want = vmem::errc::size_overflow;
    else if (o.huge == vmem::huge_pages::require) // no pool pages, smaller than one THP (init)
        want = vmem::errc::huge_pages_unavailable;
    else {
        hint = reinterpret_cast<std::uintptr_t>(o.address) & ~(align - 1);
        const std::size_t rounded = (size + pg - 1) & ~(pg - 1);
        const bool ownable = hint != 0 && hint < top - pg && rounded <= top - pg - hint;
        if (!ownable)
            hint = 0;
        hint_free = hint != 0 && vmem_probe::is_unmapped(reinterpret_cast<void*>(hint), rounded);
        if (exact && !hint_free)
            want = vmem::errc::address_unavailable;
    }

    const bool member = (form & 2) != 0;
    const bool throwing = (form & 1) != 0;
    void* base = nullptr;
    vmem::reservation made;
    const std::error_code got =
        member ? call(
                     throwing,
                     [&](std::error_code& ec) {
                         made = vmem::reservation(size, o, ec);
                         base = made.base();
                     },
                     [&] {
                         made = vmem::reservation(size, o);
                         base = made.base();
                     })
               : call(
                     throwing, [&](std::error_code& ec) { base = vmem::reserve(size, o, ec); },
                     [&] { base = vmem::reserve(size, o); });
    trace("reserve%s%s(%zu, address %p %s, alignment %zu, commit %d %s, prefault %d, huge %u, "
          "fork %u, executable %d) -> %p",
          member ? " (owned)" : "", throwing ? " (throwing)" : "", size, o.address,
          exact ? "exact" : "prefer", o.alignment, o.commit, name(o.commit_access), o.prefault,
          static_cast<unsigned>(o.huge), static_cast<unsigned>(o.fork), o.executable, base);
    expect("reserve", got, want);
    if (got) {
        if (base != nullptr || made)
            diverged("a failed reserve returned %p", base);
        return;
    }
    const auto b = reinterpret_cast<std::uintptr_t>(base);
    if (base == nullptr || b % align != 0)
        diverged("reserve returned %p, not aligned to %zu", base, align);
    if (hint != 0 && hint_free && b != hint)
        diverged("reserve at a free %s address %p returned %p", exact ? "exact" : "preferred",
                 reinterpret_cast<void*>(hint), base);
    if (hint != 0 && !hint_free && b == hint)
        diverged("reserve returned %p, which was taken", base);
    if (holding(b) != nullptr || holding(b + size - 1) != nullptr)
        diverged("reserve returned %p, over a live reservation", base);
    s.live = true;
    s.base = static_cast<unsigned char*>(base);
    s.pages = (size + pg - 1) / pg;
    s.owner = std::move(made);
    for (std::size_t i = 0; i < s.pages; ++i) {
        page& p = s.pg[i];
        p = page{};
        if (o.commit) {
            p.s = state::committed;
            p.a = o.commit_access;
        }
    }
    check_query(s);
    check_pages(s, 0, s.pages, bits);
    fill_writable(s, 0, s.pages);
}

enum class range_op { commit, commit_prefault, decommit, protect, discard, guard, write };

// vmem's failure seam (<vmem/testing.hpp>) as op_armed set it: which kind, the mode, the error,
// and how many more calls of that kind reach the OS before the one that fails.
struct seam_model {
    bool active = false;
    range_op op = range_op::commit; ///< the kind (commit stands for both commits)
    bool after_part = false;
    unsigned skip = 0;
    std::error_code error;
};
seam_model armed;

vmem::testing::os_call kind_of(range_op op) {
    using vmem::testing::os_call;
    switch (op) {
    case range_op::decommit:
        return os_call::decommit;
    case range_op::protect:
        return os_call::protect;
    case range_op::discard:
        return os_call::discard;
    case range_op::guard:
        return os_call::guard;
    default:
        return os_call::commit;
    }
}

const char* name(range_op op) {
    switch (op) {
    case range_op::commit:
        return "commit";
    case range_op::commit_prefault:
        return "commit(prefault)";
    case range_op::decommit:
        return "decommit";
    case range_op::protect:
        return "protect";
    case range_op::discard:
        return "discard";
    case range_op::guard:
        return "guard";
    case range_op::write:
        return "write";
    }
    return "?";
}

void op_range(input& in, range_op op, std::uint8_t form) {
    int t = 0;
    const std::uint8_t mode = in.byte();
    unsigned char* at = pick_address(mode, in.byte(), t);
    const std::uint8_t size_mode = in.byte();
    const std::size_t size = pick_size(size_mode, in.byte(), at, t);
    const std::uint8_t extra = in.byte();
    const vmem::access a = pick_access(extra);
    const bool member = (form & 2) != 0;
    const bool throwing = (form & 1) != 0;

    std::size_t first = 0, last = 0;
    std::error_code want;
    const bool takes_access =
        op == range_op::commit || op == range_op::commit_prefault || op == range_op::protect;
    slot* s = locate(member, t, at, size, takes_access ? &a : nullptr, first, last, want);
    const bool located = s != nullptr;

    if (op == range_op::write) { // not vmem: the model's pattern into the writable pages
        if (s == nullptr || want)
            return;
        const unsigned char fill = static_cast<unsigned char>(1 + extra % 255);
        trace("write %u to pages %zu..%zu of %p", fill, first, last, static_cast<void*>(s->base));
        for (std::size_t i = first; i < last; ++i) {
            page& p = s->pg[i];
            if (!writable(p))
                continue;
            if (!probe_fill(s->base + i * the.page, the.page, fill))
                diverged("page %zu of %p faults on write; the model says %s", i,
                         static_cast<void*>(s->base), name(p.a));
            p.fill = fill;
            p.known = true;
        }
        check_pages(*s, first, last, extra);
        return;
    }

    // The operation's own rules, on the pages it covers.
    if (s != nullptr) {
        bool any_guard = false, all_committed = true;
        for (std::size_t i = first; i < last; ++i) {
            any_guard = any_guard || s->pg[i].s == state::guard;
            all_committed = all_committed && s->pg[i].s == state::committed;
        }
        switch (op) {
        case range_op::commit:
        case range_op::commit_prefault:
            if (any_guard)
                want = vmem::errc::guard_page;
            break;
        case range_op::protect:
        case range_op::discard:
            if (any_guard)
                want = vmem::errc::guard_page;
            else if (!all_committed)
                want = vmem::errc::not_committed;
            break;
        default:
            break;
        }
    }

    // The armed seam: whether this call consults it (passes vmem's own checks that come first),
    // and then whether it skips or fails. `before`: commit (without prefault), decommit and guard
    // consult it right after the range checks, protect, discard and a prefaulting commit after
    // their own checks too. `after_part`: the system call of that kind, reached when every check
    // passed; guard makes one only where it installs markers (else it remaps: no guard call).
    bool fired = false;
    if (armed.active && kind_of(op) == kind_of(armed.op)) {
        bool consults = !want;
        if (!armed.after_part &&
            (op == range_op::commit || op == range_op::decommit || op == range_op::guard))
            consults = located;
        if (armed.after_part && op == range_op::guard)
            consults = consults && the.guard_pages_free;
        if (consults && armed.skip > 0) {
            --armed.skip;
        } else if (consults) {
            fired = true;
            armed.active = false;
            // A guard whose markers are refused partway falls back to a remap, and succeeds.
            want = armed.after_part && op == range_op::guard ? std::error_code{} : armed.error;
        }
    }

    vmem::reservation& owner = slots[static_cast<std::size_t>(t)].owner;
    const vmem::commit_options prefault{true};
    std::error_code got;
    switch (op) {
    case range_op::commit:
        got = member ? call(
                           throwing, [&](std::error_code& ec) { owner.commit(at, size, a, ec); },
                           [&] { owner.commit(at, size, a); })
                     : call(
                           throwing, [&](std::error_code& ec) { vmem::commit(at, size, a, ec); },
                           [&] { vmem::commit(at, size, a); });
        break;
    case range_op::commit_prefault:
        got = member ? call(
                           throwing,
                           [&](std::error_code& ec) { owner.commit(at, size, a, prefault, ec); },
                           [&] { owner.commit(at, size, a, prefault); })
                     : call(
                           throwing,
                           [&](std::error_code& ec) { vmem::commit(at, size, a, prefault, ec); },
                           [&] { vmem::commit(at, size, a, prefault); });
        break;
    case range_op::decommit:
        got = member ? call(
                           throwing, [&](std::error_code& ec) { owner.decommit(at, size, ec); },
                           [&] { owner.decommit(at, size); })
                     : call(
                           throwing, [&](std::error_code& ec) { vmem::decommit(at, size, ec); },
                           [&] { vmem::decommit(at, size); });
        break;
    case range_op::protect:
        got = member ? call(
                           throwing, [&](std::error_code& ec) { owner.protect(at, size, a, ec); },
                           [&] { owner.protect(at, size, a); })
                     : call(
                           throwing, [&](std::error_code& ec) { vmem::protect(at, size, a, ec); },
                           [&] { vmem::protect(at, size, a); });
        break;
    case range_op::discard:
        got = member ? call(
                           throwing, [&](std::error_code& ec) { owner.discard(at, size, ec); },
                           [&] { owner.discard(at, size); })
                     : call(
                           throwing, [&](std::error_code& ec) { vmem::discard(at, size, ec); },
                           [&] { vmem::discard(at, size); });
        break;
    case range_op::guard:
        got = member ? call(
                           throwing, [&](std::error_code& ec) { owner.guard(at, size, ec); },
                           [&] { owner.guard(at, size); })
                     : call(
                           throwing, [&](std::error_code& ec) { vmem::guard(at, size, ec); },
                           [&] { vmem::guard(at, size); });
        break;
    case range_op::write:
        break;
    }
    trace("%s%s%s(%p, %zu, %s) on slot %d: pages %zu..%zu%s -> %s", member ? "member " : "",
          name(op), throwing ? " (throwing)" : "", static_cast<void*>(at), size, name(a), t, first,
          last, fired ? (armed.after_part ? " (seam: after part)" : " (seam: before)") : "",
          got ? got.message().c_str() : "ok");
    expect(name(op), got, want);
    if (s == nullptr)
        return; // nothing changed anywhere; the next steps' checks see it
    if (got && fired && armed.after_part) {
        // Refused after the first part of the range (the lower half, at least one page): a
        // decommit has remapped it and put the states back (committed pages read zero; guard
        // pages are markers on a fresh mapping, which query shows as reserved); a discard has let
        // its contents go. Everything else is as it was.
        const std::size_t part_end = first + (last - first + 1) / 2;
        for (std::size_t i = first; i < part_end; ++i) {
            page& p = s->pg[i];
            if (op == range_op::decommit && p.s == state::guard)
                p.guard_seen = seen{};
            else if (op == range_op::decommit && p.s == state::committed) {
                p.fill = 0;
                p.known = true;
            } else if (op == range_op::discard) {
                p.fill = 0;
                p.known = the.discard_zero_fills;
            }
        }
    }
    if (!got) {
        for (std::size_t i = first; i < last; ++i) {
            page& p = s->pg[i];
            switch (op) {
            case range_op::commit:
            case range_op::commit_prefault:
                if (p.s != state::committed) {
                    p.fill = 0; // committed for the first time (or again): reads zero
                    p.known = true;
                }
                p.s = state::committed;
                p.a = a;
                break;
            case range_op::protect:
                p.a = a;
                break;
            case range_op::decommit:
                p = page{};
                break;
            case range_op::discard:
                p.fill = 0;
                p.known = the.discard_zero_fills;
                break;
            case range_op::guard:
                // Markers keep the mapping as it was; the fallback remap (after a refused
                // marker) is a PROT_NONE mapping of its own.
                p.guard_seen = the.guard_pages_free && !fired ? appearance(p) : seen{};
                p.s = state::guard;
                p.a = vmem::access::none;
                p.fill = 0;
                p.known = true;
                break;
            case range_op::write:
                break;
            }
        }
    }
    check_query(*s);
    check_pages(*s, first, last, extra);
    if (!got && (op == range_op::commit || op == range_op::commit_prefault))
        fill_writable(*s, first, last);
}

// Arms the seam for one kind of range operation, in a mode, with an OS error, after `skip` calls
// of that kind, then runs that operation skip + 1 times (the same bytes each time: vmem's checks
// then decide the same way each time); the model predicts which call fails and how, and the seam
// is disarmed at the end so that nothing leaks into the next step.
void op_armed(input& in, std::uint8_t form) {
    static const range_op ops[] = {range_op::commit, range_op::decommit, range_op::protect,
                                   range_op::discard, range_op::guard};
    range_op op = ops[in.byte() % 5];
    if (op == range_op::commit && (form & 4) != 0)
        op = range_op::commit_prefault;
    static const int errors[] = {EAGAIN, EIO, EACCES, EPERM}; // none that vmem reinterprets
    const std::error_code error(errors[in.byte() % 4], std::system_category());
    const std::uint8_t how = in.byte();
    armed.active = true;
    armed.op = op;
    armed.after_part = (how & 1) != 0;
    armed.skip = (how >> 1) % 3;
    const unsigned runs = armed.skip + 1;
    std::error_code ec;
    vmem::testing::fail_os_call(kind_of(op), error, armed.skip,
                                armed.after_part ? vmem::testing::failure_mode::after_part
                                                 : vmem::testing::failure_mode::before,
                                ec);
    trace("arm %s, %s, skip %u, %s", name(op), armed.after_part ? "after part" : "before",
          armed.skip, error.message().c_str());
    if (ec)
        diverged("fail_os_call refused: %s", ec.message().c_str());
    armed.error = error;
    const input start = in;
    for (unsigned r = 0; r < runs; ++r) {
        in = start;
        op_range(in, op, form);
    }
    vmem::testing::clear_os_call_failures();
    armed.active = false;
}

void forget(slot& s) {
    s.stale = s.base;
    s.live = false;
    s.base = nullptr;
    s.pages = 0;
}

void op_release(input& in, std::uint8_t form) {
    int t = 0;
    const std::uint8_t mode = in.byte();
    unsigned char* at = pick_address(mode, in.byte(), t);
    const bool member = (form & 2) != 0;
    const bool throwing = (form & 1) != 0;
    slot& mine = slots[static_cast<std::size_t>(t)];
    slot* s = nullptr;
    std::error_code want;
    std::error_code got;
    if (member) {
        s = mine.owned() ? &mine : nullptr;
        if (s == nullptr)
            want = vmem::errc::empty_reservation;
        got = call(
            throwing, [&](std::error_code& ec) { mine.owner.release(ec); },
            [&] { mine.owner.release(); });
        if (!got && mine.owned())
            diverged("reservation::release succeeded and the object still owns %p",
                     mine.owner.base());
    } else {
        s = at == nullptr ? nullptr : holding(reinterpret_cast<std::uintptr_t>(at));
        if (at == nullptr)
            want = vmem::errc::null_address;
        else if (s == nullptr)
            want = vmem::errc::not_reserved;
        else if (s->base != at)
            want = vmem::errc::not_reservation_base;
        else if (s->owned())
            want = vmem::errc::reservation_owned;
        got = call(
            throwing, [&](std::error_code& ec) { vmem::release(at, ec); },
            [&] { vmem::release(at); });
    }
    trace("%srelease%s(%p) on slot %d -> %s", member ? "member " : "",
          throwing ? " (throwing)" : "", static_cast<void*>(member ? mine.base : at), t,
          got ? got.message().c_str() : "ok");
    expect("release", got, want);
    if (s == nullptr)
        return;
    if (got) {
        check_query(*s);
        return;
    }
    unsigned char* gone = s->base;
    forget(*s);
    check_released(gone);
}

void op_owner(input& in, std::uint8_t form) {
    int t = 0;
    const std::uint8_t mode = in.byte();
    unsigned char* at = pick_address(mode, in.byte(), t);
    slot& mine = slots[static_cast<std::size_t>(t)];
    if ((form & 2) != 0) { // detach
        const bool had = mine.owned();
        void* const base = mine.owner.detach();
        trace("detach slot %d -> %p", t, base);
        if (had ? base != mine.base : base != nullptr)
            diverged("detach returned %p; the model %p", base,
                     had ? static_cast<void*>(mine.base) : nullptr);
        if (mine.owned())
            diverged("detach left the object owning %p", mine.owner.base());
        check_query(mine);
        return;
    }
    slot* s = at == nullptr ? nullptr : holding(reinterpret_cast<std::uintptr_t>(at));
    std::error_code want;
    if (at == nullptr)
        want = vmem::errc::null_address;
    else if (s == nullptr)
        want = vmem::errc::not_reserved;
    else if (s->base != at)
        want = vmem::errc::not_reservation_base;
    else if (s->owned())
        want = vmem::errc::reservation_owned;
    vmem::reservation adopted;
    const std::error_code got = call(
        (form & 1) != 0, [&](std::error_code& ec) { adopted = vmem::reservation::adopt(at, ec); },
        [&] { adopted = vmem::reservation::adopt(at); });
    trace("adopt(%p) -> %s", static_cast<void*>(at), got ? got.message().c_str() : "ok");
    expect("adopt", got, want);
    if (got) {
        if (adopted)
            diverged("a failed adopt returned an owner of %p", adopted.base());
        return;
    }
    if (adopted.base() != s->base)
        diverged("adopt(%p) owns %p", static_cast<void*>(at), adopted.base());
    s->owner = std::move(adopted);
    check_query(*s);
}

// Every page of every reservation, all probes.
void check_everything() {
    for (const slot& s : slots) {
        if (!s.live)
            continue;
        check_query(s);
        for (std::size_t i = 0; i < s.pages; ++i)
            check_page(s, i, true);
    }
}

void release_all() {
    for (slot& s : slots) {
        if (!s.live)
            continue;
        std::error_code ec;
        if (s.owned())
            s.owner.release(ec);
        else
            vmem::release(s.base, ec);
        if (ec)
            diverged("releasing %p at the end: %s", static_cast<void*>(s.base),
                     ec.message().c_str());
        unsigned char* gone = s.base;
        forget(s);
        check_released(gone);
    }
}

void init() {
    const vmem::capabilities c = vmem::query_capabilities();
    the.page = vmem::page_size();
    the.granularity = vmem::allocation_granularity();
    the.address_bits = c.address_bits;
    the.max_pages = most_pages;
    the.write_execute = c.write_execute;
    the.discard_zero_fills = c.discard_zero_fills;
    the.guard_pages_free = c.guard_pages_free;
    the.query_sees_committed_none = c.query_sees_committed_none;
    the.fork_control = c.fork_control;
    // huge_pages::prefer and require are modelled where the answer is known: no pages in the
    // explicit pool, and reservations smaller than one (transparent) huge page, which then never
    // get one (prefer: normal pages; require: huge_pages_unavailable).
    the.huge_choices = c.huge_pages_free == 0 &&
                       (c.huge_page_size == 0 || most_pages * the.page < c.huge_page_size);
    const char* t = std::getenv("VMEM_FUZZ_TRACE");
    the.trace = t != nullptr && *t != '\0' && *t != '0';
    std::fprintf(stderr,
                 "model_fuzz: page %zu, granularity %zu, address bits %u, discard zero-fills %d, "
                 "guard pages free %d, huge choices %d\n",
                 the.page, the.granularity, the.address_bits, the.discard_zero_fills,
                 the.guard_pages_free, the.huge_choices);
    install_probe();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static bool ready = false;
    static std::size_t bookkeeping = 0;
    if (!ready) {
        init();
        ready = true;
    }
    input in{data, size};
    for (slot& s : slots)
        s.stale = nullptr;
    if (bookkeeping == 0)
        bookkeeping = vmem::testing::bookkeeping_bytes();
    step_number = 0;
    while (in.n > 0 && step_number < 200) {
        ++step_number;
        const std::uint8_t op = in.byte();
        const std::uint8_t form = in.byte();
        switch (op % 12) {
        case 0:
            op_reserve(in, form);
            break;
        case 1:
            op_range(in, (form & 4) != 0 ? range_op::commit_prefault : range_op::commit, form);
            break;
        case 2:
            op_range(in, range_op::decommit, form);
            break;
        case 3:
            op_range(in, range_op::protect, form);
            break;
        case 4:
            op_range(in, range_op::discard, form);
            break;
        case 5:
            op_range(in, range_op::guard, form);
            break;
        case 6:
            op_release(in, form);
            break;
        case 7:
            op_owner(in, form);
            break;
        case 8:
            check_everything();
            break;
        case 11:
            op_armed(in, form);
            break;
        default: // 9, 10: writes, so that contents are there to lose
            op_range(in, range_op::write, form);
            break;
        }
    }
    check_everything();
    release_all();
    // Everything released: vmem's bookkeeping is back where it was.
    const std::size_t now = vmem::testing::bookkeeping_bytes();
    if (now != bookkeeping)
        diverged("bookkeeping holds %zu bytes with nothing reserved, %zu before", now, bookkeeping);
    return 0;
}
