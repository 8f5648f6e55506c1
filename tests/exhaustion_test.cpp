// vmem tests: running out — of the data limit, the address-space limit, the kernel's mappings,
// the address space itself — with nothing lost: each refusal is a clean error, the reservations
// stay usable with their contents, and releasing everything leaves the process as it was.
//
// Each scenario runs in a child process whose limits it changes (fork, so Linux and POSIX only;
// the limits_test cases tell the errors apart, these check what is left afterwards). On Windows
// the one limit a process can be given is a job object's JOB_OBJECT_LIMIT_PROCESS_MEMORY: tried
// there, and skipped with the reason where the OS does not enforce it (Wine).
#include "common.hpp"

#include <fstream>
#include <limits>
#include <string>
#include <vector>

#if defined(_WIN32)
#include <windows.h>
#else
#include <sys/resource.h>
#endif

using namespace vmem_test;

namespace {

std::string describe(const std::error_code& ec) {
    return std::string(ec.category().name()) + ":" + std::to_string(ec.value()) + " (" +
           ec.message() + ")";
}

#if !defined(_WIN32)
std::size_t status_kib(const char* key) {
    std::ifstream status("/proc/self/status");
    const std::string k = std::string(key) + ":";
    for (std::string line; std::getline(status, line);)
        if (line.rfind(k, 0) == 0)
            return std::stoul(line.substr(k.size()));
    return 0;
}

// Limits the address space (RLIMIT_AS) to what the process holds now plus `headroom`.
bool limit_address_space(std::size_t headroom) {
    const std::size_t size_kib = status_kib("VmSize");
    if (size_kib == 0)
        return false;
    const rlim_t wanted = static_cast<rlim_t>(size_kib * 1024 + headroom);
    rlimit limit{};
    if (getrlimit(RLIMIT_AS, &limit) != 0 ||
        (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < wanted))
        return false;
    limit.rlim_cur = wanted;
    return setrlimit(RLIMIT_AS, &limit) == 0;
}
#endif

// A reservation of `pages` pages whose first `held` pages are committed read-write with a pattern:
// what a refused commit must leave as it was.
struct holding {
    vmem::reservation r;
    std::size_t held;
    holding(std::size_t size, std::size_t held_pages, std::error_code& ec)
        : r(size, {}, ec), held(held_pages) {
        if (!ec)
            r.commit(r.base(), held * page(), vmem::access::read_write, ec);
        if (!ec)
            fill_pattern(r.base(), held * page(), 61);
    }
    // After a refused commit of everything: the held pages keep their contents, the rest is still
    // reserved, and a smaller commit then works and reads zero.
    std::string usable_after(const std::error_code& refused, std::size_t smaller) {
        std::string out;
        if (refused != std::errc::not_enough_memory)
            out += "refused with " + describe(refused) + ", not not_enough_memory; ";
        if (!has_pattern(r.base(), held * page(), 61))
            out += "the committed pages lost their contents; ";
        if (r.committed_bytes() != held * page())
            out += "committed_bytes() changed; ";
        unsigned char* const next = bytes(r) + held * page();
        if (vmem_probe::can_read(next))
            out += "the refused pages became accessible; ";
        std::error_code ec;
        r.commit(next, smaller, vmem::access::read_write, ec);
        if (ec)
            return out + "a smaller commit then failed: " + describe(ec);
        if (!all_equal(next, smaller, 0) || !vmem_probe::can_write(next + smaller - 1))
            out += "the smaller commit does not read zero or refuses writes; ";
        if (!has_pattern(r.base(), held * page(), 61))
            out += "the committed pages lost their contents after the smaller commit; ";
        r.release(ec);
        if (ec)
            out += "release failed: " + describe(ec);
        return out;
    }
};

constexpr std::size_t mib = std::size_t{1} << 20;

// RLIMIT_DATA at what the child holds plus 16 MiB: a commit of 256 MiB is refused, one of 1 MiB
// is not.
std::string commit_under_the_data_limit(void*) {
#if defined(_WIN32)
    return "skip: no RLIMIT_DATA";
#else
    std::error_code ec;
    holding h(256 * mib, 4, ec);
    if (ec)
        return "setting up: " + describe(ec);
    if (!vmem_probe::limit_writable_memory(16 * mib))
        return "skip: RLIMIT_DATA cannot be set here";
    h.r.commit(h.r.base(), h.r.size(), vmem::access::read_write, ec);
    if (!ec)
        return "a commit of 256 MiB under a 16 MiB headroom succeeded";
    return h.usable_after(ec, mib);
#endif
}

// RLIMIT_AS at what the child holds plus 16 MiB. Linux charges the address space at reserve: a
// commit of a reservation made before is not refused (mprotect never grows it), while a reserve
// that commits at once, or any new reserve beyond the headroom, is; after which the first
// reservation is still usable and keeps its contents.
std::string commit_under_the_address_space_limit(void*) {
#if defined(_WIN32)
    return "skip: no RLIMIT_AS";
#else
    std::error_code ec;
    holding h(256 * mib, 4, ec);
    if (ec)
        return "setting up: " + describe(ec);
    if (!limit_address_space(16 * mib))
        return "skip: RLIMIT_AS cannot be set here";
    vmem::reserve_options o;
    o.commit = true;
    void* p = vmem::reserve(256 * mib, o, ec);
    if (p != nullptr) {
        vmem::release(p);
        return "a committed reserve of 256 MiB under a 16 MiB headroom succeeded";
    }
    std::string out = h.usable_after(ec, 64 * mib); // beyond the headroom: held at reserve
    return out;
#endif
}

// ENOMEM is told apart by what the process holds against each limit, not by the size asked
// alone. Holding 64 MiB committed under RLIMIT_DATA at what it holds plus 16 MiB, a commit of
// 32 MiB (below the limit, beyond the headroom) is process_limit. Then, with RLIMIT_DATA finite
// but far above any use, a reserve larger than any free range is refused by the kernel for want
// of space: not_enough_memory, and not process_limit.
std::string enomem_classified_by_what_is_held(void*) {
#if defined(_WIN32)
    return "skip: no RLIMIT_DATA";
#else
    std::error_code ec;
    holding h(256 * mib, 64 * mib / page(), ec);
    if (ec)
        return "setting up: " + describe(ec);
    if (!vmem_probe::limit_writable_memory(16 * mib))
        return "skip: RLIMIT_DATA cannot be set here";
    h.r.commit(bytes(h.r) + h.held * page(), 32 * mib, vmem::access::read_write, ec);
    if (!ec)
        return "a commit of 32 MiB under a 16 MiB headroom succeeded";
    std::string out;
    if (ec != vmem::errc::process_limit)
        out += "a commit beyond the headroom but below the limit was refused with " + describe(ec) +
               ", not process_limit; ";
    if (sizeof(void*) < 8)
        return out; // 32-bit: no size is sure to find no free range yet be a valid size
    rlimit data{};
    if (getrlimit(RLIMIT_DATA, &data) != 0)
        return out + "getrlimit failed; ";
    data.rlim_cur = std::numeric_limits<rlim_t>::max() / 4; // finite, far above any use
    if (data.rlim_max != RLIM_INFINITY && data.rlim_max < data.rlim_cur)
        return out;
    if (setrlimit(RLIMIT_DATA, &data) != 0)
        return out + "raising RLIMIT_DATA failed; ";
    // 100 TiB: within x86-64's 128 TiB, but no gap between the program and the libraries and
    // stack near the top is that large.
    const std::size_t too_large = std::size_t{100} << (sizeof(void*) == 8 ? 40 : 0);
    void* p = vmem::reserve(too_large, {}, ec);
    if (p != nullptr) {
        vmem::release(p);
        return out + "skip: a reserve of 100 TiB succeeded (the address space has room for it)";
    }
    if (ec != std::errc::not_enough_memory || ec == vmem::errc::process_limit ||
        ec == vmem::errc::mapping_limit)
        out += "a reserve larger than any free range, far below every limit, was refused with " +
               describe(ec) + ", not a plain not_enough_memory; ";
    return out;
#endif
}

std::size_t map_count() {
    return vmem::query_capabilities().map_count;
}

// Commits a range and decommits every other page of it, each decommit one more mapping, until
// vm.max_map_count refuses: errc::mapping_limit, the refused page as it was, and everything can
// be released, leaving the mapping count at `start` (when `check_count`).
std::string alternate_once(const vmem::capabilities& caps, std::size_t start, bool check_count) {
    const std::size_t pages = 2 * caps.max_map_count + 1024;
    const std::size_t chunk = 4096; // pages committed at a time, each then made into mappings
    std::error_code ec;
    vmem::reservation r(pages * page(), {}, ec);
    if (ec)
        return "reserve: " + describe(ec);
    std::string out;
    std::size_t done = 0; // pages committed so far, every other one then decommitted
    bool refused = false;
    while (!refused && done + chunk <= pages) {
        unsigned char* const first = bytes(r) + done * page();
        r.commit(first, chunk * page(), vmem::access::read_write, ec);
        if (ec) {
            refused = true;
            if (ec != vmem::errc::mapping_limit)
                out += "the commit was refused with " + describe(ec) + ", not mapping_limit; ";
            break;
        }
        for (std::size_t i = 0; i < chunk; i += 2) {
            unsigned char* const p = first + i * page();
            p[0] = 0x5a;
            r.decommit(p + page(), page(), ec);
            if (ec) {
                refused = true;
                if (ec != vmem::errc::mapping_limit)
                    out += "refused with " + describe(ec) + ", not mapping_limit; ";
                if (ec != std::errc::not_enough_memory)
                    out += "mapping_limit is not not_enough_memory; ";
                // The refused page is as it was: committed, writable, its contents kept.
                if (!vmem_probe::can_write(p + page()))
                    out += "the page whose decommit was refused is no longer writable; ";
                if (p[0] != 0x5a)
                    out += "the page before it lost its contents; ";
                std::error_code again;
                r.protect(p + page(), page(), vmem::access::read_write, again);
                if (again)
                    out +=
                        "vmem no longer records the refused page as committed: " + describe(again) +
                        "; ";
                break;
            }
        }
        done += chunk;
    }
    if (!refused)
        return "the mapping limit was never reached";
    if (map_count() + 8 < caps.max_map_count)
        out += "refused far from the limit (" + std::to_string(map_count()) + " mappings); ";
    r.release(ec);
    if (ec)
        return out + "release at the mapping limit: " + describe(ec);
    if (check_count && map_count() != start)
        out += "the mapping count is " + std::to_string(map_count()) + " after release, not " +
               std::to_string(start) + "; ";
    vmem::reservation again(page(), {}, ec);
    if (ec)
        out += "a reserve after the release failed: " + describe(ec);
    return out;
}

// Twice: vmem's bookkeeping keeps the pages its pools took from the OS for the runs of the first
// round (a few mappings), and reuses them, so the second round must end exactly where it began.
std::string alternate_until_the_mapping_limit(void*) {
    const vmem::capabilities caps = vmem::query_capabilities();
    if (caps.max_map_count == 0 || caps.max_map_count > 1000000)
        return "skip: no vm.max_map_count here, or too large to reach";
    const std::size_t before = map_count();
    const std::string first = alternate_once(caps, before, false);
    if (!first.empty())
        return "first round: " + first;
    const std::size_t start = map_count();
    if (start > before + 16)
        return "the first round left " + std::to_string(start - before) + " mappings behind";
    return alternate_once(caps, start, true);
}

// Under RLIMIT_AS at what the child holds plus 256 MiB: reserves 16 MiB at a time until refused,
// which must be a clean process_limit; releasing them all leaves the address space, the mapping
// count and vmem's bookkeeping as they were, and their addresses free.
std::string reserve_until_the_address_space_is_exhausted(void*) {
#if defined(_WIN32)
    return "skip: no RLIMIT_AS";
#else
    const std::size_t step = 16 * mib;
    std::vector<void*> held;
    held.reserve(64); // before the limit, so the vector never needs address space under it
    // A first round without the limit, released: vmem's pools keep the pages they took for the
    // records (a mapping or two), and reuse them, so the limited round must end where it began.
    for (int i = 0; i < 64; ++i)
        held.push_back(vmem::reserve(step));
    for (void* p : held)
        vmem::release(p);
    held.clear();
    const std::size_t start_maps = map_count();
    const std::size_t start_book = vmem::testing::bookkeeping_bytes();
    const std::size_t start_size = status_kib("VmSize");
    if (!limit_address_space(256 * mib))
        return "skip: RLIMIT_AS cannot be set here";
    std::error_code ec;
    while (held.size() < 64) {
        void* p = vmem::reserve(step, {}, ec);
        if (p == nullptr)
            break;
        held.push_back(p);
    }
    // Everything is released, and the process measured, before any message is built: the heap
    // may need address space (and under ASan its allocator maps a region for each new size).
    const std::error_code refused = ec;
    bool released = true;
    for (void* p : held) {
        vmem::release(p, ec);
        released = released && !ec;
    }
    const std::size_t end_maps = map_count();
    const std::size_t end_book = vmem::testing::bookkeeping_bytes();
    const std::size_t end_size = status_kib("VmSize");
    std::string out;
    if (!refused)
        return "64 reserves of 16 MiB fit under a 256 MiB headroom";
    if (refused != vmem::errc::process_limit)
        out += "refused with " + describe(refused) + ", not process_limit; ";
    if (refused != std::errc::not_enough_memory)
        out += "the refusal is not not_enough_memory; ";
    if (held.size() < 8)
        out += "refused after " + std::to_string(held.size()) + " reserves only; ";
    if (!released)
        out += "a release failed; ";
    for (void* p : held) {
        const vmem::region rg = vmem::query(p, ec);
        if (ec || rg.state != vmem::page_state::free || rg.reservation != nullptr)
            out += "a released reservation's address is not free; ";
    }
    // AddressSanitizer maps memory of its own at will (its allocator, its stack depot): there the
    // process's mapping count and VmSize are not vmem's alone, and only vmem's own checks hold.
    if (end_maps != start_maps && !vmem_test::under_address_sanitizer)
        out += "the mapping count is " + std::to_string(end_maps) + ", not " +
               std::to_string(start_maps) + "; ";
    if (end_book != start_book)
        out += "vmem's bookkeeping did not go back; ";
    if (end_size != start_size && !vmem_test::under_address_sanitizer)
        out += "VmSize is " + std::to_string(end_size) + " KiB, not " + std::to_string(start_size) +
               "; ";
    vmem::reservation again(step, {}, ec);
    if (ec)
        out += "a reserve after releasing everything failed: " + describe(ec);
    return out;
#endif
}

void in_child(std::string (*body)(void*)) {
    const auto problems = vmem_probe::run_in_child(body, nullptr);
    BOOST_TEST_REQUIRE(problems.has_value());
    if (problems->rfind("skip: ", 0) == 0) {
        BOOST_TEST_MESSAGE(*problems);
        return;
    }
    BOOST_TEST(problems->empty(), *problems);
}

#if defined(_WIN32)
// A job object limiting the process's committed memory to what it holds plus `headroom`: whether
// a commit beyond it is refused (ERROR_NOT_ENOUGH_QUOTA / not_enough_memory). The limit is lifted
// again before returning, whatever happens.
std::string commit_under_a_job_limit() {
    HANDLE job = CreateJobObjectW(nullptr, nullptr);
    if (job == nullptr)
        return "skip: CreateJobObject failed";
    std::string out;
    if (!AssignProcessToJobObject(job, GetCurrentProcess())) {
        CloseHandle(job);
        return "skip: the process cannot be put in a job object here";
    }
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION info{};
    info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_PROCESS_MEMORY;
    const auto usage = vmem_probe::commit_charge();
    info.ProcessMemoryLimit = (usage ? *usage : 0) + 16 * mib;
    if (!SetInformationJobObject(job, JobObjectExtendedLimitInformation, &info, sizeof info)) {
        CloseHandle(job);
        return "skip: the job object refuses a process memory limit here";
    }
    std::error_code ec;
    holding h(256 * mib, 4, ec);
    if (!ec) {
        h.r.commit(h.r.base(), h.r.size(), vmem::access::read_write, ec);
        if (!ec)
            out = "skip: a commit of 256 MiB beyond a job's 16 MiB process memory limit succeeded "
                  "(the limit is not enforced here" +
                  std::string(under_wine() ? ": Wine does not enforce job memory limits)" : ")");
        else
            out = h.usable_after(ec, mib);
    } else {
        out = "setting up: " + describe(ec);
    }
    info.BasicLimitInformation.LimitFlags = 0;
    SetInformationJobObject(job, JobObjectExtendedLimitInformation, &info, sizeof info);
    CloseHandle(job);
    return out;
}
#endif

#if defined(_WIN32)
// What the job-limit scenario found, run once (from the precondition, which skips with its reason
// where the limit cannot be set or is not enforced).
const std::string& job_limit_result() {
    static const std::string result = commit_under_a_job_limit();
    return result;
}

boost::test_tools::assertion_result job_limit_tried(utf::test_unit_id) {
    const std::string& r = job_limit_result();
    boost::test_tools::assertion_result out(r.rfind("skip: ", 0) != 0);
    out.message() << r.substr(r.rfind("skip: ", 0) == 0 ? 6 : 0);
    return out;
}
#endif

boost::test_tools::assertion_result forks(utf::test_unit_id) {
    boost::test_tools::assertion_result r(vmem_probe::platform_name() != "windows");
    r.message() << "no fork, no RLIMIT_DATA or RLIMIT_AS, no mapping limit on Windows (the job "
                   "object's limit is tried instead)";
    return r;
}

} // namespace

