// vmem tests: bad input gets a clear error and changes nothing.
//
// A catalogue: every public entry point, each kind of bad input its contract names (null, zero,
// sizes that wrap, addresses inside or outside a reservation where the base is needed, ranges that
// leave a reservation or span two, released and foreign memory, values outside an enum, invalid
// alignments, empty objects). Every case runs against the same world: a released hole, two
// adjacent reservations A and B, and another released hole. A is half committed (with a pattern)
// and half reserved; B holds a committed pattern, a page committed with access::none, a guard page
// and reserved pages. After the call, every page of A and B must be exactly as before (the runs
// vmem::query reports, readability and writability through the probe, contents), no reservation
// in the holes, and vmem's bookkeeping as large as before (vmem::testing::bookkeeping_bytes).
//
// The README's "Bad input" table is this catalogue: `readme_lists_every_case` fails until the
// table it writes to bad_input_table.md when they differ is in README.md as written.
#include "common.hpp"

#include "support/boost_test_data.hpp"

#include <cerrno>
#include <cstdint>
#include <fstream>
#include <functional>
#include <limits>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

using namespace vmem_test;
namespace data = boost::unit_test::data;
using vmem::errc;

namespace {

// Each reservation of the world: four allocation granularity units.
std::size_t unit() {
    return 4 * granularity();
}

struct world {
    vmem::reservation rs[2];
    vmem::reservation& a = rs[0];
    vmem::reservation& b = rs[1];
    void* hole_before = nullptr; // a released reservation just below A
    void* hole_after = nullptr;  // a released reservation just above B
    std::string changed;         // what a case saw change in an object of its own (arena, block)

