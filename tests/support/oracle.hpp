// vmem tests: the second oracle. vmem::query asks the OS itself what each page of a reservation
// is; this checks that the OS's answer agrees with a test's model of the pages (and with vmem's
// committed_bytes), with one query per run of pages, so it is cheap enough to run after every step.
//
// Where the OS cannot tell a committed page with access::none from a reserved one
// (capabilities::query_sees_committed_none false: POSIX), the model's committed-none pages are
// expected to read as reserved, and runs are compared on what the OS can see.
#ifndef VMEM_TESTS_SUPPORT_ORACLE_HPP
#define VMEM_TESTS_SUPPORT_ORACLE_HPP

#include <vmem/vmem.hpp>

#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <vector>

namespace vmem_oracle {

/// What a test expects of one page.
struct page {
    bool committed = false;
    vmem::access access = vmem::access::none; ///< when committed

    static page reserved() { return {}; }
    static page committed_with(vmem::access a) { return {true, a}; }
};

/// A model of every page of a reservation, changed the way the operations change pages.
class page_model {
public:
    explicit page_model(std::size_t pages) : pages_(pages) {}
    void commit(std::size_t first, std::size_t count, vmem::access a) {
        set(first, count, page::committed_with(a));
    }
    void decommit(std::size_t first, std::size_t count) { set(first, count, page::reserved()); }
    /// Protect changes committed pages only (vmem refuses a range with reserved pages).
    void protect(std::size_t first, std::size_t count, vmem::access a) {
        set(first, count, page::committed_with(a));
    }
    void set(std::size_t first, std::size_t count, page p) {
        for (std::size_t i = first; i < first + count; ++i)
            pages_[i] = p;
    }
    std::size_t size() const { return pages_.size(); }
    const page& operator[](std::size_t i) const { return pages_[i]; }
    std::size_t committed_pages() const {
        std::size_t n = 0;
        for (const page& p : pages_)
            n += p.committed ? 1 : 0;
        return n;
    }

private:
    std::vector<page> pages_;
};

/// Whether the OS can tell committed access::none from reserved, asked once.
inline bool query_sees_committed_none() {
    static const bool sees = vmem::query_capabilities().query_sees_committed_none;
    return sees;
}

/// What query should report for a page the model describes.
struct seen {
    vmem::page_state state;
    vmem::access access;
    bool operator==(const seen& o) const { return state == o.state && access == o.access; }
    bool operator!=(const seen& o) const { return !(*this == o); }
};

inline seen expected(const page& p) {
    if (!p.committed || (p.access == vmem::access::none && !query_sees_committed_none()))
        return {vmem::page_state::reserved, vmem::access::none};
    return {vmem::page_state::committed, p.access};
}

inline const char* name(vmem::page_state s) {
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

inline const char* name(vmem::access a) {
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
    return "?";
}

} // namespace vmem_oracle

// Boost.Test prints both sides of a failed comparison of these.
namespace vmem {
inline std::ostream& boost_test_print_type(std::ostream& os, page_state s) {
    return os << vmem_oracle::name(s);
}
inline std::ostream& boost_test_print_type(std::ostream& os, access a) {
    return os << vmem_oracle::name(a);
}
} // namespace vmem

namespace vmem_oracle {

/// True when, for the reservation at [base, base + model.size() pages), vmem::query reports every
/// run of pages as the model says (state, access, the run's exact bounds, the reservation's base),
/// and committed_bytes (vmem's bookkeeping) counts the model's committed pages. The message names
/// the first disagreement.
inline boost::test_tools::assertion_result
agrees(const void* reservation_base, std::size_t committed_bytes, const page_model& model) {
    const std::size_t pg = vmem::page_size();
    const auto* base = static_cast<const unsigned char*>(reservation_base);
    boost::test_tools::assertion_result result(true);
    if (committed_bytes != model.committed_pages() * pg) {
        result = false;
        result.message() << "committed_bytes " << committed_bytes << ", the model "
                         << model.committed_pages() * pg;
        return result;
    }
    for (std::size_t i = 0; i < model.size();) {
        const seen want = expected(model[i]);
        std::size_t end = i + 1; // the model's run: pages that look the same to the OS
        while (end < model.size() && expected(model[end]) == want)
            ++end;
        std::error_code ec;
        const vmem::region got = vmem::query(base + i * pg, ec);
        const seen saw{got.state, got.access};
        const auto* got_base = static_cast<const unsigned char*>(got.base);
        if (ec || saw != want || got_base != base + i * pg || got.size != (end - i) * pg ||
            got.reservation != reservation_base) {
            result = false;
            result.message() << "page " << i << ": query says ";
            if (ec)
                result.message() << "error " << ec.message();
            else
                result.message() << name(saw.state) << "/" << name(saw.access) << " pages "
                                 << (got_base - base) / static_cast<std::ptrdiff_t>(pg) << ".."
                                 << (got_base - base + static_cast<std::ptrdiff_t>(got.size)) /
                                        static_cast<std::ptrdiff_t>(pg)
                                 << (got.reservation == reservation_base
                                         ? ""
                                         : " (not this reservation)");
            result.message() << "; the model " << name(want.state) << "/" << name(want.access)
                             << " pages " << i << ".." << end;
            return result;
        }
        i = end;
    }
    return result;
}

inline boost::test_tools::assertion_result agrees(const vmem::reservation& r,
                                                  const page_model& model) {
    return agrees(r.base(), r.committed_bytes(), model);
}

} // namespace vmem_oracle

#endif
