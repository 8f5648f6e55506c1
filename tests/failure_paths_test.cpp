// vmem tests: every way each system call of the backend can fail — before it acts, or after it
// changed part of its range, as the kernel really does — with each error the backend tells apart.
// The operation must report the error, and leave the reservation, its pages (state, access,
// contents) and the reservations on either side of it exactly as they were; only the contents of
// pages the operation was asked to let go (decommit, guard, discard) may read zero.
#include "common.hpp"
#include "support/smaps.hpp"

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <cerrno>
#if defined(_WIN32)
#include <windows.h>
#endif

using namespace vmem_test;
using vmem::testing::failure_mode;
using vmem::testing::os_call;

namespace {

enum class op {
    reserve,
    commit,
    prefault,
    decommit,
    protect,
    guard,
    discard,
    lock,
    unlock,
    release
};

// One way to fail: the call armed, its error (an errno value or a GetLastError() value), when.
struct arm {
    os_call call;
    int error;
    failure_mode mode;
};

struct failure_case {
    std::string name;
    op what;
    std::vector<arm> arms;
    int expected; // the error reported; 0 when the backend's own recovery makes the call succeed
};

std::error_code os_error(int e) {
#if defined(_WIN32)
    return std::error_code(e, vmem::win32_category());
#else
    return std::error_code(e, std::system_category());
#endif
}

// The middle reservation's pages, as set up: what vmem records for each.
enum class kind { read_write, read, none, reserved, read_execute, guard };
constexpr kind layout[] = {kind::read_write, kind::read_write,   kind::read,  kind::none,
                           kind::reserved,   kind::read_execute, kind::guard, kind::read_write};
constexpr std::size_t laid_out = sizeof layout / sizeof layout[0];

// The pages each operation works on, [first, last): every operation over several kinds of pages,
// so that its first part and the rest differ.
struct span {
    std::size_t first, last;
};
span range_of(op o) {
    switch (o) {
    case op::commit:
    case op::prefault:
    case op::guard:
        return {0, 6}; // read_write, read, none, reserved, read_execute
    case op::protect:
    case op::discard:
        return {0, 4}; // read_write, read, none
    case op::lock:
    case op::unlock:
        return {0, 3}; // read_write, read
    case op::decommit:
        return {0, laid_out}; // a guard page too
    case op::reserve:
    case op::release:
        break;
    }
    return {0, laid_out};
}

// Contents the operation was asked to let go.
bool contents_may_go(op o) {
    return o == op::decommit || o == op::guard || o == op::discard;
}

struct page_view {
    bool readable = false;
    bool writable = false;
    bool zero = false;
    unsigned long digest = 0;
    vmem::page_state state = vmem::page_state::free;
    vmem::access a = vmem::access::none;
};

page_view look_at(unsigned char* p) {
    page_view v;
    v.readable = vmem_probe::can_read(p);
    v.writable = vmem_probe::can_write(p);
    if (v.readable) {
        v.zero = all_equal(p, page(), 0);
        for (std::size_t i = 0; i < page(); ++i)
            v.digest = v.digest * 31 + p[i];
    }
    std::error_code ec;
    const vmem::region r = vmem::query(p, ec);
    v.state = r.state;
    v.a = r.access;
    return v;
}

std::optional<std::size_t> locked_bytes() {
#if defined(_WIN32)
    return std::nullopt;
#else
    if (vmem::query_capabilities().max_map_count == 0)
        return std::nullopt;
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmLck:", 0) == 0)
            return std::stoul(line.substr(6)) * 1024;
    return std::nullopt;
#endif
}

struct disarm {
    ~disarm() { vmem::testing::clear_os_call_failures(); }
};

// Three adjacent reservations: A, the middle one R laid out as `layout`, and B.
struct scene {
    vmem::reservation rs[3];
    std::size_t size = 0;

