// vmem test program: vmem beneath malloc. The program's malloc, free, calloc, realloc (and, with
// glibc, the rest of its allocation functions) and every form of the global operator new and
// delete are replaced by a small allocator built on vmem, the way allocators are deployed: size
// classes carved from one vmem reservation that is committed as it grows, and one reservation per
// large block. The contract ("No heap") says vmem's noexcept operations never call malloc or
// operator new, so:
// - the allocator must never be re-entered: a thread-local flag marks "inside the allocator", and
//   an allocation function called while it is set prints who re-entered and aborts, instead of
//   deadlocking on the allocator's lock or recursing (vmem's bookkeeping allocating from inside
//   the allocator's request for memory is how this breaks);
// - every vmem operation, exercised below from several threads, with bad input and with failures
//   injected through vmem::testing::fail_os_call, works in such a process, and none of its
//   noexcept calls reaches the allocator at all (counted with a second thread-local flag).
//
// Where the replacement reaches:
// - glibc: symbol interposition replaces malloc for the whole process, the C and C++ runtimes
//   included.
// - Windows (MinGW): the definitions below are linked into the executable, so every reference
//   that is resolved when the executable is linked uses them: the program's own code, vmem (a
//   static library here) and the statically linked parts of libstdc++, libgcc and winpthreads.
//   The C runtime DLL's calls to malloc from inside itself (its stdio buffers, say) still go to its
//   own heap, as do the functions it exports for the program that allocate (_strdup, ...), which
//   the program does not use. vmem's own calls are in the executable and so are covered, which is
//   what this program proves.
// - Other systems (macOS, the BSDs) use two-level or protected symbol binding that this small
//   allocator does not attempt: there only operator new and delete are replaced, and the program
//   says so.
#include "check.hpp"
#include "replaced_operator_new.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <new>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#if defined(_WIN32)
#include <windows.h> // lean, without min and max: see CMakeLists.txt
#define VMEM_PROGRAM_REPLACES_MALLOC 1
#define VMEM_PROGRAM_C_NOEXCEPT
#elif defined(__GLIBC__)
#include <malloc.h>
#include <unistd.h>
#define VMEM_PROGRAM_REPLACES_MALLOC 1
#define VMEM_PROGRAM_C_NOEXCEPT noexcept
#else
#include <unistd.h>
#define VMEM_PROGRAM_REPLACES_MALLOC 0
#endif

