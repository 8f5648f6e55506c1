// vmem test program: counts every call to the heap made while a vmem operation runs, and requires
// zero for every noexcept operation ("No heap" contract): first use included, error paths, failures
// injected through the seam, enough reservations and committed runs to make the bookkeeping grow,
// and several threads at once. The throwing overloads may allocate only when they throw (the
// std::system_error); when they succeed they must not either.
//
// What is counted: every form of the global operator new and delete (replaced on every platform,
// through replaced_operator_new.hpp), and with glibc also malloc, calloc, realloc, free and the
// aligned allocation functions (interposed, forwarding to glibc's own __libc_* entry points).
// Elsewhere (Windows, macOS) the C allocation functions are not counted here;
// no_heap_malloc_replaced replaces them in the Windows build and shows that vmem never reaches
// them.
//
// Counting is per thread: a thread-local flag is set around each vmem call, so allocations by
// other threads (or by the program between calls) are not counted.
#include "check.hpp"
#include "replaced_operator_new.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <system_error>
#include <thread>
#include <vector>

#if defined(_WIN32)
#include <malloc.h>
#endif

namespace counting {

thread_local bool on = false;
thread_local unsigned long calls = 0; // heap calls on this thread while `on`
thread_local const char* first = nullptr;

void count(const char* who) noexcept {
    if (on) {
        ++calls;
        if (first == nullptr)
            first = who;
    }
}

// Totals over every thread, for the report.
std::atomic<unsigned long> in_noexcept{0};
std::atomic<unsigned long> in_throwing_success{0};
std::atomic<unsigned long> in_throwing_failure{0};
std::atomic<unsigned long> scopes{0};
std::atomic<const char*> first_violation{nullptr};
std::atomic<const char*> first_violation_call{nullptr};

void violation(const char* what, const char* call) noexcept {
    const char* none = nullptr;
    if (first_violation.compare_exchange_strong(none, what))
        first_violation_call.store(call);
}

} // namespace counting

// --- The counted allocation functions. ---------------------------------------------------------

#if defined(__GLIBC__)
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void* __libc_valloc(std::size_t);
void* __libc_pvalloc(std::size_t);
void __libc_free(void*);

void* malloc(std::size_t n) noexcept {
    counting::count("malloc");
    return __libc_malloc(n);
}
void* calloc(std::size_t c, std::size_t n) noexcept {
    counting::count("calloc");
    return __libc_calloc(c, n);
}
void* realloc(void* p, std::size_t n) noexcept {
    counting::count("realloc");
    return __libc_realloc(p, n);
}
void free(void* p) noexcept {
    counting::count("free");
    __libc_free(p);
}
void* aligned_alloc(std::size_t a, std::size_t n) noexcept {
    counting::count("aligned_alloc");
    return __libc_memalign(a, n);
}
void* memalign(std::size_t a, std::size_t n) noexcept {
    counting::count("memalign");
    return __libc_memalign(a, n);
}
int posix_memalign(void** out, std::size_t a, std::size_t n) noexcept {
    counting::count("posix_memalign");
    if (a == 0 || (a & (a - 1)) != 0 || a % sizeof(void*) != 0)
        return 22; // EINVAL
    void* p = __libc_memalign(a, n);
    if (p == nullptr)
        return 12; // ENOMEM
    *out = p;
    return 0;
}
void* valloc(std::size_t n) noexcept {
    counting::count("valloc");
    return __libc_valloc(n);
}
void* pvalloc(std::size_t n) noexcept {
    counting::count("pvalloc");
    return __libc_pvalloc(n);
}
} // extern "C"
#define VMEM_PROGRAM_COUNTS_MALLOC 1
#else
#define VMEM_PROGRAM_COUNTS_MALLOC 0
#endif