    scene() {
        const std::size_t g = granularity();
        size = (laid_out * page() + g - 1) / g * g;
        reserve_adjacent(rs, size);
        vmem::reservation& a = rs[0];
        a.commit(a.base(), a.size(), vmem::access::read_write);
        fill_pattern(a.base(), a.size(), 71);
        a.protect(bytes(a) + a.size() - page(), page(), vmem::access::read);
        vmem::reservation& b = rs[2];
        b.commit(b.base(), page(), vmem::access::read_write);
        fill_pattern(b.base(), page(), 73);
        vmem::reservation& r = rs[1];
        for (std::size_t i = 0; i < laid_out; ++i) {
            unsigned char* p = pg(i);
            if (layout[i] == kind::reserved)
                continue;
            r.commit(p, page(), vmem::access::read_write);
            fill_pattern(p, page(), static_cast<unsigned>(10 + i));
            if (layout[i] == kind::read)
                r.protect(p, page(), vmem::access::read);
            else if (layout[i] == kind::none)
                r.protect(p, page(), vmem::access::none);
            else if (layout[i] == kind::read_execute)
                r.protect(p, page(), vmem::access::read_execute);
            else if (layout[i] == kind::guard)
                r.guard(p, page());
        }
    }
    vmem::reservation& r() { return rs[1]; }
    unsigned char* pg(std::size_t i) { return bytes(rs[1]) + i * page(); }