namespace heap {

// --- Per-thread flags, read and written without touching the heap. ------------------------------

constexpr unsigned inside_allocator = 1; // an allocation function of this file is running
constexpr unsigned inside_vmem = 2;      // the exercise below is inside a noexcept vmem call

#if defined(_WIN32)
// MinGW's thread_local is emulated on top of malloc (libgcc's emutls): use the system's slots.
std::atomic<DWORD> tls_slot{TLS_OUT_OF_INDEXES};

DWORD slot() noexcept {
    DWORD s = tls_slot.load(std::memory_order_acquire);
    if (s != TLS_OUT_OF_INDEXES)
        return s;
    DWORD fresh = TlsAlloc();
    if (tls_slot.compare_exchange_strong(s, fresh, std::memory_order_acq_rel))
        return fresh;
    TlsFree(fresh); // another thread won
    return s;
}
unsigned flags() noexcept {
    return static_cast<unsigned>(reinterpret_cast<std::uintptr_t>(TlsGetValue(slot())));
}
void set_flags(unsigned f) noexcept {
    TlsSetValue(slot(), reinterpret_cast<void*>(static_cast<std::uintptr_t>(f)));
}
void write_stderr(const char* s) noexcept {
    DWORD written = 0;
    WriteFile(GetStdHandle(STD_ERROR_HANDLE), s, static_cast<DWORD>(std::strlen(s)), &written,
              nullptr);
}
#else
thread_local unsigned tls_flags = 0; // constant-initialised, no destructor: no allocation
unsigned flags() noexcept {
    return tls_flags;
}
void set_flags(unsigned f) noexcept {
    tls_flags = f;
}
void write_stderr(const char* s) noexcept {
    ssize_t ignored = write(2, s, std::strlen(s)); // nothing to do if stderr is gone
    (void)ignored;
}
#endif

[[noreturn]] void die(const char* why, const char* who) noexcept {
    write_stderr("FAILED: ");
    write_stderr(why);
    write_stderr(": ");
    write_stderr(who);
    write_stderr("\n");
    std::abort();
}

// Heap calls made while the exercise was inside a noexcept vmem call (must stay zero).
std::atomic<unsigned long> calls_inside_vmem{0};
std::atomic<const char*> first_call_inside_vmem{nullptr};

// Marks "inside the allocator" for one allocation function; a second entry on the same thread is
// vmem (or something it called) asking the allocator for memory while the allocator waits for vmem.
class entry {
public:
    explicit entry(const char* who) noexcept {
        const unsigned f = flags();
        if (f & inside_allocator)
            die("the allocator was re-entered (something it called allocated)", who);
        if (f & inside_vmem) {
            const char* none = nullptr;
            first_call_inside_vmem.compare_exchange_strong(none, who);
            calls_inside_vmem.fetch_add(1, std::memory_order_relaxed);
        }
        set_flags(f | inside_allocator);
    }
    ~entry() { set_flags(flags() & ~inside_allocator); }
    entry(const entry&) = delete;
    entry& operator=(const entry&) = delete;
};

// --- The allocator. ------------------------------------------------------------------------------

// Every block starts with this header, just before the address handed out. 16 bytes keep the
// address aligned as malloc must (alignof(std::max_align_t) on the platforms built here).
struct alignas(16) header { // 16 bytes on 32-bit systems too
    std::uint32_t magic;
    std::uint32_t size_class; // small blocks
    std::size_t size;         // usable bytes (small, large) or offset back to the block (aligned)
};
constexpr std::size_t header_size = 16;
static_assert(sizeof(header) == header_size, "header layout");
static_assert(alignof(std::max_align_t) <= header_size, "header keeps malloc's alignment");

constexpr std::uint32_t small_magic = 0x736d616c;   // a block of a size class
constexpr std::uint32_t large_magic = 0x6c617267;   // a block with a reservation of its own
constexpr std::uint32_t aligned_magic = 0x616c6967; // an over-aligned address inside a block

constexpr unsigned classes = 12; // 16 bytes to 32 KiB, doubling
constexpr std::size_t largest_small = std::size_t{16} << (classes - 1);

// A large block: its reservation starts with these links (the list is how free() knows a pointer
// outside the arena is its own), then the header, then the memory handed out.
struct large_links {
    large_links* next;
    large_links* prev;
};
constexpr std::size_t large_prefix = 32;
static_assert(sizeof(large_links) <= large_prefix - header_size, "links fit");

// Zero-initialised: usable before any constructor runs (the C++ runtime allocates that early).
struct state {
    std::atomic_flag lock = ATOMIC_FLAG_INIT;
    unsigned char* arena = nullptr; // one vmem reservation for all small blocks
    std::size_t arena_size = 0;
    unsigned char* top = nullptr;       // first byte never handed out
    unsigned char* committed = nullptr; // end of the committed part
    void* free_list[classes] = {};
    large_links large_head = {nullptr, nullptr};
    bool init_failed = false;
    // Statistics.
    std::atomic<unsigned long> allocations{0};
    std::atomic<unsigned long> vmem_calls{0};
    std::atomic<unsigned long> large_blocks{0};
};
state the_state;

class locked {
public:
    locked() noexcept {
        while (the_state.lock.test_and_set(std::memory_order_acquire))
            std::this_thread::yield();
    }
    ~locked() { the_state.lock.clear(std::memory_order_release); }
    locked(const locked&) = delete;
    locked& operator=(const locked&) = delete;
};

std::size_t round_up(std::size_t n, std::size_t to) noexcept {
    return (n + to - 1) / to * to;
}

// Called with the lock held. Reserves the arena on first use (possibly before main).
bool ensure_arena() noexcept {
    if (the_state.arena != nullptr)
        return true;
    if (the_state.init_failed)
        return false;
    std::error_code ec;
    const std::size_t size = std::size_t{1} << 30;
    the_state.vmem_calls.fetch_add(1, std::memory_order_relaxed);
    void* p = vmem::reserve(size, {}, ec); // the arena is never released: it outlives everyone
    if (p == nullptr) {
        the_state.init_failed = true;
        return false;
    }
    the_state.arena = static_cast<unsigned char*>(p);
    the_state.arena_size = size;
    the_state.top = the_state.committed = the_state.arena;
    return true;
}

unsigned size_class_of(std::size_t n) noexcept {
    unsigned c = 0;
    while ((std::size_t{16} << c) < n)
        ++c;
    return c;
}

void* allocate_small(std::size_t n) noexcept {
    const unsigned c = size_class_of(n);
    const std::size_t usable = std::size_t{16} << c;
    locked hold;
    if (!ensure_arena())
        return nullptr;
    unsigned char* block;
    if (void* f = the_state.free_list[c]) {
        the_state.free_list[c] = *static_cast<void**>(f);
        block = static_cast<unsigned char*>(f) - header_size;
    } else {
        const std::size_t need = header_size + usable;
        if (need > static_cast<std::size_t>(the_state.arena + the_state.arena_size - the_state.top))
            return nullptr;
        if (the_state.top + need > the_state.committed) {
            // Commit in steps of several granules, so the arena grows by whole runs.
            const std::size_t step = 4 * vmem::allocation_granularity();
            const std::size_t more = round_up(
                static_cast<std::size_t>(the_state.top + need - the_state.committed), step);
            const std::size_t room = static_cast<std::size_t>(
                the_state.arena + the_state.arena_size - the_state.committed);
            std::error_code ec;
            the_state.vmem_calls.fetch_add(1, std::memory_order_relaxed);
            vmem::commit(the_state.committed, std::min(more, room), vmem::access::read_write, ec);
            if (ec)
                return nullptr;
            the_state.committed += std::min(more, room);
        }
        block = the_state.top;
        the_state.top += need;
    }
    header* h = reinterpret_cast<header*>(block);
    h->magic = small_magic;
    h->size_class = c;
    h->size = usable;
    return block + header_size;
}

void* allocate_large(std::size_t n) noexcept {
    if (n > SIZE_MAX / 2)
        return nullptr;
    const std::size_t total = round_up(large_prefix + n, vmem::page_size());
    std::error_code ec;
    the_state.vmem_calls.fetch_add(2, std::memory_order_relaxed);
    void* base = vmem::reserve(total, {}, ec);
    if (base == nullptr)
        return nullptr;
    vmem::commit(base, total, vmem::access::read_write, ec);
    if (ec) {
        std::error_code ignored; // the commit's failure is what the caller hears of
        vmem::release(base, ignored);
        return nullptr;
    }
    unsigned char* b = static_cast<unsigned char*>(base);
    header* h = reinterpret_cast<header*>(b + large_prefix - header_size);
    h->magic = large_magic;
    h->size_class = 0;
    h->size = total - large_prefix;
    large_links* links = reinterpret_cast<large_links*>(b);
    {
        locked hold;
        links->prev = &the_state.large_head;
        links->next = the_state.large_head.next;
        if (links->next != nullptr)
            links->next->prev = links;
        the_state.large_head.next = links;
    }
    the_state.large_blocks.fetch_add(1, std::memory_order_relaxed);
    return b + large_prefix;
}

void* allocate(std::size_t n) noexcept {
    the_state.allocations.fetch_add(1, std::memory_order_relaxed);
    if (n == 0)
        n = 1;
    return n <= largest_small ? allocate_small(n) : allocate_large(n);
}

// True when `p` is an address this allocator handed out (or inside a block it did).
bool owns(const void* p) noexcept {
    const unsigned char* b = static_cast<const unsigned char*>(p);
    if (the_state.arena != nullptr && b >= the_state.arena && b < the_state.top)
        return true;
    locked hold;
    for (large_links* l = the_state.large_head.next; l != nullptr; l = l->next) {
        const unsigned char* base = reinterpret_cast<const unsigned char*>(l);
        const header* h = reinterpret_cast<const header*>(base + large_prefix - header_size);
        if (b > base && b < base + large_prefix + h->size)
            return true;
    }
    return false;
}

header* header_of(void* p, const char* who) noexcept {
    if (!owns(p))
        die("a pointer this allocator did not hand out", who);
    header* h = reinterpret_cast<header*>(static_cast<unsigned char*>(p) - header_size);
    if (h->magic != small_magic && h->magic != large_magic && h->magic != aligned_magic)
        die("a corrupt or foreign block header", who);
    return h;
}

void deallocate(void* p, const char* who) noexcept {
    if (p == nullptr)
        return;
    header* h = header_of(p, who);
    if (h->magic == aligned_magic) {
        deallocate(static_cast<unsigned char*>(p) - h->size, who);
        return;
    }
    if (h->magic == small_magic) {
        locked hold;
        *static_cast<void**>(p) = the_state.free_list[h->size_class];
        the_state.free_list[h->size_class] = p;
        return;
    }
    unsigned char* base = static_cast<unsigned char*>(p) - large_prefix;
    large_links* links = reinterpret_cast<large_links*>(base);
    {
        locked hold;
        links->prev->next = links->next;
        if (links->next != nullptr)
            links->next->prev = links->prev;
    }
    h->magic = 0;
    std::error_code ec;
    the_state.vmem_calls.fetch_add(1, std::memory_order_relaxed);
    vmem::release(base, ec);
    if (ec)
        die("vmem::release of a large block failed", who);
}

std::size_t usable_size(void* p, const char* who) noexcept {
    if (p == nullptr)
        return 0;
    header* h = header_of(p, who);
    if (h->magic == aligned_magic) {
        unsigned char* block = static_cast<unsigned char*>(p) - h->size;
        return usable_size(block, who) - h->size;
    }
    return h->size;
}

void* allocate_aligned(std::size_t alignment, std::size_t n) noexcept {
    if (alignment <= header_size)
        return allocate(n);
    if (n > SIZE_MAX / 2 || alignment > SIZE_MAX / 4)
        return nullptr;
    unsigned char* block = static_cast<unsigned char*>(allocate(n + alignment + header_size));
    if (block == nullptr)
        return nullptr;
    const std::uintptr_t at =
        (reinterpret_cast<std::uintptr_t>(block) + header_size + alignment - 1) &
        ~static_cast<std::uintptr_t>(alignment - 1);
    unsigned char* p = reinterpret_cast<unsigned char*>(at);
    header* h = reinterpret_cast<header*>(p - header_size);
    h->magic = aligned_magic;
    h->size_class = 0;
    h->size = static_cast<std::size_t>(p - block);
    return p;
}

void* reallocate(void* p, std::size_t n, const char* who) noexcept {
    if (p == nullptr)
        return allocate(n);
    const std::size_t have = usable_size(p, who);
    if (n <= have && n != 0)
        return p;
    void* q = allocate(n);
    if (q == nullptr)
        return nullptr;
    std::memcpy(q, p, std::min(have, n));
    deallocate(p, who);
    return q;
}

bool is_power_of_two(std::size_t n) noexcept {
    return n != 0 && (n & (n - 1)) == 0;
}

// aligned_alloc and memalign: an alignment that is not a power of two fails with EINVAL.
void* allocate_aligned_or_einval(std::size_t alignment, std::size_t n) noexcept {
    if (!is_power_of_two(alignment)) {
        errno = EINVAL;
        return nullptr;
    }
    return allocate_aligned(alignment, n);
}

} // namespace heap

