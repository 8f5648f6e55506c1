// vmem tests: system facts come from the OS.
#include "common.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

// The independent readings below ask the OS directly, without vmem: its own files and calls.
#if defined(_WIN32)
#ifndef NOMINMAX
#define NOMINMAX
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#else
#include <sys/mman.h>
#include <unistd.h>
#endif
#if defined(__linux__)
#include <sys/syscall.h>
#include <sys/utsname.h>
#endif

using namespace vmem_test;

BOOST_AUTO_TEST_SUITE(system_facts)

BOOST_AUTO_TEST_CASE(page_size_is_the_os_page_size) {
    BOOST_TEST(vmem::page_size() == vmem_probe::os_page_size());
    BOOST_TEST((vmem::page_size() & (vmem::page_size() - 1)) == 0u);
}

BOOST_AUTO_TEST_CASE(granularity_is_the_os_granularity_and_a_multiple_of_the_page) {
    BOOST_TEST(vmem::allocation_granularity() == vmem_probe::os_allocation_granularity());
    BOOST_TEST(vmem::allocation_granularity() % vmem::page_size() == 0u);
}

BOOST_AUTO_TEST_CASE(capabilities_agree_with_the_facts) {
    const vmem::capabilities c = vmem::query_capabilities();
    BOOST_TEST(c.page_size == vmem::page_size());
    BOOST_TEST(c.allocation_granularity == vmem::allocation_granularity());
}

namespace {

// What the OS's own setting says the accounting is: Linux's vm.overcommit_memory as the probe
// reads it, Windows strict, other systems none.
vmem::commit_accounting expected_accounting(std::optional<int> mode) {
    if (vmem_probe::platform_name() == "windows")
        return vmem::commit_accounting::strict;
    if (!mode)
        return vmem::commit_accounting::none;
    return *mode == 2   ? vmem::commit_accounting::strict
           : *mode == 1 ? vmem::commit_accounting::none
                        : vmem::commit_accounting::heuristic;
}

std::string accounting_under(void* mode) {
    const int m = *static_cast<int*>(mode);
    if (!vmem_probe::pretend_overcommit_mode(m))
        return "unsupported";
    const vmem::commit_accounting got = vmem::query_capabilities().accounting;
    return got == expected_accounting(m) ? ""
                                         : "mode " + std::to_string(m) + " read as accounting " +
                                               std::to_string(static_cast<int>(got));
}

} // namespace

BOOST_AUTO_TEST_CASE(accounting_is_what_the_os_setting_says) {
    const auto mode = vmem_probe::overcommit_mode();
    BOOST_TEST((vmem::query_capabilities().accounting == expected_accounting(mode)),
               "accounting " << static_cast<int>(vmem::query_capabilities().accounting)
                             << ", overcommit_memory " << (mode ? std::to_string(*mode) : "-"));
}

// Every Linux overcommit mode, each in a child process that sees its own value of
// /proc/sys/vm/overcommit_memory (the system's setting is not touched), so that all three
// answers are checked whatever this machine's mode is.
BOOST_AUTO_TEST_CASE(accounting_follows_each_overcommit_mode,
                     *utf::precondition([](utf::test_unit_id) {
                         boost::test_tools::assertion_result r(
                             vmem_probe::overcommit_mode().has_value());
                         r.message() << "no overcommit modes here";
                         return r;
                     })) {
    for (int mode : {0, 1, 2}) {
        const auto said = vmem_probe::run_in_child(accounting_under, &mode);
        BOOST_TEST_REQUIRE(said.has_value());
        if (*said == "unsupported") {
            BOOST_TEST_MESSAGE("cannot show this process another overcommit mode (needs a "
                               "private mount namespace); checked the machine's mode only");
            return;
        }
        BOOST_TEST(said->empty(), *said);
    }
}

// ---- The capability report against independent readings of the OS ----