    std::vector<page_view> look() {
        std::vector<page_view> out;
        for (const vmem::reservation& x : rs)
            for (std::size_t off = 0; off < size; off += page())
                out.push_back(look_at(bytes(x) + off));
        return out;
    }
};

std::error_code run(scene& s, op o, void*& extra) {
    std::error_code ec;
    vmem::reservation& r = s.r();
    const span sp = range_of(o);
    unsigned char* const p = s.pg(sp.first);
    const std::size_t n = (sp.last - sp.first) * page();
    switch (o) {
    case op::reserve:
        extra = vmem::reserve(s.size, {}, ec);
        break;
    case op::commit:
        r.commit(p, n, vmem::access::read_write, ec);
        break;
    case op::prefault: {
        vmem::commit_options co;
        co.prefault = true;
        vmem::commit(p, n, vmem::access::read_write, co, ec);
        break;
    }
    case op::decommit:
        r.decommit(p, n, ec);
        break;
    case op::protect:
        r.protect(p, n, vmem::access::read_execute, ec);
        break;
    case op::guard:
        r.guard(p, n, ec);
        break;
    case op::discard:
        r.discard(p, n, ec);
        break;
    case op::lock:
        r.lock(p, n, ec);
        break;
    case op::unlock:
        r.unlock(p, n, ec);
        break;
    case op::release:
        r.release(ec);
        break;
    }
    return ec;
}

// What vmem records of each page of R agrees with the layout (or, after a guard that succeeded,
// with guards over its range): a protect to the recorded access succeeds and changes nothing, and
// reserved and guard pages are refused as such.
std::string records_agree(scene& s, bool guarded) {
    std::string out;
    const span sp = range_of(op::guard);
    for (std::size_t i = 0; i < laid_out; ++i) {
        kind k = layout[i];
        if (guarded && i >= sp.first && i < sp.last)
            k = kind::guard;
        std::error_code ec;
        const vmem::access a = k == kind::read_write     ? vmem::access::read_write
                               : k == kind::read         ? vmem::access::read
                               : k == kind::read_execute ? vmem::access::read_execute
                                                         : vmem::access::none;
        s.r().protect(s.pg(i), page(), a, ec);
        const std::error_code want = k == kind::reserved
                                         ? make_error_code(vmem::errc::not_committed)
                                     : k == kind::guard ? make_error_code(vmem::errc::guard_page)
                                                        : std::error_code();
        if (ec != want)
            out += "page " + std::to_string(i) + " recorded wrong (" + ec.message() + "); ";
    }
    return out;
}

// Runs one case; returns what went wrong, empty when nothing did.
std::string check(const failure_case& c) {
    disarm d;
    scene s;
    // vmem keeps a few spare nodes per reservation, topped up before each change: the warm-up
    // leaves them topped up, so that what a failed call leaves shows alone.
    s.r().protect(s.pg(0), page(), vmem::access::read_write);
    const std::vector<page_view> before = s.look();
    const std::size_t committed = s.r().committed_bytes();
    const std::size_t book = vmem::testing::bookkeeping_bytes();
    const std::optional<std::size_t> locked = locked_bytes();
    for (const arm& a : c.arms)
        vmem::testing::fail_os_call(a.call, os_error(a.error), 0, a.mode);
    void* extra = nullptr;
    const std::error_code ec = run(s, c.what, extra);
    vmem::testing::clear_os_call_failures();
    std::string out;
    if (extra != nullptr) {
        vmem::release(extra);
        out += "the reserve succeeded; ";
    }
    const bool succeeded = c.expected == 0;
    if (succeeded ? bool(ec) : ec != os_error(c.expected))
        out += "reported '" + ec.message() + "', not '" +
               (succeeded ? std::string("success") : os_error(c.expected).message()) + "'; ";
    const std::vector<page_view> after = s.look();
    const std::size_t per = s.size / page();
    const span sp = range_of(c.what);
    const bool guarded = succeeded && c.what == op::guard;
    for (std::size_t i = 0; i < before.size(); ++i) {
        const page_view& x = before[i];
        const page_view& y = after[i];
        const bool in_range = i / per == 1 && i % per >= sp.first && i % per < sp.last;
        const std::string where =
            "reservation " + std::string(1, "ARB"[i / per]) + " page " + std::to_string(i % per);
        if (in_range && guarded) {
            if (y.readable || y.writable)
                out += where + " is no guard; ";
            continue;
        }
        if (x.readable != y.readable || x.writable != y.writable)
            out += where + ": its access changed; ";
        if (x.state != y.state || x.a != y.a)
            out += where + ": the OS reports another state or access; ";
        if (x.digest != y.digest && !(in_range && contents_may_go(c.what) && y.zero))
            out += where + ": its contents changed; ";
    }
    if (!guarded && s.r().committed_bytes() != committed)
        out += "committed_bytes() changed; ";
    if (!guarded && vmem::testing::bookkeeping_bytes() != book)
        out += "the bookkeeping changed; ";
    if (locked && locked_bytes() != locked)
        out += "the locked memory changed; ";
    out += records_agree(s, guarded);
    return out;
}

std::vector<failure_case> cases() {
    const auto name_of = [](op o) {
        static const char* const names[] = {"reserve", "commit", "prefault", "decommit",
                                            "protect", "guard",  "discard",  "lock",
                                            "unlock",  "release"};
        return std::string(names[static_cast<int>(o)]);
    };
    const auto call_of = [](op o) {
        switch (o) {
        case op::reserve:
            return os_call::reserve;
        case op::commit:
            return os_call::commit;
        case op::prefault:
            return os_call::prefault;
        case op::decommit:
            return os_call::decommit;
        case op::protect:
            return os_call::protect;
        case op::guard:
            return os_call::guard;
        case op::discard:
            return os_call::discard;
        case op::lock:
            return os_call::lock;
        case op::unlock:
            return os_call::unlock;
        case op::release:
            break;
        }
        return os_call::release;
    };
    // Each operation's system call and the errors it can answer with, as the backend sees them.
    struct per_op {
        op what;
        std::vector<int> errors;
    };
#if defined(_WIN32)
    const std::vector<int> memory = {ERROR_NOT_ENOUGH_MEMORY, ERROR_COMMITMENT_LIMIT,
                                     ERROR_INVALID_ADDRESS};
    const std::vector<per_op> calls = {
        {op::reserve, memory},
        {op::commit, memory},   // VirtualAlloc(MEM_COMMIT)
        {op::prefault, memory}, // the pages touched
        {op::decommit, {ERROR_NOT_ENOUGH_MEMORY, ERROR_INVALID_ADDRESS}}, // VirtualFree
        {op::protect, memory},                                            // VirtualProtect
        {op::guard, {ERROR_NOT_ENOUGH_MEMORY, ERROR_INVALID_ADDRESS}},    // VirtualFree
        {op::discard, {ERROR_NOT_ENOUGH_MEMORY, ERROR_INVALID_ADDRESS}},  // Discard/MEM_RESET
        {op::lock, {ERROR_WORKING_SET_QUOTA, ERROR_NOT_ENOUGH_MEMORY}},   // VirtualLock
        {op::unlock, {ERROR_NOT_ENOUGH_MEMORY, ERROR_INVALID_ADDRESS}},   // VirtualUnlock
        {op::release, {ERROR_INVALID_ADDRESS, ERROR_NOT_ENOUGH_MEMORY}},  // VirtualFree
    };
#else
    const std::vector<per_op> calls = {
        {op::reserve, {ENOMEM, EAGAIN, EPERM}}, // mmap
        {op::commit, {ENOMEM, EACCES}},         // mprotect
        {op::prefault, {ENOMEM, EFAULT}},       // madvise(MADV_POPULATE_*)
        {op::decommit, {ENOMEM, EAGAIN}},       // mmap(MAP_FIXED)
        {op::protect, {ENOMEM, EACCES}},        // mprotect
        {op::guard, {ENOMEM, EAGAIN}},          // madvise, then mmap(MAP_FIXED)
        {op::discard, {ENOMEM, EAGAIN}},        // madvise(MADV_DONTNEED)
        {op::lock, {ENOMEM, EAGAIN, EPERM}},    // mlock
        {op::unlock, {ENOMEM, EPERM}},          // munlock
        {op::release, {EINVAL, ENOMEM}},        // munmap
    };
#endif
    std::vector<failure_case> out;
    for (const per_op& c : calls) {
        for (int e : c.errors) {
            const std::string suffix = " " + os_error(e).message();
            out.push_back({name_of(c.what) + " before" + suffix,
                           c.what,
                           {{call_of(c.what), e, failure_mode::before}},
                           e});
            if (c.what == op::reserve || c.what == op::release)
                continue; // the OS does these whole
            failure_case partly{name_of(c.what) + " after part" + suffix,
                                c.what,
                                {{call_of(c.what), e, failure_mode::after_part}},
                                e};
            if (c.what == op::prefault) { // its commit refused in part, or its populate
                out.push_back({"prefault: its commit after part" + suffix,
                               c.what,
                               {{os_call::commit, e, failure_mode::after_part}},
                               e});
#if defined(_WIN32)
                continue; // Windows populates by touching the pages: no system call to refuse
#endif
            }
#if !defined(_WIN32)
            if (c.what == op::guard) {
                // A refused madvise(MADV_GUARD_INSTALL) falls back to the remap and succeeds;
                // the remap refused in part too is the failure.
                partly.expected = 0;
                out.push_back({"guard: markers and remap after part" + suffix,
                               c.what,
                               {{os_call::guard, e, failure_mode::after_part},
                                {os_call::decommit, e, failure_mode::after_part}},
                               e});
            }
#endif
            out.push_back(partly);
        }
    }
#if defined(_WIN32)
    // An unlock refused with ERROR_NOT_LOCKED is success: unlocked is what was asked.
    out.push_back({"unlock after part ERROR_NOT_LOCKED",
                   op::unlock,
                   {{os_call::unlock, ERROR_NOT_LOCKED, failure_mode::after_part}},
                   0});
#else
    // MADV_DONTNEED refuses locked pages with EINVAL: discard unlocks them and tries again.
    out.push_back({"discard after part EINVAL",
                   op::discard,
                   {{os_call::discard, EINVAL, failure_mode::after_part}},
                   0});
#endif
    return out;
}

// Linux: the VmFlags of the /proc/self/smaps entry holding `p` ("dc" MADV_DONTFORK, "nh"
// MADV_NOHUGEPAGE, "lo" locked), with a blank on either side; empty where there is none.
std::string vm_flags(const void* p) {
    const std::optional<std::string> v = smaps_field(p, "VmFlags");
    return v ? *v + " " : std::string();
}

boost::test_tools::assertion_result flags_readable(utf::test_unit_id) {
    vmem::reservation r(page());
    r.commit(r.base(), page(), vmem::access::read_write);
    boost::test_tools::assertion_result res(!vm_flags(r.base()).empty() &&
                                            locked_bytes().has_value());
    res.message() << "no VmFlags in /proc/self/smaps or no VmLck on "
                  << vmem_probe::platform_name();
    return res;
}

// Four pages, in whole allocation granules.
std::size_t four_pages() {
    return (4 * page() + granularity() - 1) / granularity() * granularity();
}

// A reservation of four_pages() whose fourth page's address holds the hexadecimal digit a (most
// do): the lines of /proc/self/smaps that vmem reads for the lock state then hold a letter where
// both the locked and the unlocked part start or end.
vmem::reservation four_pages_at_a_hex_letter() {
    const auto holds_a = [](std::uintptr_t x) {
        for (; x != 0; x >>= 4)
            if ((x & 0xf) == 0xa)
                return true;
        return false;
    };
    std::vector<vmem::reservation> tried; // held, so that the next one lies elsewhere
    for (int i = 0; i < 256; ++i) {
        vmem::reservation r(four_pages());
        if (holds_a(reinterpret_cast<std::uintptr_t>(r.base()) + 3 * page()))
            return r;
        tried.push_back(std::move(r));
    }
    BOOST_FAIL("no reservation at an address with the digit a");
    return vmem::reservation();
}

bool has_flag(const void* p, const char* flag) {
    return vm_flags(p).find(std::string(" ") + flag + " ") != std::string::npos;
}

} // namespace