    world() {
        vmem::reservation four[4];
        reserve_adjacent(four, unit());
        hole_before = four[0].base();
        hole_after = four[3].base();
        four[0].release();
        four[3].release();
        a = std::move(four[1]);
        b = std::move(four[2]);
        unsigned seed = 40;
        for (auto& r : rs) {
            r.commit(r.base(), granularity(), vmem::access::read_write);
            fill_pattern(r.base(), granularity(), seed++);
        }
        b.commit(none_page(), page(), vmem::access::none);
        b.guard(guard_page(), page());
        // A protect that changes nothing tops up each reservation's spare run nodes (which every
        // operation that may split a run does first, even one then refused): the bookkeeping
        // compared is then what a call keeps, not a cache it refilled.
        for (auto& r : rs)
            r.protect(r.base(), page(), vmem::access::read_write);
    }
    unsigned char* end_of_a() const { return bytes(a) + a.size(); }
    unsigned char* reserved_in_a() const { return bytes(a) + granularity(); }
    unsigned char* none_page() const { return bytes(b) + granularity(); }
    unsigned char* guard_page() const { return none_page() + page(); }
};

struct page_seen {
    bool readable, writable;
    unsigned long sum;
    bool operator==(const page_seen& o) const {
        return readable == o.readable && writable == o.writable && sum == o.sum;
    }
};

// A run of pages as vmem::query reports it.
struct run_seen {
    std::uintptr_t base;
    std::size_t size;
    vmem::page_state state;
    vmem::access access;
    void* reservation;
    bool operator==(const run_seen& o) const {
        return base == o.base && size == o.size && state == o.state && access == o.access &&
               reservation == o.reservation;
    }
};

struct seen {
    std::vector<page_seen> pages;
    std::vector<run_seen> runs;
    void* below; // the vmem reservation holding the hole below A (none), and above B
    void* above;
    void* bases[2];
    std::size_t committed[2];
    std::size_t bookkeeping;
};

void add_runs(const vmem::reservation& r, std::vector<run_seen>& out) {
    unsigned char* p = bytes(r);
    unsigned char* const end = p + r.size();
    while (p < end) {
        std::error_code ec;
        const vmem::region g = vmem::query(p, ec);
        unsigned char* const next = bytes(g.base) + g.size;
        if (ec || next <= p) { // recorded as such: the comparison shows it
            out.push_back({reinterpret_cast<std::uintptr_t>(p), 0, vmem::page_state::free,
                           vmem::access::none, nullptr});
            return;
        }
        out.push_back(
            {reinterpret_cast<std::uintptr_t>(g.base), g.size, g.state, g.access, g.reservation});
        p = next;
    }
}

// The vmem reservation holding `p` as query reports it (the address itself when query fails).
// Not the page's state: the OS may put memory of its own in a hole (Windows and Wine allocate
// bottom-up, into the first hole that fits), but vmem must leave no reservation there.
void* reservation_at(void* p) {
    std::error_code ec;
    const vmem::region g = vmem::query(p, ec);
    return ec ? p : g.reservation;
}

seen look(const world& w) {
    seen out{};
    for (const auto& r : w.rs) {
        for (std::size_t off = 0; off < r.size(); off += page()) {
            unsigned char* p = bytes(r) + off;
            page_seen s{vmem_probe::can_read(p), vmem_probe::can_write(p), 0};
            if (s.readable)
                for (std::size_t i = 0; i < page(); ++i)
                    s.sum = s.sum * 31 + p[i];
            out.pages.push_back(s);
        }
        add_runs(r, out.runs);
    }
    out.below = reservation_at(w.hole_before);
    out.above = reservation_at(w.hole_after);
    for (int i = 0; i < 2; ++i) {
        out.bases[i] = w.rs[i].base();
        out.committed[i] = w.rs[i].committed_bytes();
    }
    out.bookkeeping = vmem::testing::bookkeeping_bytes();
    return out;
}

void* at(std::uintptr_t a) {
    return reinterpret_cast<void*>(a);
}
constexpr std::size_t size_max = std::numeric_limits<std::size_t>::max();
constexpr std::uintptr_t top = std::numeric_limits<std::uintptr_t>::max();
const vmem::access write_only = static_cast<vmem::access>(2);
const vmem::access execute_only = static_cast<vmem::access>(4);
const vmem::access nonsense = static_cast<vmem::access>(42);

// What every case checks is in the header comment; `also` names what a case checks besides.
struct bad_case {
    const char* name; // the input
    std::function<void(world&, std::error_code&)> call;
    std::error_code expected;
    const char* also = nullptr;
    bool wide_only = false; // needs a 64-bit address space
};

std::ostream& operator<<(std::ostream& os, const bad_case& c) {
    return os << c.name;
}

std::string error_name(const std::error_code& e) {
    if (e.category() == vmem::error_category()) {
        switch (static_cast<errc>(e.value())) {
        case errc::null_address:
            return "errc::null_address";
        case errc::zero_size:
            return "errc::zero_size";
        case errc::size_overflow:
            return "errc::size_overflow";
        case errc::invalid_access:
            return "errc::invalid_access";
        case errc::invalid_alignment:
            return "errc::invalid_alignment";
        case errc::not_reserved:
            return "errc::not_reserved";
        case errc::not_reservation_base:
            return "errc::not_reservation_base";
        case errc::outside_reservation:
            return "errc::outside_reservation";
        case errc::spans_reservations:
            return "errc::spans_reservations";
        case errc::not_committed:
            return "errc::not_committed";
        case errc::empty_reservation:
            return "errc::empty_reservation";
        case errc::address_unavailable:
            return "errc::address_unavailable";
        case errc::reservation_owned:
            return "errc::reservation_owned";
        case errc::invalid_placement:
            return "errc::invalid_placement";
        case errc::invalid_option:
            return "errc::invalid_option";
        case errc::guard_page:
            return "errc::guard_page";
        case errc::no_access:
            return "errc::no_access";
        case errc::not_supported:
            return "errc::not_supported";
        case errc::huge_pages_unavailable:
            return "errc::huge_pages_unavailable";
        case errc::mapping_limit:
            return "errc::mapping_limit";
        case errc::process_limit:
            return "errc::process_limit";
        }
    }
    if (e == std::make_error_code(std::errc::invalid_argument))
        return "std::errc::invalid_argument";
    if (e == std::make_error_code(std::errc::not_enough_memory))
        return "std::errc::not_enough_memory";
    return std::string(e.category().name()) + ":" + std::to_string(e.value());
}

vmem::reserve_options exactly(void* p) {
    vmem::reserve_options o;
    o.address = p;
    o.at = vmem::placement::exact;
    return o;
}

vmem::reserve_options aligned(std::size_t alignment) {
    vmem::reserve_options o;
    o.alignment = alignment;
    return o;
}

vmem::reserve_options placed(vmem::placement at) {
    vmem::reserve_options o;
    o.at = at;
    return o;
}

vmem::reserve_options committed_with(vmem::access a) {
    vmem::reserve_options o;
    o.commit = true;
    o.commit_access = a;
    return o;
}

// A reserve that unexpectedly succeeds is released again, so only the error is compared.
void try_reserve(std::size_t size, const vmem::reserve_options& o, std::error_code& ec) {
    if (void* p = vmem::reserve(size, o, ec))
        vmem::release(p);
}

// The reservation constructor's noexcept form: the object must stay empty.
void try_reservation(world& w, std::size_t size, const vmem::reserve_options& o,
                     std::error_code& ec) {
    vmem::reservation r(size, o, ec);
    if (r || r.base() != nullptr || r.size() != 0)
        w.changed = "the reservation object is not empty";
}

// Memory vmem does not own, mapped straight through the OS (mmap; VirtualAlloc) where a
// reservation was, committed read-write and filled with a pattern; after `op` it must still be
// writable and hold its pattern.
constexpr const char* foreign_kept = "the foreign memory's access and contents";

void on_foreign(world& w, std::error_code& ec, void (*op)(void*, std::error_code&)) {
    void* spot = vmem::reserve(granularity());
    vmem::release(spot);
    void* p = vmem_probe::map_foreign(spot, granularity());
    if (p == nullptr) {
        w.changed = "no foreign memory could be mapped";
        return;
    }
    fill_pattern(p, granularity(), 77);
    op(p, ec);
    if (!vmem_probe::can_write(p) || !has_pattern(p, granularity(), 77))
        w.changed = "the foreign memory changed";
    vmem_probe::unmap_foreign(p, granularity());
}

// A heap and a stack address, with the same check.
void on_heap(world& w, std::error_code& ec, void (*op)(void*, std::error_code&)) {
    std::vector<unsigned char> heap(page(), 9);
    op(heap.data(), ec);
    if (!all_equal(heap.data(), heap.size(), 9))
        w.changed = "the heap block changed";
}

void on_stack(world& w, std::error_code& ec, void (*op)(void*, std::error_code&)) {
    unsigned char local[64];
    for (unsigned char& c : local)
        c = 5;
    op(local, ec);
    if (!all_equal(local, sizeof local, 5))
        w.changed = "the stack changed";
}

// Empty vmem::reservation objects, each way one becomes empty; `op` gets A's committed pages as
// its range, so that an operation forgetting the check would act on real pages (or crash).
void through_default(world& w, std::error_code& ec,
                     void (*op)(vmem::reservation&, void*, std::error_code&)) {
    vmem::reservation empty;
    op(empty, w.a.base(), ec);
}

void through_moved_from(world& w, std::error_code& ec,
                        void (*op)(vmem::reservation&, void*, std::error_code&)) {
    vmem::reservation r(page());
    vmem::reservation taken(std::move(r));
    op(r, w.a.base(), ec);
    if (r || !taken)
        w.changed = "the moved-from reservation is not empty";
}

void through_released(world& w, std::error_code& ec,
                      void (*op)(vmem::reservation&, void*, std::error_code&)) {
    vmem::reservation r(page());
    r.release();
    op(r, w.a.base(), ec);
}

void through_detached(world& w, std::error_code& ec,
                      void (*op)(vmem::reservation&, void*, std::error_code&)) {
    vmem::reservation r(page());
    void* base = r.detach();
    op(r, w.a.base(), ec);
    vmem::release(base);
}

// An arena of its own: its top and its committed bytes must not move.
constexpr const char* arena_kept = "the arena's top and committed bytes";

void arena_unchanged(world& w, const vmem::arena& ar, std::size_t size, std::size_t committed) {
    if (ar.size() != size || ar.committed() != committed)
        w.changed = "the arena's top or commit moved";
}

constexpr const char* empty_kept = "the object stays empty";

template <class Block>
void block_empty(world& w, const Block& g) {
    if (g)
        w.changed = "the guarded object is not empty";
}

// The seam must stay disarmed: a reserve still goes through.
constexpr const char* seam_kept = "nothing armed";

void seam_unarmed(world& w) {
    std::error_code ec;
    vmem::reservation r(page(), {}, ec);
    if (!ec)
        r.commit(r.base(), page(), vmem::access::read_write, ec);
    if (ec)
        w.changed = "a failure was armed";
    vmem::testing::clear_os_call_failures();
}

// An error in the category of the OS's own errors, as failure_mode::after_part needs.
std::error_code os_error() {
#if defined(VMEM_WINDOWS)
    return {8, vmem::win32_category()}; // ERROR_NOT_ENOUGH_MEMORY
#else
    return {ENOMEM, std::system_category()};
#endif
}

// The highest bit of an address: an alignment no address space can honour.
constexpr std::size_t top_bit = std::size_t{1} << (sizeof(std::size_t) * 8 - 1);

// Addresses no program can own on a 64-bit system: non-canonical on x86-64 and aarch64 (beyond
// even 57-bit addressing), and the bottom of the kernel's half; and an alignment of the top address
// bit, which no 64-bit user space reaches (a 32-bit process may reach 4 GiB, where 2 GiB is a
// possible alignment). Listed everywhere, skipped with a message on 32-bit systems.
constexpr std::uintptr_t high = std::uintptr_t{1} << (sizeof(void*) == 8 ? 62 : 30);
constexpr std::uintptr_t kernel = ~std::uintptr_t{0} << (sizeof(void*) == 8 ? 47 : 31);

std::vector<bad_case> all_cases();

const std::vector<bad_case> cases = all_cases();

std::vector<bad_case> all_cases() {
    using vmem::access;
    using rsv = vmem::reservation;
    return {
        // reserve
        {"reserve of zero bytes", [](world&, std::error_code& ec) { try_reserve(0, {}, ec); },
         errc::zero_size},
        {"reserve of SIZE_MAX bytes",
         [](world&, std::error_code& ec) { try_reserve(size_max, {}, ec); }, errc::size_overflow},
        {"reserve whose round-up to pages wraps (SIZE_MAX - page + 2)",
         [](world&, std::error_code& ec) { try_reserve(size_max - page() + 2, {}, ec); },
         errc::size_overflow},
        {"reserve of every page of the address space but the last (SIZE_MAX - page + 1)",
         [](world&, std::error_code& ec) { try_reserve(size_max - page() + 1, {}, ec); },
         errc::size_overflow},
        {"reserve larger than the address space",
         [](world&, std::error_code& ec) {
             // More than any user address space: half of it on 64-bit systems; on 32-bit ones,
             // whose user space may reach 3 or nearly 4 GiB, all but the top unit.
             try_reserve(sizeof(void*) == 8 ? size_max / 2 + 1 : size_max - granularity() + 1, {},
                         ec);
         },
         errc::size_overflow},
        {"reserve with alignment 3",
         [](world&, std::error_code& ec) { try_reserve(page(), aligned(3), ec); },
         errc::invalid_alignment},
        {"reserve with alignment 3 * granularity",
         [](world&, std::error_code& ec) { try_reserve(page(), aligned(3 * granularity()), ec); },
         errc::invalid_alignment},
        {"reserve with alignment SIZE_MAX",
         [](world&, std::error_code& ec) { try_reserve(page(), aligned(size_max), ec); },
         errc::invalid_alignment},
        {"reserve with an alignment of the top address bit (64-bit)",
         [](world&, std::error_code& ec) { try_reserve(page(), aligned(top_bit), ec); },
         errc::invalid_alignment, nullptr, true},
        {"reserve exactly at a null address",
         [](world&, std::error_code& ec) { try_reserve(page(), exactly(nullptr), ec); },
         errc::null_address},
        {"reserve exactly at an address that rounds down to null",
         [](world&, std::error_code& ec) {
             try_reserve(page(), exactly(at(granularity() - 1)), ec);
         },
         errc::address_unavailable},
        {"reserve exactly over reservation A",
         [](world& w, std::error_code& ec) { try_reserve(page(), exactly(w.a.base()), ec); },
         errc::address_unavailable},
        {"reserve exactly over the end of A and the start of B",
         [](world& w, std::error_code& ec) {
             try_reserve(2 * granularity(), exactly(w.end_of_a() - granularity()), ec);
         },
         errc::address_unavailable},
        {"reserve exactly at an address whose end wraps",
         [](world&, std::error_code& ec) {
             try_reserve(4 * granularity(), exactly(at(top - granularity() + 1)), ec);
         },
         errc::address_unavailable},
        {"reserve exactly at 2^62, non-canonical (64-bit)",
         [](world&, std::error_code& ec) { try_reserve(granularity(), exactly(at(high)), ec); },
         errc::address_unavailable, nullptr, true},
        {"reserve exactly at 0xFFFF800000000000, kernel space (64-bit)",
         [](world&, std::error_code& ec) { try_reserve(granularity(), exactly(at(kernel)), ec); },
         errc::address_unavailable, nullptr, true},
        {"reserve with placement 7",
         [](world&, std::error_code& ec) {
             try_reserve(page(), placed(static_cast<vmem::placement>(7)), ec);
         },
         errc::invalid_placement},
        {"reserve with placement 7 and an address",
         [](world& w, std::error_code& ec) {
             vmem::reserve_options o = exactly(w.hole_after);
             o.at = static_cast<vmem::placement>(7);
             try_reserve(page(), o, ec);
         },
         errc::invalid_placement},
        {"reserve with commit and commit_access 42",
         [](world&, std::error_code& ec) { try_reserve(page(), committed_with(nonsense), ec); },
         errc::invalid_access},
        {"reserve with commit and a write-only commit_access",
         [](world&, std::error_code& ec) { try_reserve(page(), committed_with(write_only), ec); },
         errc::invalid_access},
        {"reserve with prefault but not commit",
         [](world&, std::error_code& ec) {
             vmem::reserve_options o;
             o.prefault = true;
             try_reserve(page(), o, ec);
         },
         errc::invalid_option},
        {"reserve with huge_pages 9",
         [](world&, std::error_code& ec) {
             vmem::reserve_options o;
             o.huge = static_cast<vmem::huge_pages>(9);
             try_reserve(page(), o, ec);
         },
         errc::invalid_option},
        {"reserve with fork_policy 9",
         [](world&, std::error_code& ec) {
             vmem::reserve_options o;
             o.fork = static_cast<vmem::fork_policy>(9);
             try_reserve(page(), o, ec);
         },
         errc::invalid_option},
        {"reservation constructor of zero bytes",
         [](world& w, std::error_code& ec) { try_reservation(w, 0, {}, ec); }, errc::zero_size,
         empty_kept},
        {"reservation constructor of SIZE_MAX bytes",
         [](world& w, std::error_code& ec) { try_reservation(w, size_max, {}, ec); },
         errc::size_overflow, empty_kept},
        {"reservation constructor with alignment 3",
         [](world& w, std::error_code& ec) { try_reservation(w, page(), aligned(3), ec); },
         errc::invalid_alignment, empty_kept},
        {"reservation constructor exactly over B",
         [](world& w, std::error_code& ec) {
             try_reservation(w, page(), exactly(w.none_page()), ec);
         },
         errc::address_unavailable, empty_kept},
        // commit
        {"commit at null",
         [](world&, std::error_code& ec) { vmem::commit(nullptr, page(), access::read, ec); },
         errc::null_address},
        {"commit of zero bytes",
         [](world& w, std::error_code& ec) { vmem::commit(w.a.base(), 0, access::read, ec); },
         errc::zero_size},
        {"commit of SIZE_MAX bytes from A's base",
         [](world& w, std::error_code& ec) {
             vmem::commit(w.a.base(), size_max, access::read, ec);
         },
         errc::size_overflow},
        {"commit of SIZE_MAX - page + 1 bytes from B's base",
         [](world& w, std::error_code& ec) {
             vmem::commit(w.b.base(), size_max - page() + 1, access::read, ec);
         },
         errc::size_overflow},
        {"commit whose round-up to pages wraps",
         [](world&, std::error_code& ec) { vmem::commit(at(top - 10), 5, access::read, ec); },
         errc::size_overflow},
        {"commit write-only",
         [](world& w, std::error_code& ec) {
             vmem::commit(w.reserved_in_a(), page(), write_only, ec);
         },
         errc::invalid_access},
        {"commit execute-only",
         [](world& w, std::error_code& ec) {
             vmem::commit(w.reserved_in_a(), page(), execute_only, ec);
         },
         errc::invalid_access},
        {"commit with access 42",
         [](world& w, std::error_code& ec) {
             vmem::commit(w.reserved_in_a(), page(), nonsense, ec);
         },
         errc::invalid_access},
        {"commit of a heap address",
         [](world& w, std::error_code& ec) {
             on_heap(w, ec,
                     [](void* p, std::error_code& e) { vmem::commit(p, page(), access::read, e); });
         },
         errc::not_reserved, "the heap block's contents"},
        {"commit of plain mmap / VirtualAlloc memory",
         [](world& w, std::error_code& ec) {
             on_foreign(w, ec, [](void* p, std::error_code& e) {
                 vmem::commit(p, page(), access::read, e);
             });
         },
         errc::not_reserved, foreign_kept},
        {"commit of a released reservation",
         [](world& w, std::error_code& ec) {
             vmem::commit(w.hole_before, page(), access::read_write, ec);
         },
         errc::not_reserved},
        {"commit spanning A and B",
         [](world& w, std::error_code& ec) {
             vmem::commit(w.end_of_a() - page(), 2 * page(), access::read_write, ec);
         },
         errc::spans_reservations},
        {"commit running off the end of B",
         [](world& w, std::error_code& ec) {
             vmem::commit(bytes(w.b) + w.b.size() - page(), 2 * page(), access::read_write, ec);
         },
         errc::outside_reservation},
        {"commit starting before A",
         [](world& w, std::error_code& ec) {
             vmem::commit(bytes(w.a) - page(), 2 * page(), access::read_write, ec);
         },
         errc::not_reserved},
        {"commit over B's guard page",
         [](world& w, std::error_code& ec) {
             vmem::commit(w.guard_page(), page(), access::read_write, ec);
         },
         errc::guard_page},
        {"commit through the A object of a range in B",
         [](world& w, std::error_code& ec) {
             w.a.commit(bytes(w.b) + granularity(), page(), access::read_write, ec);
         },
         errc::outside_reservation},
        {"commit through the A object of a range starting before A",
         [](world& w, std::error_code& ec) {
             w.a.commit(bytes(w.a) - page(), 2 * page(), access::read_write, ec);
         },
         errc::outside_reservation},
        {"commit through the A object with access 42",
         [](world& w, std::error_code& ec) { w.a.commit(w.reserved_in_a(), page(), nonsense, ec); },
         errc::invalid_access},
        {"commit through an empty reservation",
         [](world& w, std::error_code& ec) {
             through_default(w, ec, [](rsv& r, void* p, std::error_code& e) {
                 r.commit(p, page(), access::read, e);
             });
         },
         errc::empty_reservation},
        // commit with options
        {"commit with prefault at null",
         [](world&, std::error_code& ec) {
             vmem::commit(nullptr, page(), access::read, vmem::commit_options{true}, ec);
         },
         errc::null_address},
        {"commit with prefault and access 42",
         [](world& w, std::error_code& ec) {
             vmem::commit(w.reserved_in_a(), page(), nonsense, vmem::commit_options{true}, ec);
         },
         errc::invalid_access},
        {"commit with prefault spanning A and B",
         [](world& w, std::error_code& ec) {
             vmem::commit(w.end_of_a() - page(), 2 * page(), access::read_write,
                          vmem::commit_options{true}, ec);
         },
         errc::spans_reservations},
        {"commit with prefault over B's guard page",
         [](world& w, std::error_code& ec) {
             w.b.commit(w.none_page(), 2 * page(), access::read_write, vmem::commit_options{true},
                        ec);
         },
         errc::guard_page},
        {"commit with prefault through a moved-from reservation",
         [](world& w, std::error_code& ec) {
             through_moved_from(w, ec, [](rsv& r, void* p, std::error_code& e) {
                 r.commit(p, page(), access::read, vmem::commit_options{true}, e);
             });
         },
         errc::empty_reservation},
        // decommit
        {"decommit at null",
         [](world&, std::error_code& ec) { vmem::decommit(nullptr, page(), ec); },
         errc::null_address},
        {"decommit of zero bytes",
         [](world& w, std::error_code& ec) { vmem::decommit(w.a.base(), 0, ec); }, errc::zero_size},
        {"decommit of SIZE_MAX bytes from B's base",
         [](world& w, std::error_code& ec) { vmem::decommit(w.b.base(), size_max, ec); },
         errc::size_overflow},
        {"decommit spanning A and B",
         [](world& w, std::error_code& ec) {
             vmem::decommit(w.end_of_a() - page(), 2 * page(), ec);
         },
         errc::spans_reservations},
        {"decommit of all of A and one byte more, through A",
         [](world& w, std::error_code& ec) { w.a.decommit(w.a.base(), w.a.size() + 1, ec); },
         errc::outside_reservation},
        {"decommit of a released reservation",
         [](world& w, std::error_code& ec) { vmem::decommit(w.hole_after, page(), ec); },
         errc::not_reserved},
        {"decommit of a stack address",
         [](world& w, std::error_code& ec) {
             on_stack(w, ec, [](void* p, std::error_code& e) { vmem::decommit(p, 64, e); });
         },
         errc::not_reserved, "the stack's contents"},
        {"decommit through a moved-from reservation",
         [](world& w, std::error_code& ec) {
             through_moved_from(w, ec,
                                [](rsv& r, void* p, std::error_code& e) { r.decommit(p, 1, e); });
         },
         errc::empty_reservation},
        // protect
        {"protect of reserved pages",
         [](world& w, std::error_code& ec) {
             vmem::protect(w.reserved_in_a(), page(), access::read, ec);
         },
         errc::not_committed},
        {"protect of a range half committed, through A",
         [](world& w, std::error_code& ec) {
             w.a.protect(w.reserved_in_a() - page(), 2 * page(), access::read, ec);
         },
         errc::not_committed},
        {"protect spanning A and B",
         [](world& w, std::error_code& ec) {
             vmem::protect(w.end_of_a() - page(), 2 * page(), access::read, ec);
         },
         errc::spans_reservations},
        {"protect write-only",
         [](world& w, std::error_code& ec) { vmem::protect(w.a.base(), page(), write_only, ec); },
         errc::invalid_access},
        {"protect with access 42, through A",
         [](world& w, std::error_code& ec) { w.a.protect(w.a.base(), page(), nonsense, ec); },
         errc::invalid_access},
        {"protect at null",
         [](world&, std::error_code& ec) { vmem::protect(nullptr, page(), access::read, ec); },
         errc::null_address},
        {"protect whose round-up to pages wraps",
         [](world&, std::error_code& ec) { vmem::protect(at(top - 10), 5, access::read, ec); },
         errc::size_overflow},
        {"protect of B's guard page",
         [](world& w, std::error_code& ec) {
             vmem::protect(w.guard_page(), page(), access::read, ec);
         },
         errc::guard_page},
        {"protect of plain mmap / VirtualAlloc memory",
         [](world& w, std::error_code& ec) {
             on_foreign(w, ec, [](void* p, std::error_code& e) {
                 vmem::protect(p, page(), access::none, e);
             });
         },
         errc::not_reserved, foreign_kept},
        {"protect through a released reservation object",
         [](world& w, std::error_code& ec) {
             through_released(w, ec, [](rsv& r, void* p, std::error_code& e) {
                 r.protect(p, page(), access::none, e);
             });
         },
         errc::empty_reservation},
        // discard
        {"discard at null", [](world&, std::error_code& ec) { vmem::discard(nullptr, page(), ec); },
         errc::null_address},
        {"discard of zero bytes",
         [](world& w, std::error_code& ec) { vmem::discard(w.a.base(), 0, ec); }, errc::zero_size},
        {"discard of SIZE_MAX bytes from A's base",
         [](world& w, std::error_code& ec) { vmem::discard(w.a.base(), size_max, ec); },
         errc::size_overflow},
        {"discard of reserved pages",
         [](world& w, std::error_code& ec) { vmem::discard(w.reserved_in_a(), page(), ec); },
         errc::not_committed},
        {"discard of B's guard page",
         [](world& w, std::error_code& ec) { vmem::discard(w.guard_page(), page(), ec); },
         errc::guard_page},
        {"discard of B's access::none page and its guard page",
         [](world& w, std::error_code& ec) { vmem::discard(w.none_page(), 2 * page(), ec); },
         errc::guard_page},
        {"discard spanning A and B",
         [](world& w, std::error_code& ec) {
             vmem::discard(w.end_of_a() - page(), 2 * page(), ec);
         },
         errc::spans_reservations},
        {"discard through the B object of A's committed pages",
         [](world& w, std::error_code& ec) { w.b.discard(w.a.base(), page(), ec); },
         errc::outside_reservation},
        {"discard of a heap address",
         [](world& w, std::error_code& ec) {
             on_heap(w, ec, [](void* p, std::error_code& e) { vmem::discard(p, page(), e); });
         },
         errc::not_reserved, "the heap block's contents"},
        {"discard through a detached reservation object",
         [](world& w, std::error_code& ec) {
             through_detached(w, ec,
                              [](rsv& r, void* p, std::error_code& e) { r.discard(p, page(), e); });
         },
         errc::empty_reservation},
        // guard
        {"guard at null", [](world&, std::error_code& ec) { vmem::guard(nullptr, page(), ec); },
         errc::null_address},
        {"guard of zero bytes",
         [](world& w, std::error_code& ec) { vmem::guard(w.a.base(), 0, ec); }, errc::zero_size},
        {"guard of SIZE_MAX - page + 1 bytes from A's base",
         [](world& w, std::error_code& ec) { vmem::guard(w.a.base(), size_max - page() + 1, ec); },
         errc::size_overflow},
        {"guard spanning A and B",
         [](world& w, std::error_code& ec) { vmem::guard(w.end_of_a() - page(), 2 * page(), ec); },
         errc::spans_reservations},
        {"guard running off the end of B",
         [](world& w, std::error_code& ec) {
             vmem::guard(bytes(w.b) + w.b.size() - page(), 2 * page(), ec);
         },
         errc::outside_reservation},
        {"guard through the B object of A's committed pages",
         [](world& w, std::error_code& ec) { w.b.guard(w.a.base(), page(), ec); },
         errc::outside_reservation},
        {"guard of plain mmap / VirtualAlloc memory",
         [](world& w, std::error_code& ec) {
             on_foreign(w, ec, [](void* p, std::error_code& e) { vmem::guard(p, page(), e); });
         },
         errc::not_reserved, foreign_kept},
        {"guard of a released reservation",
         [](world& w, std::error_code& ec) { vmem::guard(w.hole_after, page(), ec); },
         errc::not_reserved},
        {"guard through an empty reservation",
         [](world& w, std::error_code& ec) {
             through_default(w, ec,
                             [](rsv& r, void* p, std::error_code& e) { r.guard(p, page(), e); });
         },
         errc::empty_reservation},
        // lock and unlock
        {"lock at null", [](world&, std::error_code& ec) { vmem::lock(nullptr, page(), ec); },
         errc::null_address},
        {"lock of zero bytes", [](world& w, std::error_code& ec) { vmem::lock(w.a.base(), 0, ec); },
         errc::zero_size},
        {"lock of reserved pages",
         [](world& w, std::error_code& ec) { vmem::lock(w.reserved_in_a(), page(), ec); },
         errc::not_committed},
        {"lock of B's page committed with access::none",
         [](world& w, std::error_code& ec) { vmem::lock(w.none_page(), page(), ec); },
         errc::no_access},
        {"lock of B's guard page",
         [](world& w, std::error_code& ec) { w.b.lock(w.guard_page(), page(), ec); },
         errc::guard_page},
        {"lock of B's access::none page and its guard page",
         [](world& w, std::error_code& ec) { vmem::lock(w.none_page(), 2 * page(), ec); },
         errc::guard_page},
        {"lock spanning A and B",
         [](world& w, std::error_code& ec) { vmem::lock(w.end_of_a() - page(), 2 * page(), ec); },
         errc::spans_reservations},
        {"lock of a stack address",
         [](world& w, std::error_code& ec) {
             on_stack(w, ec, [](void* p, std::error_code& e) { vmem::lock(p, 64, e); });
         },
         errc::not_reserved, "the stack's contents"},
        {"lock through an empty reservation",
         [](world& w, std::error_code& ec) {
             through_default(w, ec,
                             [](rsv& r, void* p, std::error_code& e) { r.lock(p, page(), e); });
         },
         errc::empty_reservation},
        {"unlock at null", [](world&, std::error_code& ec) { vmem::unlock(nullptr, page(), ec); },
         errc::null_address},
        {"unlock whose round-up to pages wraps",
         [](world&, std::error_code& ec) { vmem::unlock(at(top - 10), 5, ec); },
         errc::size_overflow},
        {"unlock of reserved pages",
         [](world& w, std::error_code& ec) { vmem::unlock(w.reserved_in_a(), page(), ec); },
         errc::not_committed},
        {"unlock of B's guard page",
         [](world& w, std::error_code& ec) { vmem::unlock(w.guard_page(), page(), ec); },
         errc::guard_page},
        {"unlock of B's access::none page and its guard page",
         [](world& w, std::error_code& ec) { w.b.unlock(w.none_page(), 2 * page(), ec); },
         errc::guard_page},
        {"unlock spanning A and B",
         [](world& w, std::error_code& ec) { vmem::unlock(w.end_of_a() - page(), 2 * page(), ec); },
         errc::spans_reservations},
        {"unlock through a moved-from reservation",
         [](world& w, std::error_code& ec) {
             through_moved_from(
                 w, ec, [](rsv& r, void* p, std::error_code& e) { r.unlock(p, page(), e); });
         },
         errc::empty_reservation},
        // make_executable
        {"make_executable at null",
         [](world&, std::error_code& ec) { vmem::make_executable(nullptr, page(), ec); },
         errc::null_address},
        {"make_executable of zero bytes",
         [](world& w, std::error_code& ec) { vmem::make_executable(w.a.base(), 0, ec); },
         errc::zero_size},
        {"make_executable of reserved pages",
         [](world& w, std::error_code& ec) {
             vmem::make_executable(w.reserved_in_a(), page(), ec);
         },
         errc::not_committed},
        {"make_executable of B's guard page",
         [](world& w, std::error_code& ec) { vmem::make_executable(w.guard_page(), page(), ec); },
         errc::guard_page},
        {"make_executable spanning A and B",
         [](world& w, std::error_code& ec) {
             vmem::make_executable(w.end_of_a() - page(), 2 * page(), ec);
         },
         errc::spans_reservations},
        {"make_executable through the A object of all of A and one byte more",
         [](world& w, std::error_code& ec) { w.a.make_executable(w.a.base(), w.a.size() + 1, ec); },
         errc::outside_reservation},
        {"make_executable of plain mmap / VirtualAlloc memory",
         [](world& w, std::error_code& ec) {
             on_foreign(w, ec,
                        [](void* p, std::error_code& e) { vmem::make_executable(p, page(), e); });
         },
         errc::not_reserved, foreign_kept},
        {"make_executable through an empty reservation",
         [](world& w, std::error_code& ec) {
             through_default(w, ec, [](rsv& r, void* p, std::error_code& e) {
                 r.make_executable(p, page(), e);
             });
         },
         errc::empty_reservation},
        // query and huge_page_status
        {"query of null",
         [](world&, std::error_code& ec) {
             const vmem::region g = vmem::query(nullptr, ec);
             (void)g;
         },
         errc::null_address},
        {"huge_page_status of null",
         [](world&, std::error_code& ec) { vmem::huge_page_status(nullptr, ec); },
         errc::null_address},
        {"huge_page_status of the middle of A",
         [](world& w, std::error_code& ec) { vmem::huge_page_status(w.reserved_in_a(), ec); },
         errc::not_reservation_base},
        {"huge_page_status of B's base plus one byte",
         [](world& w, std::error_code& ec) { vmem::huge_page_status(bytes(w.b) + 1, ec); },
         errc::not_reservation_base},
        {"huge_page_status of a released reservation",
         [](world& w, std::error_code& ec) { vmem::huge_page_status(w.hole_before, ec); },
         errc::not_reserved},
        {"huge_page_status of plain mmap / VirtualAlloc memory",
         [](world& w, std::error_code& ec) {
             on_foreign(w, ec, [](void* p, std::error_code& e) { vmem::huge_page_status(p, e); });
         },
         errc::not_reserved, foreign_kept},
        {"huge_page_status through an empty reservation",
         [](world& w, std::error_code& ec) {
             through_released(w, ec, [](rsv& r, void*, std::error_code& e) {
                 const vmem::huge_page_report h = r.huge_page_status(e);
                 (void)h;
             });
         },
         errc::empty_reservation},
        // release and adopt
        {"release of null", [](world&, std::error_code& ec) { vmem::release(nullptr, ec); },
         errc::null_address},
        {"release of the middle of A",
         [](world& w, std::error_code& ec) { vmem::release(w.reserved_in_a(), ec); },
         errc::not_reservation_base},
        {"release of A's base plus one byte",
         [](world& w, std::error_code& ec) { vmem::release(bytes(w.a) + 1, ec); },
         errc::not_reservation_base},
        {"release of a stack address",
         [](world& w, std::error_code& ec) {
             on_stack(w, ec, [](void* p, std::error_code& e) { vmem::release(p, e); });
         },
         errc::not_reserved, "the stack's contents"},
        {"release of plain mmap / VirtualAlloc memory",
         [](world& w, std::error_code& ec) {
             on_foreign(w, ec, [](void* p, std::error_code& e) { vmem::release(p, e); });
         },
         errc::not_reserved, foreign_kept},
        {"release of a released reservation",
         [](world& w, std::error_code& ec) { vmem::release(w.hole_before, ec); },
         errc::not_reserved},
        {"release of A's base while its reservation object owns it",
         [](world& w, std::error_code& ec) { vmem::release(w.a.base(), ec); },
         errc::reservation_owned},
        {"release through an empty reservation",
         [](world& w, std::error_code& ec) {
             through_moved_from(w, ec, [](rsv& r, void*, std::error_code& e) { r.release(e); });
         },
         errc::empty_reservation},
        {"adopt of null", [](world&, std::error_code& ec) { rsv r = rsv::adopt(nullptr, ec); },
         errc::null_address},
        {"adopt of the middle of B",
         [](world& w, std::error_code& ec) { rsv r = rsv::adopt(bytes(w.b) + page(), ec); },
         errc::not_reservation_base},
        {"adopt of a released reservation",
         [](world& w, std::error_code& ec) { rsv r = rsv::adopt(w.hole_after, ec); },
         errc::not_reserved},
        {"adopt of B while its reservation object owns it",
         [](world& w, std::error_code& ec) {
             rsv r = rsv::adopt(w.b.base(), ec);
             if (r)
                 w.changed = "B has a second owner";
         },
         errc::reservation_owned},
        // arena
        {"arena of zero bytes",
         [](world& w, std::error_code& ec) {
             vmem::arena ar(0, {}, ec);
             if (ar.capacity() != 0 || ar.base() != nullptr)
                 w.changed = "the arena is not empty";
         },
         errc::zero_size, empty_kept},
        {"arena of SIZE_MAX bytes",
         [](world& w, std::error_code& ec) {
             vmem::arena ar(size_max, {}, ec);
             if (ar.capacity() != 0)
                 w.changed = "the arena is not empty";
         },
         errc::size_overflow, empty_kept},
        {"arena with huge_pages 9",
         [](world& w, std::error_code& ec) {
             vmem::arena_options o;
             o.huge = static_cast<vmem::huge_pages>(9);
             vmem::arena ar(granularity(), o, ec);
             if (ar.capacity() != 0)
                 w.changed = "the arena is not empty";
         },
         errc::invalid_option, empty_kept},
        {"arena allocate with alignment 0",
         [](world& w, std::error_code& ec) {
             vmem::arena ar(granularity());
             if (ar.allocate(16, 0, ec) != nullptr)
                 w.changed = "an allocation was made";
             arena_unchanged(w, ar, 0, 0);
         },
         errc::invalid_alignment, arena_kept},
        {"arena allocate with alignment 3",
         [](world& w, std::error_code& ec) {
             vmem::arena ar(granularity());
             ar.allocate(16, 8);
             if (ar.allocate(16, 3, ec) != nullptr)
                 w.changed = "an allocation was made";
             arena_unchanged(w, ar, 16, ar.commit_step());
         },
         errc::invalid_alignment, arena_kept},
        {"arena allocate of SIZE_MAX bytes",
         [](world& w, std::error_code& ec) {
             vmem::arena ar(granularity());
             ar.allocate(16, 8);
             const std::size_t committed = ar.committed();
             if (ar.allocate(size_max, 8, ec) != nullptr)
                 w.changed = "an allocation was made";
             arena_unchanged(w, ar, 16, committed);
         },
         std::make_error_code(std::errc::not_enough_memory), arena_kept},
        {"arena allocate with an alignment of the top address bit",
         [](world& w, std::error_code& ec) {
             vmem::arena ar(granularity());
             ar.allocate(16, 8); // so that the top is not aligned to it by chance
             const std::size_t committed = ar.committed();
             if (ar.allocate(16, top_bit, ec) != nullptr)
                 w.changed = "an allocation was made";
             arena_unchanged(w, ar, 16, committed);
         },
         std::make_error_code(std::errc::not_enough_memory), arena_kept},
        {"arena allocate through a moved-from arena",
         [](world& w, std::error_code& ec) {
             vmem::arena ar(granularity());
             vmem::arena taken(std::move(ar));
             if (ar.allocate(16, 8, ec) != nullptr)
                 w.changed = "an allocation was made";
             arena_unchanged(w, ar, 0, 0);
         },
         errc::empty_reservation, arena_kept},
        {"arena reset of a moved-from arena",
         [](world& w, std::error_code& ec) {
             vmem::arena ar(granularity());
             vmem::arena taken(std::move(ar));
             ar.reset(ec);
             arena_unchanged(w, ar, 0, 0);
         },
         errc::empty_reservation, arena_kept},
        {"arena rewind to a marker above the top",
         [](world& w, std::error_code& ec) {
             vmem::arena ar(granularity());
             ar.allocate(64, 8);
             const vmem::arena::marker m = ar.mark();
             ar.rewind(vmem::arena::marker{0});
             ar.allocate(16, 8);
             const std::size_t committed = ar.committed();
             ar.rewind(m, ec);
             arena_unchanged(w, ar, 16, committed);
         },
         errc::outside_reservation, arena_kept},
        {"arena rewind of an empty arena to a marker of one byte",
         [](world& w, std::error_code& ec) {
             vmem::arena ar;
             ar.rewind(vmem::arena::marker{1}, ec);
             arena_unchanged(w, ar, 0, 0);
         },
         errc::outside_reservation, arena_kept},
        // guarded blocks and stacks
        {"guarded_block of zero bytes",
         [](world& w, std::error_code& ec) {
             vmem::guarded_block g(0, {}, ec);
             block_empty(w, g);
         },
         errc::zero_size, empty_kept},
        {"guarded_block with zero guard pages",
         [](world& w, std::error_code& ec) {
             vmem::guarded_options o;
             o.guard_pages = 0;
             vmem::guarded_block g(page(), o, ec);
             block_empty(w, g);
         },
         errc::zero_size, empty_kept},
        {"guarded_block with guard_side 7",
         [](world& w, std::error_code& ec) {
             vmem::guarded_options o;
             o.side = static_cast<vmem::guard_side>(7);
             vmem::guarded_block g(page(), o, ec);
             block_empty(w, g);
         },
         errc::invalid_option, empty_kept},
        {"guarded_block of SIZE_MAX bytes",
         [](world& w, std::error_code& ec) {
             vmem::guarded_block g(size_max, {}, ec);
             block_empty(w, g);
         },
         errc::size_overflow, empty_kept},
        {"guarded_block whose round-up to pages wraps (SIZE_MAX - page + 2)",
         [](world& w, std::error_code& ec) {
             vmem::guarded_block g(size_max - page() + 2, {}, ec);
             block_empty(w, g);
         },
         errc::size_overflow, empty_kept},
        {"guarded_block with SIZE_MAX guard pages",
         [](world& w, std::error_code& ec) {
             vmem::guarded_options o;
             o.guard_pages = size_max;
             vmem::guarded_block g(page(), o, ec);
             block_empty(w, g);
         },
         errc::size_overflow, empty_kept},
        {"guarded_block whose two guard regions together wrap",
         [](world& w, std::error_code& ec) {
             vmem::guarded_options o;
             o.side = vmem::guard_side::both;
             o.guard_pages = size_max / page() / 2 + 1;
             vmem::guarded_block g(page(), o, ec);
             block_empty(w, g);
         },
         errc::size_overflow, empty_kept},
        {"guarded_block release of an empty block",
         [](world& w, std::error_code& ec) {
             vmem::guarded_block g;
             g.release(ec);
             block_empty(w, g);
         },
         errc::empty_reservation, empty_kept},
        {"guarded_stack of zero bytes",
         [](world& w, std::error_code& ec) {
             vmem::guarded_stack s(0, {}, ec);
             block_empty(w, s);
         },
         errc::zero_size, empty_kept},
        {"guarded_stack with zero guard pages",
         [](world& w, std::error_code& ec) {
             vmem::stack_options o;
             o.guard_pages = 0;
             vmem::guarded_stack s(page(), o, ec);
             block_empty(w, s);
         },
         errc::zero_size, empty_kept},
        {"guarded_stack whose guard's size in bytes wraps",
         [](world& w, std::error_code& ec) {
             vmem::stack_options o;
             o.guard_pages = size_max / page() + 1;
             vmem::guarded_stack s(page(), o, ec);
             block_empty(w, s);
         },
         errc::size_overflow, empty_kept},
        {"guarded_stack release of a moved-from stack",
         [](world& w, std::error_code& ec) {
             vmem::guarded_stack s(page());
             vmem::guarded_stack taken(std::move(s));
             s.release(ec);
             block_empty(w, s);
         },
         errc::empty_reservation, empty_kept},
        // the failure seam
        {"testing::fail_os_call with an empty error",
         [](world& w, std::error_code& ec) {
             vmem::testing::fail_os_call(vmem::testing::os_call::reserve, std::error_code(), 0, ec);
             seam_unarmed(w);
         },
         std::make_error_code(std::errc::invalid_argument), seam_kept},
        {"testing::fail_os_call with os_call 99",
         [](world& w, std::error_code& ec) {
             vmem::testing::fail_os_call(static_cast<vmem::testing::os_call>(99),
                                         std::make_error_code(std::errc::not_enough_memory), 0, ec);
             seam_unarmed(w);
         },
         std::make_error_code(std::errc::invalid_argument), seam_kept},
        {"testing::fail_os_call with failure_mode 7",
         [](world& w, std::error_code& ec) {
             vmem::testing::fail_os_call(vmem::testing::os_call::commit, os_error(), 0,
                                         static_cast<vmem::testing::failure_mode>(7), ec);
             seam_unarmed(w);
         },
         std::make_error_code(std::errc::invalid_argument), seam_kept},
        {"testing::fail_os_call after_part of a reserve",
         [](world& w, std::error_code& ec) {
             vmem::testing::fail_os_call(vmem::testing::os_call::reserve, os_error(), 0,
                                         vmem::testing::failure_mode::after_part, ec);
             seam_unarmed(w);
         },
         std::make_error_code(std::errc::invalid_argument), seam_kept},
        {"testing::fail_os_call after_part with an error not of the OS's category",
         [](world& w, std::error_code& ec) {
             vmem::testing::fail_os_call(vmem::testing::os_call::commit,
                                         std::make_error_code(std::errc::not_enough_memory), 0,
                                         vmem::testing::failure_mode::after_part, ec);
             seam_unarmed(w);
         },
         std::make_error_code(std::errc::invalid_argument), seam_kept},
    };
}

// The README's table: one row a case.
std::string table() {
    std::ostringstream out;
    out << "| input | error | checked unchanged |\n|---|---|---|\n";
    for (const bad_case& c : cases) {
        out << "| " << c.name << " | `" << error_name(c.expected) << "` | A, B, holes, bookkeeping";
        if (c.also != nullptr)
            out << "; " << c.also;
        out << " |\n";
    }
    return out.str();
}

// README.md, found from this file's path (tests/ is next to it). Empty when it cannot be read
// (an installed or copied test binary).
std::string readme() {
    std::string dir = __FILE__;
    const std::size_t slash = dir.find_last_of("/\\");
    dir = slash == std::string::npos ? std::string(".") : dir.substr(0, slash);
    std::ifstream in(dir + "/../README.md", std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return in ? text.str() : std::string();
}

boost::test_tools::assertion_result readme_found(utf::test_unit_id) {
    boost::test_tools::assertion_result r(!readme().empty());
    r.message() << "README.md is not at " << __FILE__ << "/../../README.md";
    return r;
}

} // namespace

BOOST_AUTO_TEST_SUITE(bad_input)

BOOST_AUTO_TEST_CASE(there_are_at_least_60_cases) {
    BOOST_TEST(cases.size() >= 60u);
    std::set<std::string> names;
    for (const bad_case& c : cases) {
        BOOST_TEST(names.insert(c.name).second, "two cases named " << c.name);
        BOOST_TEST(std::string(c.name).find('|') == std::string::npos);
    }
}

BOOST_DATA_TEST_CASE(is_refused_and_changes_nothing, data::make(cases), c) {
    if (c.wide_only && sizeof(void*) < 8) {
        BOOST_TEST_MESSAGE("skipped: " << c.name << " needs a 64-bit address space");
        return;
    }
    world w;
    const seen before = look(w);
    BOOST_TEST(before.below == nullptr);
    BOOST_TEST(before.above == nullptr);
    std::error_code ec;
    c.call(w, ec);
    const seen after = look(w);
    BOOST_TEST(ec == c.expected, c.name << ": got " << ec.category().name() << ":" << ec.value()
                                        << " (" << ec.message() << "), expected "
                                        << error_name(c.expected));
    BOOST_TEST(!ec.message().empty());
    BOOST_TEST(w.changed.empty(), c.name << ": " << w.changed);
    BOOST_TEST((after.pages == before.pages), c.name << ": pages changed (access or contents)");
    BOOST_TEST((after.runs == before.runs), c.name << ": the runs query reports changed");
    BOOST_TEST(after.below == before.below, c.name << ": a reservation in the hole below A");
    BOOST_TEST(after.above == before.above, c.name << ": a reservation in the hole above B");
    for (int i = 0; i < 2; ++i) {
        BOOST_TEST(after.bases[i] == before.bases[i]);
        BOOST_TEST(after.committed[i] == before.committed[i], c.name << ": committed bytes");
    }
    BOOST_TEST(after.bookkeeping == before.bookkeeping, c.name << ": bookkeeping bytes "
                                                               << before.bookkeeping << " -> "
                                                               << after.bookkeeping);
}

// When the README's table is not the catalogue's, the test writes the catalogue's table to
// bad_input_table.md in the working directory, to paste into README.md.
BOOST_AUTO_TEST_CASE(readme_lists_every_case, *utf::precondition(readme_found)) {
    const std::string text = readme();
    const std::string rows = table();
    const bool listed = text.find(rows) != std::string::npos;
    std::string missing;
    std::istringstream lines(rows);
    for (std::string line; missing.empty() && std::getline(lines, line);)
        if (text.find(line + "\n") == std::string::npos)
            missing = line;
    if (!listed)
        std::ofstream("bad_input_table.md") << rows;
    BOOST_TEST(listed, "README.md's bad-input table is not the catalogue's (first row missing: "
                           << missing << "); paste bad_input_table.md, written here, into it");
}

BOOST_AUTO_TEST_CASE(contract_errors_compare_equal_to_invalid_argument) {
    std::error_code ec = vmem::errc::spans_reservations;
    BOOST_TEST(ec == std::errc::invalid_argument);
    BOOST_TEST(std::string(ec.category().name()) == "vmem");
    BOOST_TEST(ec.message().find("two reservations") != std::string::npos);
}

namespace {
// Another C++ runtime's std::generic_category(): what a program linked with its own copy of the
// runtime (a MinGW -static .exe using a vmem DLL) compares vmem's errors against.
class other_runtime_generic final : public std::error_category {
public:
    const char* name() const noexcept override { return "generic"; }
    std::string message(int) const override { return "another runtime's generic category"; }
};
} // namespace

BOOST_AUTO_TEST_CASE(contract_errors_match_invalid_argument_of_another_runtime) {
    static const other_runtime_generic other;
    const std::error_condition einval(static_cast<int>(std::errc::invalid_argument), other);
    const std::error_condition enomem(static_cast<int>(std::errc::not_enough_memory), other);
    const std::error_code ec = vmem::errc::null_address;
    BOOST_TEST((ec == einval));
    BOOST_TEST(!(ec == enomem));
    BOOST_TEST(!(std::error_code(vmem::errc::address_unavailable) == einval));
}

BOOST_AUTO_TEST_SUITE_END()