namespace {

// What the OS says, asked without vmem (its own files, calls and probes). Each is empty where
// this platform has no such source; the test then says what the report must hold instead.
// The files under /proc and /sys are Linux's own: a Windows program under Wine could open the
// host's, which say nothing about the Windows it runs on.
namespace os_says {

#if defined(__linux__)
constexpr bool linux_files = true;
#else
constexpr bool linux_files = false;
#endif

std::optional<std::string> text(const char* path) {
    if (!linux_files)
        return std::nullopt;
    std::ifstream in(path);
    if (!in)
        return std::nullopt;
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::optional<std::size_t> number(const char* path) {
    const auto t = text(path);
    if (!t || t->empty() || !std::isdigit(static_cast<unsigned char>((*t)[0])))
        return std::nullopt;
    return static_cast<std::size_t>(std::stoull(*t));
}

// "Key:   value [kB]" in /proc/meminfo, in bytes when given in kB.
std::optional<std::size_t> meminfo(const std::string& key) {
    if (!linux_files)
        return std::nullopt;
    std::ifstream in("/proc/meminfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.compare(0, key.size() + 1, key + ":") != 0)
            continue;
        std::istringstream fields(line.substr(key.size() + 1));
        std::size_t value = 0;
        std::string unit;
        fields >> value >> unit;
        return unit == "kB" ? value * 1024 : value;
    }
    return std::nullopt;
}

// Every huge page size: Linux's /sys/kernel/mm/hugepages/hugepages-<N>kB, Windows'
// GetLargePageMinimum (0: none), ascending.
std::optional<std::vector<std::size_t>> huge_page_sizes() {
    std::vector<std::size_t> sizes;
#if defined(_WIN32)
    if (const SIZE_T large = GetLargePageMinimum())
        sizes.push_back(large);
#else
    std::error_code ec;
    std::filesystem::directory_iterator it("/sys/kernel/mm/hugepages", ec);
    if (!linux_files || ec)
        return std::nullopt;
    for (const auto& entry : it) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("hugepages-", 0) == 0 && name.size() > 12 &&
            name.compare(name.size() - 2, 2, "kB") == 0)
            sizes.push_back(std::stoull(name.substr(10, name.size() - 12)) * 1024);
    }
    std::sort(sizes.begin(), sizes.end());
#endif
    return sizes;
}

// The default huge page size: Hugepagesize, else THP's PMD size; Windows GetLargePageMinimum.
std::optional<std::size_t> huge_page_size() {
#if defined(_WIN32)
    return GetLargePageMinimum();
#else
    if (const auto size = meminfo("Hugepagesize"))
        return size;
    return number("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size");
#endif
}

// The bracketed word of /sys/kernel/mm/transparent_hugepage/enabled.
std::optional<std::string> thp_mode() {
    const auto t = text("/sys/kernel/mm/transparent_hugepage/enabled");
    if (!t)
        return std::nullopt;
    const auto open = t->find('['), close = t->find(']');
    if (open == std::string::npos || close == std::string::npos || close < open)
        return std::nullopt;
    return t->substr(open + 1, close - open - 1);
}

// Windows: whether the process token lists SeLockMemoryPrivilege (asked with a heap buffer of
// the size the token reports).
std::optional<bool> lock_memory_privilege() {
#if defined(_WIN32)
    LUID luid;
    if (!LookupPrivilegeValueW(nullptr, L"SeLockMemoryPrivilege", &luid))
        return std::nullopt;
    HANDLE token;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token))
        return std::nullopt;
    DWORD length = 0;
    GetTokenInformation(token, TokenPrivileges, nullptr, 0, &length);
    std::vector<unsigned char> buffer(length + sizeof(TOKEN_PRIVILEGES));
    const bool read = GetTokenInformation(token, TokenPrivileges, buffer.data(),
                                          static_cast<DWORD>(buffer.size()), &length) != 0;
    CloseHandle(token);
    if (!read)
        return std::nullopt;
    TOKEN_PRIVILEGES header;
    std::memcpy(&header, buffer.data(), sizeof header);
    for (DWORD i = 0; i < header.PrivilegeCount; ++i) {
        LUID_AND_ATTRIBUTES each;
        std::memcpy(&each, buffer.data() + offsetof(TOKEN_PRIVILEGES, Privileges) + i * sizeof each,
                    sizeof each);
        if (each.Luid.LowPart == luid.LowPart && each.Luid.HighPart == luid.HighPart &&
            (each.Attributes & SE_PRIVILEGE_REMOVED) == 0)
            return true;
    }
    return false;