namespace {

void* plain_allocate(std::size_t n) noexcept {
    return std::malloc(n == 0 ? 1 : n);
}
void plain_free(void* p) noexcept {
    std::free(p);
}
void* aligned_allocate(std::size_t n, std::size_t alignment) noexcept {
    n = n == 0 ? 1 : n;
#if defined(_WIN32)
    return _aligned_malloc(n, alignment);
#else
    void* p = nullptr;
    return posix_memalign(&p, alignment < sizeof(void*) ? sizeof(void*) : alignment, n) == 0
               ? p
               : nullptr;
#endif
}
void aligned_free(void* p) noexcept {
#if defined(_WIN32)
    _aligned_free(p);
#else
    std::free(p);
#endif
}

// The count of a C function forwarded to would count twice; these do not, because
// `counting::on` is cleared around the forwarding call.
struct forwarding {
    bool was;
    forwarding() noexcept : was(counting::on) { counting::on = false; }
    ~forwarding() { counting::on = was; }
    forwarding(const forwarding&) = delete;
    forwarding& operator=(const forwarding&) = delete;
};

} // namespace

// Every form of operator new and delete counts once, as `who`, and forwards.
void* programs::replaced_new::allocate(std::size_t n, const char* who) noexcept {
    counting::count(who);
    forwarding f;
    return plain_allocate(n);
}
void* programs::replaced_new::allocate_aligned(std::size_t n, std::size_t alignment,
                                               const char* who) noexcept {
    counting::count(who);
    forwarding f;
    return aligned_allocate(n, alignment);
}
void programs::replaced_new::deallocate(void* p, const char* who) noexcept {
    counting::count(who);
    forwarding f;
    plain_free(p);
}
void programs::replaced_new::deallocate_aligned(void* p, const char* who) noexcept {
    counting::count(who);
    forwarding f;
    aligned_free(p);
}

// --- The exercise. -------------------------------------------------------------------------------