BOOST_AUTO_TEST_SUITE(failure_paths)

BOOST_AUTO_TEST_CASE(every_os_failure_reports_and_changes_nothing) {
    std::size_t covered = 0;
    for (const failure_case& c : cases()) {
        const std::string problems = check(c);
        BOOST_TEST(problems.empty(), c.name << ": " << problems);
        ++covered;
    }
    BOOST_TEST_MESSAGE("failure paths covered: " << covered);
    BOOST_TEST(covered >= 40u);
}

BOOST_AUTO_TEST_CASE(arming_after_part_needs_an_os_error_and_a_partial_operation) {
    disarm d;
    std::error_code ec;
    vmem::testing::fail_os_call(os_call::commit, make_error_code(vmem::errc::mapping_limit), 0,
                                failure_mode::after_part, ec);
    BOOST_TEST(ec == std::errc::invalid_argument);
    vmem::testing::fail_os_call(os_call::release, os_error(1), 0, failure_mode::after_part, ec);
    BOOST_TEST(ec == std::errc::invalid_argument);
    vmem::testing::fail_os_call(os_call::reserve, os_error(1), 0, failure_mode::after_part, ec);
    BOOST_TEST(ec == std::errc::invalid_argument);
    vmem::testing::fail_os_call(os_call::commit, os_error(1), 0, static_cast<failure_mode>(7), ec);
    BOOST_TEST(ec == std::errc::invalid_argument);
    // Nothing was armed: a commit goes through.
    vmem::reservation r(page());
    r.commit(r.base(), page(), vmem::access::read_write, ec);
    BOOST_TEST(!ec, ec.message());
}