#else
    return std::nullopt;
#endif
}

// The process's mappings: lines of /proc/self/maps.
std::optional<std::size_t> mappings() {
    if (!linux_files)
        return std::nullopt;
    std::ifstream in("/proc/self/maps");
    if (!in)
        return std::nullopt;
    std::size_t lines = 0;
    std::string line;
    while (std::getline(in, line))
        ++lines;
    return lines;
}

// Windows: the bit width of GetSystemInfo's highest application address.
std::optional<unsigned> address_bits() {
#if defined(_WIN32)
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    auto highest = reinterpret_cast<std::uintptr_t>(si.lpMaximumApplicationAddress);
    unsigned bits = 0;
    for (; highest != 0; highest >>= 1)
        ++bits;
    return bits;
#else
    return std::nullopt;
#endif
}

#if defined(__linux__)
// madvise(advice) on a fresh private anonymous page of `prot`: EINVAL means the kernel does not
// know the advice.
std::optional<bool> kernel_knows_advice(int advice, int prot) {
    const std::size_t size = vmem_probe::os_page_size();
    void* p = mmap(nullptr, size, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return std::nullopt;
    const int result = madvise(p, size, advice);
    const int error = errno;
    munmap(p, size);
    if (result == 0)
        return true;
    if (error == EINVAL)
        return false;
    return std::nullopt;
}

// The running kernel's version, major * 1000 + minor, from uname.
std::optional<int> kernel_version() {
    utsname u;
    if (uname(&u) != 0)
        return std::nullopt;
    int major = 0, minor = 0;
    if (std::sscanf(u.release, "%d.%d", &major, &minor) != 2)
        return std::nullopt;
    return major * 1000 + minor;
}
#endif

// Linux 6.13's MADV_GUARD_INSTALL (102), asked of a PROT_NONE page as guard() meets one.
std::optional<bool> guard_install() {
#if defined(__linux__)
    return kernel_knows_advice(102, PROT_NONE);
#else
    return std::nullopt;
#endif
}

// Linux 5.14's MADV_POPULATE_WRITE (23), asked of a read-write page.
std::optional<bool> populate_write() {
#if defined(__linux__)
    return kernel_knows_advice(23, PROT_READ | PROT_WRITE);
#else
    return std::nullopt;
#endif
}

// Linux 4.14's MADV_WIPEONFORK (18), what fork_policy::zero_on_fork needs.
std::optional<bool> wipe_on_fork() {
#if defined(__linux__)
    return kernel_knows_advice(18, PROT_READ | PROT_WRITE);
#else
    return std::nullopt;
#endif
}

// Linux 4.17's MAP_FIXED_NOREPLACE (0x100000) over a page of the test's own: EEXIST where the
// kernel knows it; an older one takes the address as a hint and maps elsewhere.
std::optional<bool> map_fixed_noreplace() {
#if defined(__linux__)
    const std::size_t size = vmem_probe::os_page_size();
    void* mine = mmap(nullptr, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mine == MAP_FAILED)
        return std::nullopt;
    void* p = mmap(mine, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | 0x100000, -1, 0);
    const int error = errno;
    std::optional<bool> known;
    if (p == MAP_FAILED) {
        if (error == EEXIST)
            known = true;
    } else {
        known = false;
        munmap(p, size);
    }
    munmap(mine, size);
    return known;
#else
    return std::nullopt;
#endif
}

// Linux 5.10's process_madvise: ENOSYS where the kernel lacks it.
std::optional<bool> process_madvise() {
#if defined(__linux__) && defined(SYS_process_madvise)
    return syscall(SYS_process_madvise, -1, nullptr, 0, 0, 0) == 0 || errno != ENOSYS;
#else
    return std::nullopt;
#endif
}

// Windows 10 1803's VirtualAlloc2 in kernelbase.dll.
std::optional<bool> virtual_alloc2() {
#if defined(_WIN32)
    const HMODULE kernelbase = GetModuleHandleW(L"kernelbase.dll");
    return kernelbase != nullptr && GetProcAddress(kernelbase, "VirtualAlloc2") != nullptr;
#else
    return std::nullopt;
#endif
}

// Linux: a kernel at least `version` (major * 1000 + minor) has the feature, so the report must
// say so. Elsewhere, and on older kernels (which may have it backported), nothing to say.
bool kernel_promises(int version) {
#if defined(__linux__)
    const auto running = kernel_version();
    return running && *running >= version;
#else
    (void)version;
    return false;
#endif
}

} // namespace os_says

