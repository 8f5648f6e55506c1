// vmem tests: bad input gets a clear error and changes nothing.
//
// Every case runs against two adjacent reservations, A then B, each half committed (with a
// pattern) and half reserved. After the call, every page of both must be exactly as before:
// same readability, same writability, same contents.
#include "common.hpp"

#include "support/boost_test_data.hpp"

#include <cstdint>
#include <functional>
#include <limits>
#include <ostream>
#include <vector>

using namespace vmem_test;
namespace data = boost::unit_test::data;
using vmem::errc;

namespace {

struct world {
    vmem::reservation rs[2];
    vmem::reservation& a = rs[0];
    vmem::reservation& b = rs[1];

    world() {
        reserve_adjacent(rs, 2 * granularity());
        unsigned seed = 40;
        for (auto& r : rs) {
            r.commit(r.base(), granularity(), vmem::access::read_write);
            fill_pattern(r.base(), granularity(), seed++);
        }
    }
    unsigned char* end_of_a() const { return bytes(a) + a.size(); }
};

struct page_state {
    bool readable, writable;
    unsigned long sum;
    bool operator==(const page_state& o) const {
        return readable == o.readable && writable == o.writable && sum == o.sum;
    }
};

std::vector<page_state> snapshot(const world& w) {
    std::vector<page_state> out;
    for (const auto& r : w.rs) {
        for (std::size_t off = 0; off < r.size(); off += page()) {
            unsigned char* p = bytes(r) + off;
            page_state s{vmem_probe::can_read(p), vmem_probe::can_write(p), 0};
            if (s.readable)
                for (std::size_t i = 0; i < page(); ++i)
                    s.sum = s.sum * 31 + p[i];
            out.push_back(s);
        }
    }
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

struct bad_case {
    const char* name;
    std::function<void(world&, std::error_code&)> call;
    vmem::errc expected;
};

std::ostream& operator<<(std::ostream& os, const bad_case& c) {
    return os << c.name;
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

// A reserve that unexpectedly succeeds is released again, so only the error is compared.
void try_reserve(std::size_t size, const vmem::reserve_options& o, std::error_code& ec) {
    if (void* p = vmem::reserve(size, o, ec))
        vmem::release(p);
}

// The highest bit of an address: an alignment no address space can honour.
constexpr std::size_t top_bit = std::size_t{1} << (sizeof(std::size_t) * 8 - 1);

// Addresses no program can own on a 64-bit system: non-canonical on x86-64 and aarch64 (beyond
// even 57-bit addressing), and the bottom of the kernel's half; and an alignment of the top address
// bit, which no 64-bit user space reaches (a 32-bit process may reach 4 GiB, where 2 GiB is a
// possible alignment).
std::vector<bad_case> cases_for_64_bit() {
    if (sizeof(void*) < 8)
        return {};
    constexpr std::uintptr_t high = std::uintptr_t{1} << (sizeof(void*) == 8 ? 62 : 30);
    constexpr std::uintptr_t kernel = ~std::uintptr_t{0} << (sizeof(void*) == 8 ? 47 : 31);
    return {
        {"reserve exactly at 2^62 (non-canonical)",
         [](world&, std::error_code& ec) { try_reserve(granularity(), exactly(at(high)), ec); },
         errc::address_unavailable},
        {"reserve exactly at 0xFFFF800000000000 (kernel space)",
         [](world&, std::error_code& ec) { try_reserve(granularity(), exactly(at(kernel)), ec); },
         errc::address_unavailable},
        {"reserve with an alignment of the top address bit",
         [](world&, std::error_code& ec) { try_reserve(page(), aligned(top_bit), ec); },
         errc::invalid_alignment},
    };
}

std::vector<bad_case> all_cases();

const std::vector<bad_case> cases = all_cases();

std::vector<bad_case> all_cases() {
    std::vector<bad_case> out = {
        // reserve
        {"reserve of zero bytes", [](world&, std::error_code& ec) { try_reserve(0, {}, ec); },
         errc::zero_size},
        {"reserve of SIZE_MAX", [](world&, std::error_code& ec) { try_reserve(size_max, {}, ec); },
         errc::size_overflow},
        {"reserve whose round-up to pages wraps",
         [](world&, std::error_code& ec) { try_reserve(size_max - page() + 2, {}, ec); },
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
             try_reserve(2 * granularity(), exactly(bytes(w.a) + granularity()), ec);
         },
         errc::address_unavailable},
        {"reserve exactly at an address whose end wraps",
         [](world&, std::error_code& ec) {
             try_reserve(4 * granularity(), exactly(at(top - granularity() + 1)), ec);
         },
         errc::address_unavailable},
        // commit
        {"commit at null",
         [](world&, std::error_code& ec) { vmem::commit(nullptr, page(), vmem::access::read, ec); },
         errc::null_address},
        {"commit of zero bytes",
         [](world& w, std::error_code& ec) { vmem::commit(w.a.base(), 0, vmem::access::read, ec); },
         errc::zero_size},
        {"commit whose end wraps",
         [](world& w, std::error_code& ec) {
             vmem::commit(w.a.base(), size_max, vmem::access::read, ec);
         },
         errc::size_overflow},
        {"commit whose round-up to pages wraps",
         [](world&, std::error_code& ec) { vmem::commit(at(top - 10), 5, vmem::access::read, ec); },
         errc::size_overflow},
        {"commit write-only",
         [](world& w, std::error_code& ec) {
             vmem::commit(bytes(w.a) + granularity(), page(), write_only, ec);
         },
         errc::invalid_access},
        {"commit execute-only",
         [](world& w, std::error_code& ec) {
             vmem::commit(bytes(w.a) + granularity(), page(), execute_only, ec);
         },
         errc::invalid_access},
        {"commit with access 42",
         [](world& w, std::error_code& ec) {
             vmem::commit(bytes(w.a) + granularity(), page(), nonsense, ec);
         },
         errc::invalid_access},
        {"commit of memory vmem did not reserve",
         [](world&, std::error_code& ec) {
             std::vector<unsigned char> heap(page());
             vmem::commit(heap.data(), heap.size(), vmem::access::read, ec);
         },
         errc::not_reserved},
        {"commit spanning A and B",
         [](world& w, std::error_code& ec) {
             vmem::commit(w.end_of_a() - page(), 2 * page(), vmem::access::read_write, ec);
         },
         errc::spans_reservations},
        {"commit running off the end of B",
         [](world& w, std::error_code& ec) {
             vmem::commit(bytes(w.b) + w.b.size() - page(), 2 * page(), vmem::access::read_write,
                          ec);
         },
         errc::outside_reservation},
        {"commit through the A object of a range in B",
         [](world& w, std::error_code& ec) {
             w.a.commit(bytes(w.b) + granularity(), page(), vmem::access::read_write, ec);
         },
         errc::outside_reservation},
        {"commit through an empty reservation",
         [](world& w, std::error_code& ec) {
             vmem::reservation empty;
             empty.commit(w.a.base(), page(), vmem::access::read_write, ec);
         },
         errc::empty_reservation},
        // decommit
        {"decommit at null",
         [](world&, std::error_code& ec) { vmem::decommit(nullptr, page(), ec); },
         errc::null_address},
        {"decommit of zero bytes",
         [](world& w, std::error_code& ec) { vmem::decommit(w.a.base(), 0, ec); }, errc::zero_size},
        {"decommit spanning A and B",
         [](world& w, std::error_code& ec) {
             vmem::decommit(w.end_of_a() - page(), 2 * page(), ec);
         },
         errc::spans_reservations},
        {"decommit of all of A and one byte more",
         [](world& w, std::error_code& ec) { w.a.decommit(w.a.base(), w.a.size() + 1, ec); },
         errc::outside_reservation},
        {"decommit whose end wraps",
         [](world& w, std::error_code& ec) { vmem::decommit(w.b.base(), size_max, ec); },
         errc::size_overflow},
        // protect
        {"protect of reserved pages",
         [](world& w, std::error_code& ec) {
             vmem::protect(bytes(w.a) + granularity(), page(), vmem::access::read, ec);
         },
         errc::not_committed},
        {"protect of a range half committed",
         [](world& w, std::error_code& ec) {
             w.a.protect(bytes(w.a) + granularity() - page(), 2 * page(), vmem::access::read, ec);
         },
         errc::not_committed},
        {"protect spanning A and B",
         [](world& w, std::error_code& ec) {
             vmem::protect(w.end_of_a() - page(), 2 * page(), vmem::access::read, ec);
         },
         errc::spans_reservations},
        {"protect write-only",
         [](world& w, std::error_code& ec) { vmem::protect(w.a.base(), page(), write_only, ec); },
         errc::invalid_access},
        {"protect at null",
         [](world&, std::error_code& ec) {
             vmem::protect(nullptr, page(), vmem::access::read, ec);
         },
         errc::null_address},
        // release
        {"release of null", [](world&, std::error_code& ec) { vmem::release(nullptr, ec); },
         errc::null_address},
        {"release of the middle of A",
         [](world& w, std::error_code& ec) { vmem::release(bytes(w.a) + granularity(), ec); },
         errc::not_reservation_base},
        {"release of A's base plus one byte",
         [](world& w, std::error_code& ec) { vmem::release(bytes(w.a) + 1, ec); },
         errc::not_reservation_base},
        {"release of an address vmem did not reserve",
         [](world&, std::error_code& ec) {
             int local = 0;
             vmem::release(&local, ec);
         },
         errc::not_reserved},
        {"adopt of the middle of B",
         [](world& w, std::error_code& ec) {
             vmem::reservation r = vmem::reservation::adopt(bytes(w.b) + page(), ec);
         },
         errc::not_reservation_base},
        // reserve's inputs, classified the same on every platform
        {"reserve with placement 7",
         [](world&, std::error_code& ec) {
             try_reserve(page(), placed(static_cast<vmem::placement>(7)), ec);
         },
         errc::invalid_placement},
        {"reserve exactly with placement 7 and an address",
         [](world& w, std::error_code& ec) {
             vmem::reserve_options o = exactly(w.end_of_a() + 64 * granularity());
             o.at = static_cast<vmem::placement>(7);
             try_reserve(page(), o, ec);
         },
         errc::invalid_placement},
        {"reserve of every page of the address space but the last",
         [](world&, std::error_code& ec) { try_reserve(size_max - page() + 1, {}, ec); },
         errc::size_overflow},
    };
    for (bad_case& c : cases_for_64_bit())
        out.push_back(c);
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(bad_input)

BOOST_AUTO_TEST_CASE(there_are_at_least_25_cases) {
    BOOST_TEST(cases.size() >= 25u);
}

BOOST_DATA_TEST_CASE(is_refused_and_changes_nothing, data::make(cases), c) {
    world w;
    void* a = w.a.base();
    void* b = w.b.base();
    const std::vector<page_state> before = snapshot(w);
    std::error_code ec;
    c.call(w, ec);
    BOOST_TEST(ec == c.expected, c.name << ": got " << ec.category().name() << ":" << ec.value()
                                        << " (" << ec.message() << ")");
    BOOST_TEST(!ec.message().empty());
    BOOST_TEST(w.a.base() == a);
    BOOST_TEST(w.b.base() == b);
    BOOST_TEST(w.a.committed_bytes() == granularity());
    BOOST_TEST(w.b.committed_bytes() == granularity());
    BOOST_TEST((snapshot(w) == before), c.name << ": pages changed");
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