BOOST_AUTO_TEST_CASE(a_call_failed_after_part_really_changed_part_of_it) {
    // The seam's after_part mode is what the kernel does: the first part of the range changes for
    // real, the rest not. A decommit refused so shows it after vmem put the pages back: the lower
    // half reads zero (its contents went with the remap), the upper half keeps its contents.
    disarm d;
    vmem::reservation r(4 * page());
    r.commit(r.base(), 4 * page(), vmem::access::read_write);
    fill_pattern(r.base(), 4 * page(), 5);
    vmem::testing::fail_os_call(os_call::decommit,
                                os_error(
#if defined(_WIN32)
                                    ERROR_NOT_ENOUGH_MEMORY
#else
                                    ENOMEM
#endif
                                    ),
                                0, failure_mode::after_part);
    std::error_code ec;
    r.decommit(r.base(), 4 * page(), ec);
    BOOST_TEST(bool(ec));
    BOOST_TEST((vmem_probe::can_write(r.base()) && vmem_probe::can_write(bytes(r) + 3 * page())));
    BOOST_TEST(all_equal(r.base(), 2 * page(), 0));
    std::vector<unsigned char> expected(4 * page());
    fill_pattern(expected.data(), expected.size(), 5);
    BOOST_TEST(std::memcmp(bytes(r) + 2 * page(), expected.data() + 2 * page(), 2 * page()) == 0);
    BOOST_TEST(r.committed_bytes() == 4 * page());
    // A discard refused so has let the lower half go for real (where discarded pages read zero).
    if (vmem::query_capabilities().discard_zero_fills) {
        fill_pattern(r.base(), 4 * page(), 6);
        vmem::testing::fail_os_call(os_call::discard,
                                    os_error(
#if defined(_WIN32)
                                        ERROR_NOT_ENOUGH_MEMORY
#else
                                        ENOMEM
#endif
                                        ),
                                    0, failure_mode::after_part);
        r.discard(r.base(), 4 * page(), ec);
        BOOST_TEST(bool(ec));
        BOOST_TEST(all_equal(r.base(), 2 * page(), 0));
        fill_pattern(expected.data(), expected.size(), 6);
        BOOST_TEST(std::memcmp(bytes(r) + 2 * page(), expected.data() + 2 * page(), 2 * page()) ==
                   0);
    }
}