std::string thp_name(vmem::thp_mode m) {
    switch (m) {
    case vmem::thp_mode::unavailable:
        return "unavailable";
    case vmem::thp_mode::never:
        return "never";
    case vmem::thp_mode::madvise:
        return "madvise";
    case vmem::thp_mode::always:
        return "always";
    }
    return "?";
}

boost::test_tools::assertion_result map_count_known(utf::test_unit_id) {
    boost::test_tools::assertion_result r(vmem::query_capabilities().map_count != 0);
    r.message() << "the process's mappings are not counted on " << vmem_probe::platform_name()
                << " (capabilities::map_count is 0)";
    return r;
}

std::size_t map_count() {
    return vmem::query_capabilities().map_count;
}

} // namespace

BOOST_AUTO_TEST_CASE(huge_page_sizes_are_the_os_sizes_ascending) {
    const vmem::capabilities c = vmem::query_capabilities();
    const auto sizes = os_says::huge_page_sizes();
    std::vector<std::size_t> expected = sizes.value_or(std::vector<std::size_t>{});
    if (expected.size() > 4)
        expected.resize(4);
    expected.resize(4, 0);
    for (std::size_t i = 0; i < 4; ++i)
        BOOST_TEST(c.huge_page_sizes[i] == expected[i], "huge_page_sizes[" << i << "]");
    for (std::size_t i = 1; i < 4; ++i)
        BOOST_TEST((c.huge_page_sizes[i] == 0 || c.huge_page_sizes[i] > c.huge_page_sizes[i - 1]));
    for (std::size_t size : c.huge_page_sizes)
        BOOST_TEST((size & (size - 1)) == 0u, size << " is not a power of two");
}

BOOST_AUTO_TEST_CASE(huge_page_size_is_the_os_default_huge_page_size) {
    const vmem::capabilities c = vmem::query_capabilities();
    BOOST_TEST(c.huge_page_size == os_says::huge_page_size().value_or(0));
    // The default is one of the sizes offered, where the OS lists them.
    if (c.huge_page_sizes[0] != 0)
        BOOST_TEST((std::find(std::begin(c.huge_page_sizes), std::end(c.huge_page_sizes),
                              c.huge_page_size) != std::end(c.huge_page_sizes)));
}

BOOST_AUTO_TEST_CASE(huge_pages_free_is_the_pool_free_count_now) {
    // HugePages_Free can change between the two readings only if someone resizes the pool.
    const auto before = os_says::meminfo("HugePages_Free");
    const std::size_t reported = vmem::query_capabilities().huge_pages_free;
    const auto after = os_says::meminfo("HugePages_Free");
    if (!before) {
        BOOST_TEST(reported == 0u); // no explicit pool here
        return;
    }
    BOOST_TEST((reported == *before || reported == after.value_or(*before)),
               "HugePages_Free " << *before << ", reported " << reported);
}

BOOST_AUTO_TEST_CASE(transparent_huge_pages_is_the_os_mode) {
    const auto mode = os_says::thp_mode();
    BOOST_TEST(thp_name(vmem::query_capabilities().transparent_huge_pages) ==
               mode.value_or("unavailable"));
}