BOOST_AUTO_TEST_SUITE(exhaustion)

BOOST_AUTO_TEST_CASE(a_commit_refused_under_the_data_limit_keeps_the_reservation_usable,
                     *utf::precondition(forks)) {
    in_child(commit_under_the_data_limit);
}

BOOST_AUTO_TEST_CASE(out_of_memory_is_a_process_limit_only_when_what_is_held_reaches_it,
                     *utf::precondition(forks)) {
    in_child(enomem_classified_by_what_is_held);
}

BOOST_AUTO_TEST_CASE(under_the_address_space_limit_a_refused_commit_keeps_the_reservation_usable,
                     *utf::precondition(forks)) {
    in_child(commit_under_the_address_space_limit);
}

BOOST_AUTO_TEST_CASE(the_mapping_limit_reached_by_decommits_is_clean_and_all_can_be_released,
                     *utf::precondition(forks) *
                         utf::precondition(unless_thread_sanitizer{
                             "its runtime needs mappings of its own and dies at the limit"})) {
    in_child(alternate_until_the_mapping_limit);
}

BOOST_AUTO_TEST_CASE(reserving_until_the_address_space_is_exhausted_then_releasing_restores_it,
                     *utf::precondition(forks)) {
    in_child(reserve_until_the_address_space_is_exhausted);
}

#if defined(_WIN32)
BOOST_AUTO_TEST_CASE(a_commit_refused_under_a_job_memory_limit_keeps_the_reservation_usable,
                     *utf::precondition(job_limit_tried)) {
    BOOST_TEST(job_limit_result().empty(), job_limit_result());
}
#endif

BOOST_AUTO_TEST_SUITE_END()