// The mapping's own traits are part of "as before": a decommit (or guard's remap) refused after it
// replaced part of the range must give the new mappings the fork policy and huge-page advice of
// the reservation again, or a fork copies pages the reservation said it would not.
BOOST_AUTO_TEST_CASE(a_remap_refused_in_part_keeps_the_mappings_traits,
                     *utf::precondition(flags_readable)) {
    disarm d;
    if (!vmem::query_capabilities().fork_control) {
        BOOST_TEST_MESSAGE("skipped: no fork control here");
        return;
    }
    vmem::reserve_options o;
    o.fork = vmem::fork_policy::dont_fork;
    o.huge = vmem::huge_pages::never;
    for (int slow = 0; slow < 2; ++slow) { // one committed run, then a range over several runs
        vmem::reservation r(four_pages(), o);
        r.commit(r.base(), 4 * page(), vmem::access::read_write);
        if (slow)
            r.protect(bytes(r) + 3 * page(), page(), vmem::access::read);
        BOOST_TEST(has_flag(r.base(), "dc"));
        vmem::testing::fail_os_call(os_call::decommit, os_error(ENOMEM), 0,
                                    failure_mode::after_part);
        std::error_code ec;
        r.decommit(r.base(), 4 * page(), ec);
        vmem::testing::clear_os_call_failures();
        BOOST_TEST(bool(ec));
        BOOST_TEST(has_flag(r.base(), "dc"), "slow " << slow << ": " << vm_flags(r.base()));
        BOOST_TEST(has_flag(r.base(), "nh"), "slow " << slow << ": " << vm_flags(r.base()));
    }
}

// Locks (or unlocks) the four pages of `r` with the call refused with ENOMEM after the first part
// of the range: what the refused call reported.
std::error_code refused_after_part(vmem::reservation& r, os_call call) {
    vmem::testing::fail_os_call(call, os_error(ENOMEM), 0, failure_mode::after_part);
    std::error_code ec;
    if (call == os_call::lock)
        r.lock(r.base(), 4 * page(), ec);
    else
        r.unlock(r.base(), 4 * page(), ec);
    vmem::testing::clear_os_call_failures();
    return ec;
}

// A lock refused after part of its range must leave locked what was locked before the call.
boost::test_tools::assertion_result guard_markers_here(utf::test_unit_id) {
    boost::test_tools::assertion_result r(vmem::query_capabilities().guard_pages_free);
    r.message() << "no guard markers (Linux 6.13+) on " << vmem_probe::platform_name();
    return r;
}

// A guard whose markers are refused partway, and whose fallback remap is then refused partway
// too, leaves the pages with the access vmem records (their contents may be gone). (The seam's
// remap replaces the same first part the markers cover; a remap refused before it starts, at the
// mapping limit, leaves markers for MADV_GUARD_REMOVE to lift, which no seam reaches.)
BOOST_AUTO_TEST_CASE(a_guard_refused_twice_leaves_the_pages_as_recorded,
                     *utf::precondition(guard_markers_here)) {
    disarm d;
    vmem::reservation r(four_pages());
    r.commit(r.base(), 4 * page(), vmem::access::read_write);
    vmem::testing::fail_os_call(os_call::guard, os_error(ENOMEM), 0, failure_mode::after_part);
    vmem::testing::fail_os_call(os_call::decommit, os_error(ENOMEM), 0, failure_mode::after_part);
    std::error_code ec;
    r.guard(r.base(), 4 * page(), ec);
    vmem::testing::clear_os_call_failures();
    BOOST_TEST(bool(ec));
    for (std::size_t i = 0; i < 4; ++i) {
        BOOST_TEST(vmem_probe::can_write(bytes(r) + i * page()), "page " << i);
        BOOST_TEST((vmem::query(bytes(r) + i * page()).access == vmem::access::read_write));
    }
    BOOST_TEST(r.committed_bytes() == 4 * page());
}