BOOST_AUTO_TEST_CASE(large_page_privilege_is_what_the_token_holds) {
    BOOST_TEST(vmem::query_capabilities().large_page_privilege ==
               os_says::lock_memory_privilege().value_or(false));
}

BOOST_AUTO_TEST_CASE(huge_pages_usable_follows_the_pool_the_mode_and_the_privilege) {
    const vmem::capabilities c = vmem::query_capabilities();
    const bool thp_on = c.transparent_huge_pages == vmem::thp_mode::madvise ||
                        c.transparent_huge_pages == vmem::thp_mode::always;
    const bool expected = c.huge_pages_free > 0 || (thp_on && c.huge_page_size != 0) ||
                          (c.large_page_privilege && c.huge_page_size != 0);
    BOOST_TEST(c.huge_pages_usable == expected);
}

BOOST_AUTO_TEST_CASE(huge_pages_usable_says_whether_prefer_gets_huge_pages_now) {
    // Not from the fields it is derived from but from what a reserve gets: one huge page,
    // committed (Windows gives large pages only so), asking for huge pages if there are any.
    const vmem::capabilities c = vmem::query_capabilities();
    vmem::reserve_options o;
    o.huge = vmem::huge_pages::prefer;
    o.commit = true;
    vmem::reservation r(c.huge_page_size != 0 ? c.huge_page_size : vmem::allocation_granularity(),
                        o);
    const vmem::huge_page_report h = r.huge_page_status();
    BOOST_TEST_MESSAGE("huge pages usable " << c.huge_pages_usable << "; prefer got page size "
                                            << h.page_size << ", explicit pool "
                                            << h.explicit_pool);
    BOOST_TEST(c.huge_pages_usable == (h.page_size != 0));
}

BOOST_AUTO_TEST_CASE(max_map_count_is_the_os_limit) {
    BOOST_TEST(vmem::query_capabilities().max_map_count ==
               os_says::number("/proc/sys/vm/max_map_count").value_or(0));
}

BOOST_AUTO_TEST_CASE(map_count_is_the_process_mappings_now) {
    const auto before = os_says::mappings();
    const std::size_t reported = map_count();
    const auto after = os_says::mappings();
    if (!before) {
        BOOST_TEST(reported == 0u); // not known here
        return;
    }
    BOOST_TEST(reported >= std::min(*before, after.value_or(*before)));
    BOOST_TEST(reported <= std::max(*before, after.value_or(*before)));
}

// A region the test maps itself, straight through the OS, with free space on both sides (so
// the kernel cannot merge it with a neighbour): one mapping more, and one less after.
BOOST_AUTO_TEST_CASE(map_count_rises_by_one_for_a_separate_region_and_falls_back,
                     *utf::precondition(map_count_known)) {
    const std::size_t unit = granularity();
    for (int attempt = 0; attempt < 16; ++attempt) {
        void* span = vmem::reserve(3 * unit);
        vmem::release(span);
        const std::size_t before = map_count();
        void* p = vmem_probe::map_foreign(bytes(span) + unit, unit);
        if (p == nullptr)
            continue; // another thread took the span meanwhile
        const std::size_t mapped = map_count();
        vmem_probe::unmap_foreign(p, unit);
        const std::size_t unmapped = map_count();
        BOOST_TEST(mapped == before + 1);
        BOOST_TEST(unmapped == before);
        return;
    }
    BOOST_FAIL("could not find a free span to map into");
}

// The middle page of three given another access splits their mapping in three (two more), and
// giving it back the same access merges them again.
BOOST_AUTO_TEST_CASE(map_count_follows_a_split_and_its_merge, *utf::precondition(map_count_known)) {
    vmem::reservation r(3 * page());
    r.commit(r.base(), 3 * page(), vmem::access::read_write);
    void* middle = bytes(r) + page();
    // A first round, so that vmem's bookkeeping has every page it needs before the count.
    r.protect(middle, page(), vmem::access::read);
    r.protect(middle, page(), vmem::access::read_write);
    const std::size_t before = map_count();
    r.protect(middle, page(), vmem::access::read);
    const std::size_t split = map_count();
    r.protect(middle, page(), vmem::access::read_write);
    const std::size_t merged = map_count();
    BOOST_TEST(split == before + 2);
    BOOST_TEST(merged == before);
}