namespace {

using namespace programs; // the helpers of check.hpp

// Runs `f`, noexcept vmem calls only, counting this thread's heap calls: there must be none.
template <class F>
void no_heap(const char* what, F&& f) noexcept {
    counting::calls = 0;
    counting::first = nullptr;
    counting::on = true;
    f();
    counting::on = false;
    counting::scopes.fetch_add(1, std::memory_order_relaxed);
    if (counting::calls != 0) {
        counting::in_noexcept.fetch_add(counting::calls);
        counting::violation(what, counting::first);
    }
}

// Runs `f`, one call of a throwing overload: if it returns, it must not have used the heap; if it
// throws std::system_error, the heap calls it made are allowed (and reported). Returns whether
// it threw.
template <class F>
bool throwing(const char* what, F&& f) {
    counting::calls = 0;
    counting::first = nullptr;
    counting::on = true;
    bool threw = false;
    try {
        f();
    } catch (const std::system_error&) {
        threw = true;
    }
    counting::on = false;
    counting::scopes.fetch_add(1, std::memory_order_relaxed);
    if (threw) {
        counting::in_throwing_failure.fetch_add(counting::calls);
    } else if (counting::calls != 0) {
        counting::in_throwing_success.fetch_add(counting::calls);
        counting::violation(what, counting::first);
    }
    return threw;
}

// Fails the program if any scope so far used the heap.
void check_none(const char* what) {
    const char* v = counting::first_violation.load();
    if (v != nullptr) {
        const char* call = counting::first_violation_call.load();
        fail("%s: the heap was called inside \"%s\" (first: %s)", what, v,
             call != nullptr ? call : "?");
    }
    check(true, what);
}

void first_use() {
    programs::note("vmem's first use, on an error path and then a reserve");
    std::error_code ec;
    int local = 0;
    no_heap("first use: commit outside any reservation",
            [&] { vmem::commit(&local, 1, vmem::access::read_write, ec); });
    check_error(ec, vmem::errc::not_reserved, "the first call: commit outside any reservation");
    void* p = nullptr;
    no_heap("first reserve", [&] { p = vmem::reserve(page(), {}, ec); });
    check_ok(ec, "the first reserve");
    no_heap("first release", [&] { vmem::release(p, ec); });
    check_ok(ec, "the first release");
    check_none("vmem's first use: no heap call");
}

void queries() {
    programs::note("queries and the error categories");
    std::size_t p = 0;
    std::size_t g = 0;
    vmem::capabilities caps{};
    std::size_t held = 0;
    const std::error_category* cat = nullptr;
    no_heap("queries", [&] {
        p = vmem::page_size();
        g = vmem::allocation_granularity();
        caps = vmem::query_capabilities();
        held = vmem::testing::bookkeeping_bytes();
        cat = &vmem::error_category();
        std::error_code e = vmem::errc::not_reserved;
        (void)(e == std::errc::invalid_argument);
#if defined(VMEM_WINDOWS)
        cat = &vmem::win32_category();
#endif
    });
    check(p != 0 && g >= p && caps.page_size == p && cat != nullptr, "queries answer");
    check_none("queries: no heap call");
    (void)held;
}

void reserve_all_ways() {
    programs::note("reserve: options, placement, bad input");
    std::error_code ec;
    void* p = nullptr;
    vmem::reserve_options aligned;
    aligned.alignment = 16 * granularity();
    no_heap("reserve aligned", [&] { p = vmem::reserve(3 * page(), aligned, ec); });
    check_ok(ec, "reserve aligned");
    no_heap("release", [&] { vmem::release(p, ec); });
    vmem::reserve_options exact;
    exact.address = bytes(p) + 1;
    exact.at = vmem::placement::exact;
    void* q = nullptr;
    no_heap("reserve exact", [&] { q = vmem::reserve(page(), exact, ec); });
    check(!ec && q == p, "reserve exactly at a free address");
    void* r = nullptr;
    no_heap("reserve exact at a taken address", [&] { r = vmem::reserve(page(), exact, ec); });
    check_error(ec, vmem::errc::address_unavailable, "exact at a taken address");
    vmem::reserve_options prefer;
    prefer.address = q;
    no_heap("reserve prefer at a taken address", [&] { r = vmem::reserve(page(), prefer, ec); });
    check(!ec && r != nullptr && r != q, "prefer at a taken address goes elsewhere");
    no_heap("release two", [&] {
        vmem::release(q, ec);
        if (!ec)
            vmem::release(r, ec);
    });
    check_ok(ec, "release both");

    vmem::reserve_options bad_alignment;
    bad_alignment.alignment = 3 * granularity();
    vmem::reserve_options bad_placement;
    bad_placement.at = static_cast<vmem::placement>(7);
    vmem::reserve_options exact_null;
    exact_null.at = vmem::placement::exact;
    vmem::reserve_options huge_alignment;
    huge_alignment.alignment = std::size_t{1} << (sizeof(std::size_t) * 8 - 1);
    no_heap("reserve: zero size", [&] { r = vmem::reserve(0, {}, ec); });
    check_error(ec, vmem::errc::zero_size, "reserve: zero size");
    no_heap("reserve: SIZE_MAX", [&] { r = vmem::reserve(SIZE_MAX, {}, ec); });
    check_error(ec, vmem::errc::size_overflow, "reserve: SIZE_MAX");
    no_heap("reserve: bad alignment", [&] { r = vmem::reserve(page(), bad_alignment, ec); });
    check_error(ec, vmem::errc::invalid_alignment, "reserve: alignment not a power of two");
    no_heap("reserve: huge alignment", [&] { r = vmem::reserve(page(), huge_alignment, ec); });
    if (sizeof(void*) == 8) // a 32-bit process may reach 4 GiB, where 2 GiB can be honoured
        check(ec == std::errc::invalid_argument, "reserve: alignment of half the address space");
    else if (r != nullptr)
        vmem::release(r);
    no_heap("reserve: bad placement", [&] { r = vmem::reserve(page(), bad_placement, ec); });
    check_error(ec, vmem::errc::invalid_placement, "reserve: placement(7)");
    no_heap("reserve: exact at null", [&] { r = vmem::reserve(page(), exact_null, ec); });
    check_error(ec, vmem::errc::null_address, "reserve: exact without an address");
    check_none("reserve: no heap call");
}

void page_operations() {
    programs::note("commit, decommit, protect, release: free functions, members, errors");
    std::error_code ec;
    vmem::reservation r;
    no_heap("reservation(size, options, ec)", [&] { r = vmem::reservation(16 * page(), {}, ec); });
    check_ok(ec, "a reservation");
    unsigned char* b = bytes(r.base());
    no_heap("commit", [&] { vmem::commit(b, 4 * page(), vmem::access::read_write, ec); });
    check_ok(ec, "commit (free function)");
    std::memset(b, 1, 4 * page());
    no_heap("member commit", [&] { r.commit(b + 6 * page(), page(), vmem::access::read, ec); });
    check_ok(ec, "commit (member)");
    no_heap("protect", [&] { vmem::protect(b, page(), vmem::access::read, ec); });
    check_ok(ec, "protect (free function)");
    no_heap("member protect", [&] { r.protect(b + page(), page(), vmem::access::none, ec); });
    check_ok(ec, "protect (member)");
    no_heap("decommit", [&] { vmem::decommit(b + 2 * page(), page(), ec); });
    check_ok(ec, "decommit (free function)");
    no_heap("member decommit", [&] { r.decommit(b + 3 * page(), 4 * page(), ec); });
    check_ok(ec, "decommit (member)");
    std::size_t committed = 0;
    bool contains = false;
    no_heap("accessors", [&] {
        committed = r.committed_bytes();
        contains = r.contains(b + page()) && static_cast<bool>(r) && r.size() == 16 * page();
    });
    check(committed == 2 * page() && contains, "the accessors");

    int local = 0;
    const auto expect = [&](const char* what, vmem::errc e) {
        check_error(ec, e, what);
        ec.clear();
    };
    no_heap("commit: not reserved", [&] { vmem::commit(&local, 1, vmem::access::read_write, ec); });
    expect("commit outside any reservation", vmem::errc::not_reserved);
    no_heap("commit: null", [&] { vmem::commit(nullptr, 1, vmem::access::read_write, ec); });
    expect("commit at null", vmem::errc::null_address);
    no_heap("decommit: zero size", [&] { vmem::decommit(b, 0, ec); });
    expect("decommit of zero bytes", vmem::errc::zero_size);
    no_heap("protect: overflow", [&] { vmem::protect(b, SIZE_MAX, vmem::access::read, ec); });
    expect("protect of SIZE_MAX bytes", vmem::errc::size_overflow);
    no_heap("protect: bad access",
            [&] { vmem::protect(b, page(), static_cast<vmem::access>(2), ec); });
    expect("protect with access(2)", vmem::errc::invalid_access);
    no_heap("protect: not committed",
            [&] { vmem::protect(b, 3 * page(), vmem::access::read, ec); });
    expect("protect over a decommitted page", vmem::errc::not_committed);
    no_heap("member commit: outside",
            [&] { r.commit(b + 15 * page(), 2 * page(), vmem::access::read, ec); });
    expect("commit (member) past the end", vmem::errc::outside_reservation);
    no_heap("release: not base", [&] { vmem::release(b + page(), ec); });
    expect("release inside a reservation", vmem::errc::not_reservation_base);
    no_heap("release: owned", [&] { vmem::release(b, ec); });
    expect("release of an owned reservation", vmem::errc::reservation_owned);
    no_heap("release: not reserved", [&] { vmem::release(&local, ec); });
    expect("release outside any reservation", vmem::errc::not_reserved);
    no_heap("release: null", [&] { vmem::release(nullptr, ec); });
    expect("release of null", vmem::errc::null_address);

    // Two adjacent reservations: a range across both.
    void* pair = nullptr;
    void* first = nullptr;
    void* second = nullptr;
    no_heap("adjacent reservations", [&] {
        pair = vmem::reserve(2 * granularity(), {}, ec);
        vmem::release(pair, ec);
        vmem::reserve_options at;
        at.address = pair;
        at.at = vmem::placement::exact;
        first = vmem::reserve(granularity(), at, ec);
        at.address = bytes(pair) + granularity();
        second = vmem::reserve(granularity(), at, ec);
    });
    check(first != nullptr && second != nullptr, "two adjacent reservations");
    no_heap("commit: spans",
            [&] { vmem::commit(bytes(second) - page(), 2 * page(), vmem::access::read, ec); });
    expect("commit across two reservations", vmem::errc::spans_reservations);
    no_heap("release adjacent", [&] {
        vmem::release(first, ec);
        vmem::release(second, ec);
    });
    check_ok(ec, "release them");

    no_heap("member release", [&] { r.release(ec); });
    check_ok(ec, "release (member)");
    no_heap("empty reservation", [&] {
        r.commit(b, page(), vmem::access::read, ec);
        if (ec == vmem::errc::empty_reservation)
            r.decommit(b, page(), ec);
        if (ec == vmem::errc::empty_reservation)
            r.protect(b, page(), vmem::access::read, ec);
        if (ec == vmem::errc::empty_reservation)
            r.release(ec);
    });
    expect("every member of an empty reservation", vmem::errc::empty_reservation);
    check_none("page operations: no heap call");
}

// The operations of issue 9: each noexcept overload, on success and on a refusal, and a
// reserve with every option.
void more_operations() {
    programs::note("discard, guard, lock, prefault, make_executable, query, reserve options");
    std::error_code ec;
    vmem::reservation r;
    no_heap("reservation", [&] { r = vmem::reservation(8 * page(), {}, ec); });
    check_ok(ec, "reserve");
    unsigned char* b = bytes(r.base());
    no_heap("commit with prefault", [&] {
        r.commit(b, 4 * page(), vmem::access::read_write, vmem::commit_options{true}, ec);
    });
    check_ok(ec, "commit with prefault");
    no_heap("discard", [&] { vmem::discard(b, 2 * page(), ec); });
    check_ok(ec, "discard");
    no_heap("lock, unlock", [&] {
        r.lock(b, page(), ec);
        if (!ec)
            vmem::unlock(b, page(), ec);
    });
    check_ok(ec, "lock and unlock");
    no_heap("guard", [&] { vmem::guard(b + 3 * page(), page(), ec); });
    check_ok(ec, "guard");
    no_heap("commit over a guard page",
            [&] { r.commit(b + 3 * page(), page(), vmem::access::read_write, ec); });
    check_error(ec, vmem::errc::guard_page, "commit over a guard page is refused");
    no_heap("make_executable", [&] { r.make_executable(b, page(), ec); });
    check_ok(ec, "make_executable");
    no_heap("flush_instruction_cache", [&] { vmem::flush_instruction_cache(b, page()); });
    vmem::region seen{};
    no_heap("query", [&] { seen = vmem::query(b + page(), ec); });
    check(!ec && seen.reservation == r.base(), "query names the reservation");
    no_heap("huge_page_status", [&] { (void)r.huge_page_status(ec); });
    check_ok(ec, "huge_page_status");
    no_heap("discard of reserved pages", [&] { vmem::discard(b + 4 * page(), page(), ec); });
    check_error(ec, vmem::errc::not_committed, "discard of reserved pages is refused");
    vmem::reserve_options o;
    o.commit = true;
    o.prefault = true;
    o.huge = vmem::huge_pages::prefer;
    void* p = nullptr;
    no_heap("reserve with commit, prefault and huge pages preferred",
            [&] { p = vmem::reserve(4 * page(), o, ec); });
    check_ok(ec, "reserve with options");
    no_heap("release", [&] { vmem::release(p, ec); });
    check_ok(ec, "release");
    o.huge = static_cast<vmem::huge_pages>(42);
    no_heap("reserve with a bad option", [&] { p = vmem::reserve(4 * page(), o, ec); });
    check_error(ec, vmem::errc::invalid_option, "a huge_pages value outside the enum");
    check_none("issue 9's operations: no heap call");
}

void ownership() {
    programs::note("ownership: adopt, detach, move, swap, destroy");
    std::error_code ec;
    void* base = nullptr;
    vmem::reservation a;
    vmem::reservation b;
    no_heap("adopt twice", [&] {
        base = vmem::reserve(4 * page(), {}, ec);
        a = vmem::reservation::adopt(base, ec);
        if (!ec)
            b = vmem::reservation::adopt(base, ec);
    });
    check_error(ec, vmem::errc::reservation_owned, "a second adopt is refused");
    no_heap("move, detach, adopt, swap, destroy", [&] {
        vmem::reservation moved(std::move(a));
        b = std::move(moved);
        void* d = b.detach();
        a = vmem::reservation::adopt(d, ec);
        vmem::reservation c(2 * page(), {}, ec);
        swap(a, c);
        // c holds `base` now and releases it here; a's is released at the end of the function.
    });
    check_ok(ec, "move, detach, adopt, swap");
    check(programs::range_is_free(base, 4 * page()), "the destroyed owner released");
    no_heap("adopt: not base", [&] { b = vmem::reservation::adopt(bytes(a.base()) + 1, ec); });
    check_error(ec, vmem::errc::not_reservation_base, "adopt inside a reservation");
    no_heap("adopt: null", [&] { b = vmem::reservation::adopt(nullptr, ec); });
    check_error(ec, vmem::errc::null_address, "adopt of null");
    no_heap("destroy", [&] { a = vmem::reservation(); });
    check_none("ownership: no heap call");
}

void seam() {
    programs::note("failures injected through the seam");
    namespace t = vmem::testing;
    const std::error_code oom = std::make_error_code(std::errc::not_enough_memory);
    std::error_code ec;
    std::error_code armed;
    vmem::reservation r(8 * page(), {}, ec);
    unsigned char* b = bytes(r.base());
    r.commit(b, page(), vmem::access::read_write, ec);
    void* p = nullptr;
    no_heap("injected reserve", [&] {
        t::fail_os_call(t::os_call::reserve, oom, 0, armed);
        p = vmem::reserve(page(), {}, ec);
    });
    check(p == nullptr && ec == std::errc::not_enough_memory && !armed, "an injected reserve");
    no_heap("injected commit", [&] {
        t::fail_os_call(t::os_call::commit, oom, 0, armed);
        vmem::commit(b, 2 * page(), vmem::access::read_write, ec);
    });
    check_error(ec, std::errc::not_enough_memory, "an injected commit");
    no_heap("injected decommit", [&] {
        t::fail_os_call(t::os_call::decommit, oom, 0, armed);
        r.decommit(b, page(), ec);
    });
    check_error(ec, std::errc::not_enough_memory, "an injected decommit");
    no_heap("injected protect", [&] {
        t::fail_os_call(t::os_call::protect, oom, 0, armed);
        r.protect(b, page(), vmem::access::read, ec);
    });
    check_error(ec, std::errc::not_enough_memory, "an injected protect");
    no_heap("injected release", [&] {
        t::fail_os_call(t::os_call::release, oom, 0, armed);
        r.release(ec);
    });
    check_error(ec, std::errc::not_enough_memory, "an injected release");
    no_heap("seam: bad input, skip, clear", [&] {
        t::fail_os_call(t::os_call::commit, std::error_code(), 0, armed);
        t::fail_os_call(static_cast<t::os_call>(9), oom, 0, armed);
        t::fail_os_call(t::os_call::commit, oom, 1, armed);
        t::clear_os_call_failures();
        t::use_native_aligned_reserve(false);
        vmem::reserve_options aligned;
        aligned.alignment = 8 * granularity();
        void* a = vmem::reserve(page(), aligned, ec);
        if (a != nullptr)
            vmem::release(a, ec);
        t::use_native_aligned_reserve(true);
    });
    check_ok(ec, "the aligned reserve without the OS's own alignment");
    check_none("the seam: no heap call");
}

void growth() {
    programs::note("enough reservations and committed runs for the bookkeeping to grow");
    constexpr std::size_t many = 3000;
    std::vector<void*> bases(many); // allocated before counting
    std::error_code ec;
    std::size_t before = 0;
    std::size_t after = 0;
    no_heap("many reservations", [&] {
        before = vmem::testing::bookkeeping_bytes();
        for (void*& p : bases) {
            p = vmem::reserve(page(), {}, ec);
            if (ec)
                return;
        }
        after = vmem::testing::bookkeeping_bytes();
    });
    check_ok(ec, "3000 reservations");
    std::printf("-- bookkeeping: %zu bytes before, %zu with 3000 more reservations\n", before,
                after);
    vmem::reservation r;
    const std::size_t pages = 4000;
    no_heap("many runs", [&] {
        r = vmem::reservation(pages * page(), {}, ec);
        for (std::size_t i = 0; i < pages && !ec; i += 2)
            r.commit(bytes(r.base()) + i * page(), page(),
                     i % 4 == 0 ? vmem::access::read : vmem::access::read_write, ec);
        for (std::size_t i = 0; i < pages && !ec; i += 4)
            vmem::protect(bytes(r.base()) + i * page(), page(), vmem::access::read_write, ec);
        if (!ec)
            r.decommit(r.base(), r.size(), ec);
    });
    check_ok(ec, "2000 separate committed runs, then all decommitted");
    no_heap("release many", [&] {
        for (void* p : bases)
            vmem::release(p, ec);
        r.release(ec);
    });
    check_ok(ec, "all released");
    check_none("growth: no heap call");
}

void threads() {
    programs::note("several threads at once (started before counting)");
    constexpr int n = 4;
    std::atomic<int> ready{0};
    std::atomic<int> failures{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < n; ++t)
        workers.emplace_back([t, &ready, &failures] {
            ++ready;
            while (ready.load() < n)
                std::this_thread::yield();
            for (int i = 0; i < 300; ++i) {
                std::error_code ec;
                no_heap("a thread's operations", [&] {
                    const std::size_t size = static_cast<std::size_t>(1 + (i + t) % 5) * page();
                    vmem::reservation r(size, {}, ec);
                    if (!ec)
                        vmem::commit(r.base(), size, vmem::access::read_write, ec);
                    if (!ec)
                        r.protect(r.base(), page(), vmem::access::read, ec);
                    if (!ec)
                        vmem::decommit(r.base(), size, ec);
                    void* raw = ec ? nullptr : vmem::reserve(page(), {}, ec);
                    if (raw != nullptr)
                        vmem::release(raw, ec);
                });
                if (ec)
                    ++failures;
            }
        });
    for (std::thread& w : workers)
        w.join();
    check(failures.load() == 0, "every operation of every thread succeeded");
    check_none("threads: no heap call");
}

void throwing_overloads() {
    programs::note("the throwing overloads: no heap call unless they throw");
    vmem::reservation r;
    void* p = nullptr;
    int local = 0;
    check(!throwing("reservation(size)", [&] { r = vmem::reservation(8 * page()); }),
          "reservation(size) succeeds");
    unsigned char* b = bytes(r.base());
    check(!throwing("commit", [&] { r.commit(b, 2 * page(), vmem::access::read_write); }) &&
              !throwing("protect", [&] { vmem::protect(b, page(), vmem::access::read); }) &&
              !throwing("decommit", [&] { vmem::decommit(b, page()); }) &&
              !throwing("reserve", [&] { p = vmem::reserve(page()); }) &&
              !throwing("adopt", [&] { vmem::reservation::adopt(p).release(); }) &&
              !throwing("fail_os_call",
                        [&] {
                            vmem::testing::fail_os_call(
                                vmem::testing::os_call::commit,
                                std::make_error_code(std::errc::not_enough_memory));
                        }),
          "the throwing overloads succeed");
    check(throwing("an injected commit failure",
                   [&] { r.commit(b, page(), vmem::access::read_write); }) &&
              throwing("commit outside", [&] { vmem::commit(&local, 1, vmem::access::read); }) &&
              throwing("release owned", [&] { vmem::release(b); }) &&
              throwing("reserve zero", [&] { (void)vmem::reserve(0); }) &&
              throwing("member release of an empty one", [&] { vmem::reservation().release(); }),
          "and throw when they fail");
    check(!throwing("member release", [&] { r.release(); }), "release (member) succeeds");
    check_none("throwing overloads: no heap call when they succeed");
}

} // namespace

int main() {
#if VMEM_PROGRAM_COUNTS_MALLOC
    programs::note("no_heap_counting: counts operator new/delete and malloc/free inside vmem");
#else
    programs::note("no_heap_counting: counts operator new/delete inside vmem (this platform's "
                   "malloc is not interposed here; see no_heap_malloc_replaced)");
#endif
    first_use();
    queries();
    reserve_all_ways();
    page_operations();
    more_operations();
    ownership();
    seam();
    growth();
    threads();
    throwing_overloads();
    std::printf("-- %lu counted scopes; heap calls inside noexcept vmem calls: %lu; inside "
                "throwing overloads that returned: %lu; inside throwing overloads that threw "
                "(allowed): %lu\n",
                counting::scopes.load(), counting::in_noexcept.load(),
                counting::in_throwing_success.load(), counting::in_throwing_failure.load());
    check(counting::in_throwing_failure.load() > 0,
          "the counter works: the overloads that threw were seen allocating their exception");
    programs::note("no_heap_counting: passed");
    return 0;
}