BOOST_AUTO_TEST_CASE(a_lock_refused_in_part_keeps_earlier_locks,
                     *utf::precondition(flags_readable)) {
    disarm d;
    vmem::reservation r = four_pages_at_a_hex_letter();
    r.commit(r.base(), 4 * page(), vmem::access::read_write);
    r.lock(bytes(r) + 3 * page(), page()); // locked before; the refused lock's upper half
    const std::optional<std::size_t> before = locked_bytes();
    BOOST_TEST(has_flag(bytes(r) + 3 * page(), "lo"));
    BOOST_TEST(bool(refused_after_part(r, os_call::lock)));
    BOOST_TEST(has_flag(bytes(r) + 3 * page(), "lo"), vm_flags(bytes(r) + 3 * page()));
    BOOST_TEST(!has_flag(r.base(), "lo"), vm_flags(r.base()));
    BOOST_TEST((locked_bytes() == before));
    r.unlock(r.base(), 4 * page());
}

// The same with two earlier locks, the first at the start: the page the refused lock locked for
// real lies between them and must be unlocked again, and so must the rest past the second, which
// stays locked.
BOOST_AUTO_TEST_CASE(a_lock_refused_in_part_unlocks_between_earlier_locks,
                     *utf::precondition(flags_readable)) {
    disarm d;
    vmem::reservation r = four_pages_at_a_hex_letter();
    r.commit(r.base(), 4 * page(), vmem::access::read_write);
    r.lock(r.base(), page()); // locked before: pages 0 and 2
    r.lock(bytes(r) + 2 * page(), page());
    const std::optional<std::size_t> before = locked_bytes();
    BOOST_TEST(bool(refused_after_part(r, os_call::lock))); // locks pages 0 and 1, then refused
    for (std::size_t i = 0; i < 4; ++i)
        BOOST_TEST(has_flag(bytes(r) + i * page(), "lo") == (i % 2 == 0),
                   i << ": " << vm_flags(bytes(r) + i * page()));
    BOOST_TEST((locked_bytes() == before));
    r.unlock(r.base(), 4 * page());
}

// An unlock refused after part of its range must leave locked what was locked before the call.
BOOST_AUTO_TEST_CASE(an_unlock_refused_in_part_keeps_the_locks,
                     *utf::precondition(flags_readable)) {
    disarm d;
    vmem::reservation r = four_pages_at_a_hex_letter();
    r.commit(r.base(), 4 * page(), vmem::access::read_write);
    r.lock(r.base(), 3 * page()); // the last page is not locked
    const std::optional<std::size_t> before = locked_bytes();
    BOOST_TEST(bool(refused_after_part(r, os_call::unlock)));
    BOOST_TEST(has_flag(r.base(), "lo"), vm_flags(r.base()));
    BOOST_TEST(!has_flag(bytes(r) + 3 * page(), "lo"), vm_flags(bytes(r) + 3 * page()));
    BOOST_TEST((locked_bytes() == before));
    r.unlock(r.base(), 4 * page());
}