BOOST_AUTO_TEST_CASE(address_bits_bound_the_user_address_space,
                     *utf::precondition(unless_thread_sanitizer{
                         "its runtime keeps the top of the address space and ends a program "
                         "that maps there"})) {
    const unsigned bits = vmem::query_capabilities().address_bits;
    constexpr unsigned pointer_bits = sizeof(void*) * CHAR_BIT;
    BOOST_TEST_REQUIRE(bits > 20u);
    BOOST_TEST_REQUIRE(bits <= pointer_bits);
    if (const auto os_bits = os_says::address_bits())
        BOOST_TEST(bits == *os_bits);
    const std::size_t unit = granularity();
    // The space reaches past 2^(bits-1): the OS maps a region there for the test (one of a few
    // addresses, in case one is taken).
    bool mapped_in_top_half = false;
    for (std::uintptr_t i = 0; i < 16 && !mapped_in_top_half; ++i) {
        void* at = reinterpret_cast<void*>((std::uintptr_t{1} << (bits - 1)) + i * 16 * unit);
        if (void* p = vmem_probe::map_foreign(at, unit)) {
            vmem_probe::unmap_foreign(p, unit);
            mapped_in_top_half = true;
        }
    }
    BOOST_TEST(mapped_in_top_half, "nothing could be mapped above 2^" << bits - 1);
    // And not to 2^bits: the OS maps nothing there.
    if (bits < pointer_bits) {
        void* at = reinterpret_cast<void*>(std::uintptr_t{1} << bits);
        void* p = vmem_probe::map_foreign(at, unit);
        BOOST_TEST(p == nullptr, "a region was mapped at 2^" << bits);
        if (p != nullptr)
            vmem_probe::unmap_foreign(p, unit);
    }
}

BOOST_AUTO_TEST_CASE(decommit_zero_fills_and_returns_the_charge_everywhere) {
    const vmem::capabilities c = vmem::query_capabilities();
    BOOST_TEST(c.decommit_zero_fills);
    // The charge itself is measured by
    // decommit/decommit_returns_the_commit_charge_of_written_pages.
    BOOST_TEST(c.decommit_returns_charge);
    vmem::reservation r(page());
    r.commit(r.base(), page(), vmem::access::read_write);
    std::memset(r.base(), 0x5a, page());
    r.decommit(r.base(), page());
    r.commit(r.base(), page(), vmem::access::read_write);
    BOOST_TEST(all_equal(r.base(), page(), 0));
}

BOOST_AUTO_TEST_CASE(discard_zero_fills_where_the_capabilities_say) {
    const vmem::capabilities c = vmem::query_capabilities();
    // Linux's MADV_DONTNEED gives private anonymous pages back as zero pages; macOS's
    // MADV_FREE_REUSABLE and Windows' DiscardVirtualMemory / MEM_RESET may keep the contents.
    BOOST_TEST(c.discard_zero_fills == (vmem_probe::platform_name() == "linux"));
    vmem::reservation r(4 * page());
    r.commit(r.base(), 4 * page(), vmem::access::read_write);
    fill_pattern(r.base(), 4 * page(), 3);
    r.discard(r.base(), 4 * page());
    if (c.discard_zero_fills)
        BOOST_TEST(all_equal(r.base(), 4 * page(), 0));
}

BOOST_AUTO_TEST_CASE(guard_pages_free_agrees_with_a_direct_probe) {
    const bool reported = vmem::query_capabilities().guard_pages_free;
    if (const auto installs = os_says::guard_install()) {
        BOOST_TEST(reported == *installs);
    } else {
        // Windows decommits, which costs no mapping of its own; POSIX elsewhere remaps.
        BOOST_TEST(reported == (vmem_probe::platform_name() == "windows"));
    }
    if (os_says::kernel_promises(6013))
        BOOST_TEST(reported);
}