// --- The replaced functions. ---------------------------------------------------------------------

#if VMEM_PROGRAM_REPLACES_MALLOC
extern "C" {

void* malloc(std::size_t n) VMEM_PROGRAM_C_NOEXCEPT {
    heap::entry e("malloc");
    void* p = heap::allocate(n);
    if (p == nullptr)
        errno = ENOMEM;
    return p;
}

void free(void* p) VMEM_PROGRAM_C_NOEXCEPT {
    heap::entry e("free");
    heap::deallocate(p, "free");
}

void* calloc(std::size_t count, std::size_t n) VMEM_PROGRAM_C_NOEXCEPT {
    heap::entry e("calloc");
    if (n != 0 && count > SIZE_MAX / n) {
        errno = ENOMEM;
        return nullptr;
    }
    void* p = heap::allocate(count * n);
    if (p == nullptr)
        errno = ENOMEM;
    else
        std::memset(p, 0, count * n);
    return p;
}

void* realloc(void* p, std::size_t n) VMEM_PROGRAM_C_NOEXCEPT {
    heap::entry e("realloc");
    void* q = heap::reallocate(p, n, "realloc");
    if (q == nullptr && n != 0)
        errno = ENOMEM;
    return q;
}

#if defined(__GLIBC__)
void* reallocarray(void* p, std::size_t count, std::size_t n) noexcept {
    heap::entry e("reallocarray");
    if (n != 0 && count > SIZE_MAX / n) {
        errno = ENOMEM;
        return nullptr;
    }
    return heap::reallocate(p, count * n, "reallocarray");
}

void* aligned_alloc(std::size_t alignment, std::size_t n) noexcept {
    heap::entry e("aligned_alloc");
    return heap::allocate_aligned_or_einval(alignment, n);
}

void* memalign(std::size_t alignment, std::size_t n) noexcept {
    heap::entry e("memalign");
    return heap::allocate_aligned_or_einval(alignment, n);
}

int posix_memalign(void** out, std::size_t alignment, std::size_t n) noexcept {
    heap::entry e("posix_memalign");
    if (!heap::is_power_of_two(alignment) || alignment % sizeof(void*) != 0)
        return EINVAL;
    void* p = heap::allocate_aligned(alignment, n);
    if (p == nullptr)
        return ENOMEM;
    *out = p;
    return 0;
}

void* valloc(std::size_t n) noexcept {
    heap::entry e("valloc");
    return heap::allocate_aligned(vmem::page_size(), n);
}

void* pvalloc(std::size_t n) noexcept {
    heap::entry e("pvalloc");
    const std::size_t page = vmem::page_size();
    return heap::allocate_aligned(page, heap::round_up(n == 0 ? 1 : n, page));
}

std::size_t malloc_usable_size(void* p) noexcept {
    heap::entry e("malloc_usable_size");
    return heap::usable_size(p, "malloc_usable_size");
}
#endif

} // extern "C"
#endif