// The fast paths (a range all reserved, or within one committed run) have their own undo: the
// cases above all span several runs. Each refused after part must leave every page as it was.
BOOST_AUTO_TEST_CASE(fast_paths_refused_after_part_change_nothing) {
    disarm d;
#if defined(_WIN32)
    const std::error_code refused = os_error(ERROR_NOT_ENOUGH_MEMORY);
#else
    const std::error_code refused = os_error(ENOMEM);
#endif
    const std::size_t n = 4 * page();
    for (int what = 0; what < 3; ++what) { // commit reserved, commit in a run, protect in a run
        vmem::reservation r(four_pages());
        if (what != 0) {
            r.commit(r.base(), n, vmem::access::read_write);
            fill_pattern(r.base(), n, 21);
        }
        std::error_code ec; // warm-up (refused where nothing is committed)
        r.protect(r.base(), page(), what == 0 ? vmem::access::none : vmem::access::read_write, ec);
        vmem::testing::fail_os_call(what == 2 ? os_call::protect : os_call::commit, refused, 0,
                                    failure_mode::after_part);
        if (what == 2)
            r.protect(r.base(), n, vmem::access::read, ec);
        else
            r.commit(r.base(), n, what == 0 ? vmem::access::read_write : vmem::access::read, ec);
        vmem::testing::clear_os_call_failures();
        BOOST_TEST(ec == refused, what << ": " << ec.message());
        for (std::size_t i = 0; i < 4; ++i) {
            unsigned char* p = bytes(r) + i * page();
            const vmem::region q = vmem::query(p);
            if (what == 0) {
                BOOST_TEST(!vmem_probe::can_read(p), what << ": page " << i << " readable");
                BOOST_TEST((q.state == vmem::page_state::reserved), what << ": page " << i);
            } else {
                BOOST_TEST(vmem_probe::can_write(p), what << ": page " << i << " not writable");
                BOOST_TEST((q.access == vmem::access::read_write), what << ": page " << i);
            }
        }
        BOOST_TEST(r.committed_bytes() == (what == 0 ? 0 : n));
        if (what != 0)
            BOOST_TEST(has_pattern(r.base(), n, 21));
    }
}

// A decommit of one whole committed run, refused after part, commits all of it again, also where
// the run is at least as long as its own address (a low reservation).
BOOST_AUTO_TEST_CASE(a_refused_decommit_of_a_run_longer_than_its_address_puts_it_all_back,
                     *utf::precondition(low_address_free)) {
    disarm d;
#if defined(_WIN32)
    const std::error_code refused = os_error(ERROR_NOT_ENOUGH_MEMORY);
#else
    const std::error_code refused = os_error(ENOMEM);
#endif
    vmem::reservation r = reserve_low();
    r.commit(r.base(), r.size(), vmem::access::read_write);
    vmem::testing::fail_os_call(os_call::decommit, refused, 0, failure_mode::after_part);
    std::error_code ec;
    r.decommit(r.base(), r.size(), ec);
    vmem::testing::clear_os_call_failures();
    BOOST_TEST(ec == refused, ec.message());
    BOOST_TEST(vmem_probe::can_write(r.base()));
    BOOST_TEST(vmem_probe::can_write(bytes(r) + r.size() / 2 - page()));
    BOOST_TEST(vmem_probe::can_write(bytes(r) + r.size() - page()));
    BOOST_TEST(r.committed_bytes() == r.size());
}

// A commit with a new access over the tail of a committed run records the run's head with its
// own access still: a later refusal puts the head back as it was, not with the tail's access.
BOOST_AUTO_TEST_CASE(a_commit_over_a_runs_tail_keeps_the_heads_access_on_record) {
    disarm d;
#if defined(_WIN32)
    const std::error_code refused = os_error(ERROR_NOT_ENOUGH_MEMORY);
#else
    const std::error_code refused = os_error(ENOMEM);
#endif
    vmem::reservation r(four_pages());
    const std::size_t n = 4 * page();
    r.commit(r.base(), n, vmem::access::read_write);
    fill_pattern(r.base(), 2 * page(), 22);
    r.commit(bytes(r) + 2 * page(), 2 * page(), vmem::access::none);
    vmem::testing::fail_os_call(os_call::protect, refused, 0, failure_mode::after_part);
    std::error_code ec;
    r.protect(r.base(), n, vmem::access::read, ec);
    vmem::testing::clear_os_call_failures();
    BOOST_TEST(ec == refused, ec.message());
    BOOST_TEST(vmem_probe::can_write(r.base()));
    BOOST_TEST(vmem_probe::can_write(bytes(r) + page()));
    BOOST_TEST(!vmem_probe::can_read(bytes(r) + 2 * page()));
    BOOST_TEST(!vmem_probe::can_read(bytes(r) + 3 * page()));
    BOOST_TEST(has_pattern(r.base(), 2 * page(), 22));
}

BOOST_AUTO_TEST_SUITE_END()