BOOST_AUTO_TEST_CASE(a_guard_page_costs_a_mapping_exactly_when_the_capabilities_say,
                     *utf::precondition(map_count_known)) {
    const bool free = vmem::query_capabilities().guard_pages_free;
    vmem::reservation r(3 * page());
    r.commit(r.base(), 3 * page(), vmem::access::read_write);
    void* middle = bytes(r) + page();
    // A first round, so that vmem's bookkeeping has every page it needs before the count.
    r.guard(middle, page());
    r.decommit(middle, page());
    r.commit(middle, page(), vmem::access::read_write);
    const std::size_t before = map_count();
    r.guard(middle, page());
    const std::size_t guarded = map_count();
    BOOST_TEST(guarded == before + (free ? 0 : 2),
               "guard_pages_free " << free << ": " << before << " mappings, then " << guarded);
}

BOOST_AUTO_TEST_CASE(query_sees_committed_none_as_the_capabilities_say) {
    const bool sees = vmem::query_capabilities().query_sees_committed_none;
    // VirtualQuery reports MEM_COMMIT with PAGE_NOACCESS; POSIX maps both PROT_NONE.
    BOOST_TEST(sees == (vmem_probe::platform_name() == "windows"));
    vmem::reservation r(page());
    r.commit(r.base(), page(), vmem::access::none);
    const vmem::region got = vmem::query(r.base());
    BOOST_TEST((got.state == (sees ? vmem::page_state::committed : vmem::page_state::reserved)));
}

BOOST_AUTO_TEST_CASE(fork_control_is_there_when_the_kernel_can_wipe_on_fork) {
    const bool reported = vmem::query_capabilities().fork_control;
    BOOST_TEST(reported == os_says::wipe_on_fork().value_or(false));
    if (os_says::kernel_promises(4014))
        BOOST_TEST(reported);
    vmem::reserve_options o;
    o.fork = vmem::fork_policy::zero_on_fork;
    std::error_code ec;
    vmem::reservation r(page(), o, ec);
    if (reported)
        BOOST_TEST(!ec, ec.message());
    else
        BOOST_TEST(ec == vmem::errc::not_supported, ec.message());
}

BOOST_AUTO_TEST_CASE(page_locking_is_there_and_locks) {
    BOOST_TEST(vmem::query_capabilities().page_locking);
    vmem::reservation r(page());
    r.commit(r.base(), page(), vmem::access::read_write);
    std::error_code ec;
    r.lock(r.base(), page(), ec);
    // One page fits every default RLIMIT_MEMLOCK and working-set quota.
    BOOST_TEST(!ec, ec.message());
    if (!ec)
        r.unlock(r.base(), page());
}

BOOST_AUTO_TEST_CASE(os_features_are_what_the_os_offers) {
    const vmem::capabilities c = vmem::query_capabilities();
    BOOST_TEST(c.map_fixed_noreplace == os_says::map_fixed_noreplace().value_or(false));
    BOOST_TEST(c.populate_write == os_says::populate_write().value_or(false));
    BOOST_TEST(c.process_madvise == os_says::process_madvise().value_or(false));
    BOOST_TEST(c.placeholders == os_says::virtual_alloc2().value_or(false));
    if (os_says::kernel_promises(4017))
        BOOST_TEST(c.map_fixed_noreplace);
    if (os_says::kernel_promises(5010))
        BOOST_TEST(c.process_madvise);
    if (os_says::kernel_promises(5014))
        BOOST_TEST(c.populate_write);
}

BOOST_AUTO_TEST_CASE(the_report_leaves_the_error_state_alone) {
    errno = EDOM;
#if defined(_WIN32)
    SetLastError(ERROR_INVALID_DATA);
#endif
    (void)vmem::query_capabilities();
    BOOST_TEST(errno == EDOM);
#if defined(_WIN32)
    BOOST_TEST(GetLastError() == static_cast<DWORD>(ERROR_INVALID_DATA));
#endif
}

BOOST_AUTO_TEST_SUITE_END()