// Every form of operator new and delete is an entry into the allocator, as `who`.
void* programs::replaced_new::allocate(std::size_t n, const char* who) noexcept {
    heap::entry e(who);
    return heap::allocate(n);
}
void* programs::replaced_new::allocate_aligned(std::size_t n, std::size_t alignment,
                                               const char* who) noexcept {
    heap::entry e(who);
    return heap::allocate_aligned(alignment, n);
}
void programs::replaced_new::deallocate(void* p, const char* who) noexcept {
    heap::entry e(who);
    heap::deallocate(p, who);
}
void programs::replaced_new::deallocate_aligned(void* p, const char* who) noexcept {
    heap::entry e(who);
    heap::deallocate(p, who); // an aligned block knows it is one (aligned_magic)
}

// --- The exercise. -------------------------------------------------------------------------------

namespace {

using namespace programs; // the helpers of check.hpp

// Runs `f` (noexcept vmem calls only) marked as "inside vmem": a heap call in it is counted.
template <class F>
void in_vmem(F&& f) noexcept {
    heap::set_flags(heap::flags() | heap::inside_vmem);
    f();
    heap::set_flags(heap::flags() & ~heap::inside_vmem);
}

void check_no_heap_calls(const char* what) {
    const unsigned long n = heap::calls_inside_vmem.load();
    if (n != 0) {
        const char* first = heap::first_call_inside_vmem.load();
        fail("%s: %lu heap call(s) inside noexcept vmem calls, the first: %s", what, n,
             first != nullptr ? first : "?");
    }
    check(true, what);
}

void heap_works() {
    programs::note("the replaced heap serves the C and C++ runtimes");
    std::vector<std::string> strings;
    for (int i = 0; i < 2000; ++i)
        strings.push_back(std::string(static_cast<std::size_t>(i % 97 + 20), 'x'));
    std::map<int, std::vector<int>> m;
    for (int i = 0; i < 500; ++i)
        m[i].assign(static_cast<std::size_t>(i), i);
    check(m[499].size() == 499 && strings[1999].size() == 1999 % 97 + 20, "containers work");

    std::vector<char> big(5 * heap::largest_small, 'b');
    check(big.back() == 'b', "a large block (a reservation of its own) works");
    void* p = std::malloc(100);
    p = std::realloc(p, 100000);
    check(p != nullptr, "realloc to a large block");
    bytes(p)[99999] = 1;
    p = std::realloc(p, 10);
    std::free(p);
    void* z = std::calloc(1000, 8);
    check(z != nullptr && bytes(z)[0] == 0 && bytes(z)[7999] == 0, "calloc zeroes");
    std::free(z);
    struct alignas(256) over_aligned {
        char c;
    };
    over_aligned* o = new over_aligned[3];
    check(reinterpret_cast<std::uintptr_t>(o) % 256 == 0, "over-aligned operator new[]");
    delete[] o;
#if defined(__GLIBC__)
    void* a = nullptr;
    check(posix_memalign(&a, 1024, 10) == 0 && reinterpret_cast<std::uintptr_t>(a) % 1024 == 0,
          "posix_memalign");
    check(malloc_usable_size(a) >= 10, "malloc_usable_size");
    std::free(a);
#endif
    check(heap::the_state.vmem_calls.load() > 0, "the heap took its memory from vmem");
}

void reserve_variants() {
    programs::note("reserve: options and bad input");
    std::error_code ec;
    void* p = nullptr;
    vmem::reserve_options aligned;
    aligned.alignment = 16 * granularity();
    in_vmem([&] { p = vmem::reserve(3 * page(), aligned, ec); });
    check_ok(ec, "reserve aligned");
    check(reinterpret_cast<std::uintptr_t>(p) % aligned.alignment == 0, "aligned as asked");

    vmem::reserve_options hint;
    hint.address = bytes(p) + granularity() / 2 + 1; // rounds down to p
    in_vmem([&] { vmem::release(p, ec); });
    check_ok(ec, "release it");
    void* q = nullptr;
    vmem::reserve_options exact = hint;
    exact.at = vmem::placement::exact;
    in_vmem([&] { q = vmem::reserve(granularity(), exact, ec); });
    check_ok(ec, "reserve exactly at a free address (rounded down to the granularity)");
    check(q == p, "at that address");
    void* r = nullptr;
    in_vmem([&] { r = vmem::reserve(granularity(), exact, ec); });
    check_error(ec, vmem::errc::address_unavailable, "exact at a taken address");
    check(r == nullptr, "returns null");
    in_vmem([&] { r = vmem::reserve(granularity(), hint, ec); });
    check_ok(ec, "prefer at a taken address goes elsewhere");
    check(r != nullptr && r != q, "elsewhere");
    in_vmem([&] {
        vmem::release(q, ec);
        vmem::release(r, ec);
    });
    check_ok(ec, "release both");

    struct bad {
        std::size_t size;
        vmem::reserve_options options;
        vmem::errc expected;
        const char* what;
    };
    vmem::reserve_options bad_alignment;
    bad_alignment.alignment = 3 * granularity();
    vmem::reserve_options bad_placement;
    bad_placement.at = static_cast<vmem::placement>(7);
    vmem::reserve_options exact_null;
    exact_null.at = vmem::placement::exact;
    const bad cases[] = {
        {0, {}, vmem::errc::zero_size, "reserve of zero bytes"},
        {SIZE_MAX, {}, vmem::errc::size_overflow, "reserve of SIZE_MAX bytes"},
        {page(), bad_alignment, vmem::errc::invalid_alignment, "reserve with alignment 3 units"},
        {page(), bad_placement, vmem::errc::invalid_placement, "reserve with placement(7)"},
        {page(), exact_null, vmem::errc::null_address, "exact reserve without an address"},
    };
    for (const bad& c : cases) {
        void* got = &ec;
        in_vmem([&] { got = vmem::reserve(c.size, c.options, ec); });
        check(got == nullptr, c.what);
        check_error(ec, c.expected, "  with the contract error");
    }
    try {
        (void)vmem::reserve(0);
        check(false, "the throwing reserve throws");
    } catch (const std::system_error& e) {
        check(e.code() == vmem::errc::zero_size, "the throwing reserve throws (and may allocate)");
    }
    check_no_heap_calls("reserve: no heap call inside the noexcept calls");
}

void page_operations() {
    programs::note("commit, decommit, protect, release: free functions and members");
    std::error_code ec;
    vmem::reservation r(16 * page(), {}, ec);
    check_ok(ec, "a reservation");
    unsigned char* b = bytes(r.base());
    in_vmem([&] { vmem::commit(b, 4 * page(), vmem::access::read_write, ec); });
    check_ok(ec, "commit (free function)");
    std::memset(b, 0x3c, 4 * page());
    in_vmem([&] { r.commit(b + 2 * page(), 4 * page(), vmem::access::read_write, ec); });
    check_ok(ec, "commit (member) over committed and reserved pages");
    check(b[2 * page()] == 0x3c && b[5 * page()] == 0, "old contents kept, new pages zero");
    check(r.committed_bytes() == 6 * page(), "committed_bytes");
    in_vmem([&] { vmem::protect(b, 2 * page(), vmem::access::read, ec); });
    check_ok(ec, "protect (free function)");
    in_vmem([&] { r.protect(b + page(), 3 * page(), vmem::access::read_write, ec); });
    check_ok(ec, "protect (member)");
    in_vmem([&] { vmem::decommit(b + page(), 2 * page(), ec); });
    check_ok(ec, "decommit (free function)");
    in_vmem([&] { r.decommit(b + 4 * page(), page(), ec); });
    check_ok(ec, "decommit (member)");
    check(r.committed_bytes() == 3 * page(), "committed_bytes follows");
    in_vmem([&] { r.protect(b, 2 * page(), vmem::access::read, ec); });
    check_error(ec, vmem::errc::not_committed, "protect over a decommitted page");
    in_vmem([&] { vmem::commit(b + page(), page(), vmem::access::read_write, ec); });
    check(!ec && b[page()] == 0 && b[0] == 0x3c, "recommit reads zero, neighbours kept");

    int on_stack = 0;
    in_vmem([&] { vmem::commit(&on_stack, 1, vmem::access::read_write, ec); });
    check_error(ec, vmem::errc::not_reserved, "commit outside any reservation");
    in_vmem([&] { vmem::commit(b + 15 * page(), 2 * page(), vmem::access::read_write, ec); });
    // What follows the reservation may be another one (the heap's, say).
    check(ec == vmem::errc::outside_reservation || ec == vmem::errc::spans_reservations,
          "commit past the end (outside_reservation, or spans_reservations)");
    in_vmem([&] { r.commit(b + 15 * page(), 2 * page(), vmem::access::read_write, ec); });
    check_error(ec, vmem::errc::outside_reservation, "commit (member) past the end");
    in_vmem([&] { vmem::commit(nullptr, page(), vmem::access::read_write, ec); });
    check_error(ec, vmem::errc::null_address, "commit at null");
    in_vmem([&] { vmem::decommit(b, 0, ec); });
    check_error(ec, vmem::errc::zero_size, "decommit of zero bytes");
    in_vmem([&] { vmem::protect(b, page(), static_cast<vmem::access>(2), ec); });
    check_error(ec, vmem::errc::invalid_access, "protect with access(2)");
    in_vmem([&] { vmem::protect(b, SIZE_MAX, vmem::access::read, ec); });
    check_error(ec, vmem::errc::size_overflow, "protect of SIZE_MAX bytes");
    in_vmem([&] { vmem::release(b + page(), ec); });
    check_error(ec, vmem::errc::not_reservation_base, "release inside a reservation");
    in_vmem([&] { vmem::release(b, ec); });
    check_error(ec, vmem::errc::reservation_owned, "release of an owned reservation");

    // Two adjacent reservations: a range across both is refused.
    void* pair = nullptr;
    in_vmem([&] { pair = vmem::reserve(2 * granularity(), {}, ec); });
    check_ok(ec, "reserve two granules");
    in_vmem([&] { vmem::release(pair, ec); });
    vmem::reserve_options lo;
    lo.address = pair;
    lo.at = vmem::placement::exact;
    vmem::reserve_options hi = lo;
    hi.address = bytes(pair) + granularity();
    void* first = nullptr;
    void* second = nullptr;
    in_vmem([&] {
        first = vmem::reserve(granularity(), lo, ec);
        if (!ec)
            second = vmem::reserve(granularity(), hi, ec);
    });
    check_ok(ec, "two adjacent reservations");
    in_vmem([&] { vmem::commit(bytes(second) - page(), 2 * page(), vmem::access::read, ec); });
    check_error(ec, vmem::errc::spans_reservations, "commit across two reservations");
    in_vmem([&] {
        vmem::release(first, ec);
        vmem::release(second, ec);
    });
    check_ok(ec, "release them");

    void* base = r.base();
    in_vmem([&] { r.release(ec); });
    check_ok(ec, "release (member)");
    check(!r && programs::range_is_free(base, 16 * page()), "the range is free again");
    in_vmem([&] { r.release(ec); });
    check_error(ec, vmem::errc::empty_reservation, "release of an empty reservation");
    in_vmem([&] { r.commit(base, page(), vmem::access::read, ec); });
    check_error(ec, vmem::errc::empty_reservation, "commit on an empty reservation");
    check_no_heap_calls("page operations: no heap call inside the noexcept calls");
}

void ownership() {
    programs::note("ownership: adopt, detach, moves");
    std::error_code ec;
    void* base = nullptr;
    in_vmem([&] { base = vmem::reserve(4 * page(), {}, ec); });
    check_ok(ec, "reserve");
    vmem::reservation a;
    vmem::reservation b;
    in_vmem([&] {
        a = vmem::reservation::adopt(base, ec);
        if (!ec)
            b = vmem::reservation::adopt(base, ec);
    });
    check_error(ec, vmem::errc::reservation_owned, "a second adopt is refused");
    check(a.base() == base && !b, "one owner");
    void* detached = nullptr;
    in_vmem([&] {
        b = std::move(a);
        detached = b.detach();
        a = vmem::reservation::adopt(detached, ec);
    });
    check_ok(ec, "move, detach, adopt again");
    check(a.base() == base && !b, "still one owner");
    in_vmem([&] {
        vmem::reservation c(2 * page(), {}, ec);
        swap(a, c);
        // c (holding `base`) releases it here.
    });
    check_ok(ec, "a reservation made and swapped");
    check(programs::range_is_free(base, 4 * page()), "the swapped-out reservation was released");
    in_vmem([&] { b = vmem::reservation::adopt(bytes(a.base()) + page(), ec); });
    check_error(ec, vmem::errc::not_reservation_base, "adopt inside a reservation");
    check_no_heap_calls("ownership: no heap call inside the noexcept calls");
}

// The seam makes the next operation of a kind fail. Nothing between arming it and the call may
// allocate a large block or grow the arena (the heap's own vmem calls would take the failure):
// the arena has room and nothing here allocates.
void injected_failures() {
    programs::note("failures injected through vmem::testing::fail_os_call");
    namespace t = vmem::testing;
    const std::error_code oom = std::make_error_code(std::errc::not_enough_memory);
    std::error_code ec;
    vmem::reservation r(8 * page(), {}, ec);
    check_ok(ec, "a reservation");
    unsigned char* b = bytes(r.base());
    r.commit(b, page(), vmem::access::read_write, ec);
    b[0] = 0x61;

    std::error_code arm;
    void* p = &ec;
    in_vmem([&] {
        t::fail_os_call(t::os_call::reserve, oom, 0, arm);
        p = vmem::reserve(page(), {}, ec);
    });
    check_ok(arm, "arm reserve");
    check(p == nullptr, "an injected reserve failure returns null");
    check_error(ec, std::errc::not_enough_memory, "  with the injected error");
    in_vmem([&] {
        t::fail_os_call(t::os_call::commit, oom, 0, arm);
        r.commit(b, 3 * page(), vmem::access::read, ec);
    });
    check_error(ec, std::errc::not_enough_memory, "an injected commit failure");
    check(r.committed_bytes() == page() && b[0] == 0x61, "changes nothing");
    in_vmem([&] {
        t::fail_os_call(t::os_call::protect, oom, 0, arm);
        vmem::protect(b, page(), vmem::access::read, ec);
    });
    check_error(ec, std::errc::not_enough_memory, "an injected protect failure");
    in_vmem([&] {
        t::fail_os_call(t::os_call::decommit, oom, 0, arm);
        r.decommit(b, page(), ec);
    });
    check_error(ec, std::errc::not_enough_memory, "an injected decommit failure");
    check(b[0] == 0x61, "changes nothing");
    b[0] = 0x62; // still writable: neither protect nor decommit happened
    in_vmem([&] {
        t::fail_os_call(t::os_call::release, oom, 0, arm);
        r.release(ec);
    });
    check_error(ec, std::errc::not_enough_memory, "an injected release failure");
    check(r && b[0] == 0x62, "the owner still holds its reservation");
    in_vmem([&] { t::fail_os_call(t::os_call::commit, std::error_code(), 0, arm); });
    check_error(arm, std::errc::invalid_argument, "arming with no error is refused");
    in_vmem([&] {
        t::fail_os_call(t::os_call::commit, oom, 1, arm);
        t::clear_os_call_failures();
        r.commit(b, 2 * page(), vmem::access::read_write, ec);
        if (!ec)
            r.commit(b, 2 * page(), vmem::access::read_write, ec);
    });
    check_ok(ec, "clear_os_call_failures disarms");
    check_no_heap_calls("injected failures: no heap call inside the noexcept calls");

    programs::note("the heap's own out-of-memory path, through the same seam");
    t::fail_os_call(t::os_call::reserve, oom, 0);
    void* big = std::malloc(4 * heap::largest_small);
    check(big == nullptr, "malloc of a large block fails when its reserve fails");
    t::fail_os_call(t::os_call::commit, oom, 0);
    big = std::malloc(4 * heap::largest_small);
    check(big == nullptr, "and when its commit fails (the heap releases what it reserved)");
    t::fail_os_call(t::os_call::reserve, oom, 0);
    bool threw = false;
    try {
        std::vector<char> v(4 * heap::largest_small);
    } catch (const std::bad_alloc&) {
        threw = true;
    }
    check(threw, "operator new throws bad_alloc");
    big = std::malloc(4 * heap::largest_small);
    check(big != nullptr, "and the heap works again");
    std::free(big);
}

void threads() {
    programs::note("several threads: vmem operations and the heap (which calls vmem) at once");
    constexpr int n = 4;
    std::atomic<int> failures{0};
    std::atomic<int> first_error{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < n; ++t)
        workers.emplace_back([t, &failures, &first_error] {
            std::vector<void*> blocks;
            for (int i = 0; i < 200; ++i) {
                std::error_code ec;
                const std::size_t size = static_cast<std::size_t>(1 + (i + t) % 7) * page();
                vmem::reservation r;
                in_vmem([&] {
                    r = vmem::reservation(size, {}, ec);
                    if (!ec)
                        vmem::commit(r.base(), size, vmem::access::read_write, ec);
                });
                if (ec) {
                    int none = 0;
                    first_error.compare_exchange_strong(none, ec.value());
                    ++failures;
                    continue;
                }
                bytes(r.base())[size - 1] = static_cast<unsigned char>(i);
                in_vmem([&] {
                    vmem::protect(bytes(r.base()) + size - page(), page(), vmem::access::read, ec);
                    if (!ec)
                        r.decommit(r.base(), page(), ec);
                    if (!ec)
                        r.release(ec);
                });
                if (ec) {
                    int none = 0;
                    first_error.compare_exchange_strong(none, ec.value());
                    ++failures;
                }
                // The heap, with small and large blocks, between vmem calls.
                blocks.push_back(std::malloc(static_cast<std::size_t>(16 << (i % 14))));
                if (i % 3 == 0) {
                    std::free(blocks.front());
                    blocks.erase(blocks.begin());
                }
            }
            for (void* b : blocks)
                std::free(b);
        });
    for (std::thread& w : workers)
        w.join();
    if (failures.load() != 0)
        std::printf("-- %d failed; the first with error %d\n", failures.load(), first_error.load());
    check(failures.load() == 0, "every operation of every thread succeeded");
    check(heap::the_state.large_blocks.load() > 0, "the threads made large blocks (vmem calls)");
    check_no_heap_calls("threads: no heap call inside the noexcept calls");
}

void queries() {
    programs::note("queries");
    std::size_t p = 0;
    std::size_t g = 0;
    std::size_t bytes_held = 0;
    vmem::capabilities caps{};
    in_vmem([&] {
        p = vmem::page_size();
        g = vmem::allocation_granularity();
        caps = vmem::query_capabilities();
        bytes_held = vmem::testing::bookkeeping_bytes();
        vmem::testing::use_native_aligned_reserve(false);
        std::error_code ec;
        vmem::reserve_options aligned;
        aligned.alignment = 8 * g;
        void* a = vmem::reserve(g, aligned, ec);
        if (a != nullptr)
            vmem::release(a, ec);
        vmem::testing::use_native_aligned_reserve(true);
    });
    check(p != 0 && g >= p && caps.page_size == p, "page size, granularity, capabilities");
    check(bytes_held > 0, "bookkeeping_bytes: the heap's own reservations are recorded");
    check_no_heap_calls("queries: no heap call inside the noexcept calls");
}

} // namespace

int main() {
#if VMEM_PROGRAM_REPLACES_MALLOC
    programs::note("no_heap_malloc_replaced: malloc and operator new come from an allocator on "
                   "vmem");
#else
    programs::note("no_heap_malloc_replaced: operator new comes from an allocator on vmem (this "
                   "system's malloc is not replaced: see the comment at the top)");
#endif
    heap_works();
    reserve_variants();
    page_operations();
    ownership();
    injected_failures();
    threads();
    queries();
    std::printf("-- the heap served %lu allocations and made %lu vmem calls\n",
                heap::the_state.allocations.load(), heap::the_state.vmem_calls.load());
    programs::note("no_heap_malloc_replaced: passed");
    return 0;
}
