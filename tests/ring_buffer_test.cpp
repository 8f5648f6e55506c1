// vmem tests: the double mapping (the same pages twice, back to back) and the single-producer,
// single-consumer ring buffer on it.
#include "common.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#if defined(_WIN32)
#include <windows.h>
#else
#include <dirent.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#endif

using namespace vmem_test;

namespace {

// The descriptors (POSIX: the entries of /proc/self/fd) or handles (Windows:
// GetProcessHandleCount) the process holds now; 0 when that cannot be read. A leaked descriptor
// or handle changes it.
std::size_t open_handles() {
#if defined(_WIN32)
    // The first exception thrown makes the MinGW runtime open a handle for good: let that happen
    // before any count, so that the tests' own throws do not read as leaks.
    static const bool thrown_once = [] {
        try {
            throw std::system_error(vmem::errc::zero_size);
        } catch (const std::system_error&) {
        }
        return true;
    }();
    (void)thrown_once;
    DWORD count = 0;
    if (GetProcessHandleCount(GetCurrentProcess(), &count) && count != 0)
        return count;
    // Wine 8 does not count handles (it says 0). The value the next handle gets stands in: a
    // closed handle's entry is the first to be given again, so a leaked handle changes it.
    const HANDLE probe = CreateEventW(nullptr, FALSE, FALSE, nullptr);
    if (probe == nullptr)
        return 0;
    CloseHandle(probe);
    return static_cast<std::size_t>(reinterpret_cast<std::uintptr_t>(probe));
#else
    DIR* dir = opendir("/proc/self/fd");
    if (dir == nullptr)
        return 0;
    std::size_t count = 0;
    while (readdir(dir) != nullptr)
        ++count;
    closedir(dir);
    return count;
#endif
}

// The file-backed views mapped in the process now (Windows: VirtualQuery's MEM_MAPPED regions;
// Linux: the lines of /proc/self/maps naming a memfd of vmem's), so that a view left behind shows.
std::size_t mapped_views() {
    std::size_t views = 0;
#if defined(_WIN32)
    std::uintptr_t at = 0;
    MEMORY_BASIC_INFORMATION m{};
    while (VirtualQuery(reinterpret_cast<void*>(at), &m, sizeof m) != 0) {
        if (m.State != MEM_FREE && m.Type == MEM_MAPPED)
            ++views;
        const auto next = reinterpret_cast<std::uintptr_t>(m.BaseAddress) + m.RegionSize;
        if (next <= at)
            break;
        at = next;
    }
#else
    std::ifstream maps("/proc/self/maps");
    for (std::string line; std::getline(maps, line);)
        if (line.find("memfd:vmem-ring") != std::string::npos)
            ++views;
#endif
    return views;
}

// True when every byte written through one view reads back through the other, both ways.
bool views_alias(const vmem::double_mapping& m, unsigned seed) {
    unsigned char* const first = m.data();
    unsigned char* const second = m.data() + m.size();
    fill_pattern(first, m.size(), seed);
    if (!has_pattern(second, m.size(), seed))
        return false;
    fill_pattern(second, m.size(), seed + 1);
    return has_pattern(first, m.size(), seed + 1);
}

// Restores the placeholder path at the end of a test that turned it off.
struct placeholders_restored {
    ~placeholders_restored() { vmem::testing::use_placeholder_double_mapping(true); }
};

const std::size_t size_max = std::numeric_limits<std::size_t>::max();

} // namespace

BOOST_AUTO_TEST_SUITE(ring_buffer)

BOOST_AUTO_TEST_CASE(a_write_through_one_view_is_read_through_the_other) {
    vmem::double_mapping m(1);
    BOOST_TEST_REQUIRE(static_cast<bool>(m));
    BOOST_TEST(m.size() == granularity(), "rounded up to the allocation granularity");
    BOOST_TEST(reinterpret_cast<std::uintptr_t>(m.data()) % granularity() == 0);
    BOOST_TEST(all_equal(m.data(), 2 * m.size(), 0), "fresh memory reads zero");
    // The first and the last byte of each view, then every byte both ways.
    m.data()[0] = 0x5a;
    BOOST_TEST(m.data()[m.size()] == 0x5a);
    m.data()[2 * m.size() - 1] = 0xa5;
    BOOST_TEST(m.data()[m.size() - 1] == 0xa5);
    BOOST_TEST(views_alias(m, 3));

    vmem::double_mapping larger(granularity() + 1);
    BOOST_TEST(larger.size() == 2 * granularity());
    BOOST_TEST(views_alias(larger, 5));
}

BOOST_AUTO_TEST_CASE(a_double_mapping_is_not_a_vmem_reservation) {
    vmem::double_mapping m(granularity());
    fill_pattern(m.data(), m.size(), 7);
    std::error_code ec;
    vmem::release(m.data(), ec);
    BOOST_TEST(ec == vmem::errc::not_reserved);
    vmem::decommit(m.data(), page(), ec);
    BOOST_TEST(ec == vmem::errc::not_reserved);
    vmem::commit(m.data() + m.size(), page(), vmem::access::read, ec);
    BOOST_TEST(ec == vmem::errc::not_reserved);
    BOOST_TEST(has_pattern(m.data(), m.size(), 7), "a refused call changed the memory");
    BOOST_TEST(has_pattern(m.data() + m.size(), m.size(), 7));
}

BOOST_AUTO_TEST_CASE(a_wrapped_write_is_one_contiguous_span) {
    vmem::ring_buffer ring(1);
    const std::size_t capacity = ring.capacity();
    BOOST_TEST_REQUIRE(capacity == granularity());
    unsigned char* const base = ring.memory().data();
    // Move the head and tail to 10 bytes before the end.
    const std::size_t near_end = capacity - 10;
    BOOST_TEST(ring.write_span().size() == capacity);
    ring.commit(near_end);
    ring.consume(near_end);
    BOOST_TEST(ring.empty());

    // The free space wraps: it is still one span, from the head to the head plus the capacity.
    const auto w = ring.write_span();
    BOOST_TEST(w.data() == base + near_end);
    BOOST_TEST(w.size() == capacity);
    const std::size_t record = 100;
    fill_pattern(w.data(), record, 9);
    ring.commit(record);

    const auto r = ring.read_span();
    BOOST_TEST(r.data() == base + near_end);
    BOOST_TEST(r.size() == record);
    BOOST_TEST(has_pattern(r.data(), r.size(), 9), "the wrapped record reads back whole");
    // Its last 90 bytes are at the start of the buffer.
    std::vector<unsigned char> expected(record);
    fill_pattern(expected.data(), record, 9);
    BOOST_TEST(std::memcmp(base, expected.data() + 10, record - 10) == 0);
    ring.consume(record);
    BOOST_TEST(ring.empty());
    BOOST_TEST(ring.read_span().data() == base + (near_end + record) % capacity,
               "the tail did not wrap back into the first view");
}

BOOST_AUTO_TEST_CASE(spans_are_limited_by_what_the_other_side_left) {
    vmem::ring_buffer ring(granularity());
    const std::size_t capacity = ring.capacity();
    BOOST_TEST(ring.size() == 0);
    BOOST_TEST(ring.read_span().empty());
    ring.commit(100);
    BOOST_TEST(ring.size() == 100);
    BOOST_TEST(ring.write_span().size() == capacity - 100, "write_span overlaps unread bytes");
    BOOST_TEST(ring.read_span().size() == 100);
    ring.consume(30);
    BOOST_TEST(ring.size() == 70);
    BOOST_TEST(ring.read_span().data() == ring.memory().data() + 30);
    BOOST_TEST(ring.read_span().size() == 70);
    BOOST_TEST(ring.write_span().size() == capacity - 70);
    ring.commit(capacity - 70); // exactly full
    BOOST_TEST(ring.size() == capacity);
    BOOST_TEST(ring.write_span().empty());
    BOOST_TEST(ring.read_span().size() == capacity);
    ring.consume(capacity);
    BOOST_TEST(ring.empty());
    BOOST_TEST(ring.write_span().size() == capacity);
}

BOOST_AUTO_TEST_CASE(commit_or_consume_beyond_the_span_is_refused_and_changes_nothing) {
    vmem::ring_buffer ring(granularity());
    const std::size_t capacity = ring.capacity();
    std::error_code ec;
    ring.commit(capacity + 1, ec);
    BOOST_TEST(ec == vmem::errc::outside_reservation);
    BOOST_TEST(ring.size() == 0);
    ring.commit(size_max, ec);
    BOOST_TEST(ec == vmem::errc::outside_reservation);
    BOOST_TEST(ring.size() == 0);
    ring.commit(0, ec);
    BOOST_TEST(!ec);
    ring.commit(40, ec);
    BOOST_TEST(!ec);
    ring.commit(capacity - 39, ec);
    BOOST_TEST(ec == vmem::errc::outside_reservation);
    BOOST_TEST(ring.size() == 40);
    ring.consume(41, ec);
    BOOST_TEST(ec == vmem::errc::outside_reservation);
    BOOST_TEST(ring.size() == 40);
    BOOST_TEST(ring.read_span().data() == ring.memory().data());
    ring.consume(0, ec);
    BOOST_TEST(!ec);
    BOOST_CHECK_THROW(ring.consume(size_max), std::system_error);
    BOOST_CHECK_THROW(ring.commit(capacity), std::system_error);
    BOOST_TEST(ring.size() == 40);
    ring.consume(40, ec);
    BOOST_TEST(!ec);
    BOOST_TEST(ring.empty());
}

BOOST_AUTO_TEST_CASE(an_empty_ring_holds_nothing_and_refuses_bytes) {
    vmem::ring_buffer ring;
    BOOST_TEST(ring.capacity() == 0);
    BOOST_TEST(ring.write_span().empty());
    BOOST_TEST(ring.read_span().empty());
    std::error_code ec;
    ring.commit(1, ec);
    BOOST_TEST(ec == vmem::errc::outside_reservation);
    ring.commit(0, ec);
    BOOST_TEST(!ec);

    vmem::ring_buffer full(granularity());
    full.commit(10);
    vmem::ring_buffer moved(std::move(full));
    BOOST_TEST(full.capacity() == 0);
    BOOST_TEST(full.size() == 0);
    BOOST_TEST(moved.size() == 10);
    ring = std::move(moved);
    BOOST_TEST(ring.size() == 10);
    BOOST_TEST(moved.capacity() == 0);
    BOOST_TEST(moved.size() == 0);
    // Moved from, either way: nothing to publish or to consume, as an empty ring.
    for (vmem::ring_buffer* from : {&full, &moved}) {
        from->commit(1, ec);
        BOOST_TEST(ec == vmem::errc::outside_reservation);
        from->consume(1, ec);
        BOOST_TEST(ec == vmem::errc::outside_reservation);
    }
}

// commit and consume check against the other side's counter as their side last loaded it. A
// commit with no write_span before it (a consume with no read_span) must load it again when that
// copy says no, so as to see the space freed (the bytes published) since; and a move must carry
// the copies, or a ring past its first lap would take more than its free space, or give back
// more than was published.
BOOST_AUTO_TEST_CASE(commit_and_consume_see_what_the_other_side_did_since_they_last_looked) {
    vmem::ring_buffer ring(granularity());
    const std::size_t capacity = ring.capacity();
    std::error_code ec;
    ring.commit(capacity, ec); // full, with no write_span
    BOOST_TEST(!ec);
    ring.consume(capacity, ec); // all of it, with no read_span
    BOOST_TEST(!ec);
    ring.commit(1, ec); // the space the consumer freed since the producer last looked
    BOOST_TEST(!ec);
    ring.commit(capacity - 1, ec);
    BOOST_TEST(!ec);
    BOOST_TEST(ring.size() == capacity); // full again, one lap on

    // Each side's copy goes with the ring: the full ring refuses one more byte, and the consumer
    // cannot free more than the capacity published.
    vmem::ring_buffer moved(std::move(ring));
    moved.commit(1, ec);
    BOOST_TEST(ec == vmem::errc::outside_reservation);
    moved.consume(capacity + 1, ec);
    BOOST_TEST(ec == vmem::errc::outside_reservation);
    BOOST_TEST(moved.size() == capacity);
    moved.consume(capacity, ec);
    BOOST_TEST(!ec);
    moved.commit(capacity, ec); // full, two laps on
    BOOST_TEST(!ec);

    vmem::ring_buffer assigned(granularity());
    assigned = std::move(moved);
    assigned.commit(1, ec);
    BOOST_TEST(ec == vmem::errc::outside_reservation);
    assigned.consume(capacity + 1, ec);
    BOOST_TEST(ec == vmem::errc::outside_reservation);
    BOOST_TEST(assigned.size() == capacity);
    assigned.consume(capacity, ec);
    BOOST_TEST(!ec);
    BOOST_TEST(assigned.empty());
}

BOOST_AUTO_TEST_CASE(release_frees_both_views_and_the_object) {
    const std::size_t handles = open_handles();
    BOOST_TEST_REQUIRE(handles != 0);
    unsigned char* base = nullptr;
    std::size_t size = 0;
    {
        vmem::double_mapping m(4 * granularity());
        base = m.data();
        size = m.size();
        fill_pattern(base, size, 11);
        BOOST_TEST(open_handles() == handles, "the descriptor or handle of the memory is open");
        BOOST_TEST(!vmem_probe::is_unmapped(base, 2 * size));
    } // the destructor
    BOOST_TEST(vmem_probe::is_unmapped(base, 2 * size), "a view is still mapped");
    BOOST_TEST(open_handles() == handles);

    vmem::double_mapping m(size);
    base = m.data();
    vmem::double_mapping other(std::move(m));
    BOOST_TEST(!m);
    BOOST_TEST(other.data() == base);
    std::error_code ec;
    m.release(ec);
    BOOST_TEST(ec == vmem::errc::empty_reservation);
    BOOST_CHECK_THROW(m.release(), std::system_error);
    other.release(ec);
    BOOST_TEST(!ec);
    BOOST_TEST(!other);
    BOOST_TEST(other.size() == 0);
    BOOST_TEST(vmem_probe::is_unmapped(base, 2 * size), "release left a view mapped");
    BOOST_TEST(open_handles() == handles);

    // Move assignment releases what was held.
    vmem::double_mapping a(size);
    vmem::double_mapping b(size);
    unsigned char* const held = a.data();
    a = std::move(b);
    BOOST_TEST(vmem_probe::is_unmapped(held, 2 * size));
    BOOST_TEST(views_alias(a, 13));
}

BOOST_AUTO_TEST_CASE(construction_errors_are_clear_and_leave_nothing) {
    const std::size_t handles = open_handles();
    std::error_code ec;
    vmem::double_mapping zero(0, ec);
    BOOST_TEST(ec == vmem::errc::zero_size);
    BOOST_TEST(!zero);
    vmem::double_mapping wraps(size_max - granularity() / 2, ec); // rounding up wraps
    BOOST_TEST(ec == vmem::errc::size_overflow);
    BOOST_TEST(!wraps);
    // The least size whose rounding up wraps (to 0): still size_overflow, not a mapping of 0.
    vmem::double_mapping least_wrapping(size_max - (granularity() - 2), ec);
    BOOST_TEST(ec == vmem::errc::size_overflow);
    BOOST_TEST(!least_wrapping);
    vmem::double_mapping too_large(size_max / 2 + 1, ec); // twice it wraps
    BOOST_TEST(ec == vmem::errc::size_overflow);
    // Twice the size beyond the user address space.
    const unsigned bits = vmem::query_capabilities().address_bits;
    if (bits < sizeof(std::size_t) * 8) {
        vmem::double_mapping beyond(std::size_t{1} << (bits - 1), ec);
        BOOST_TEST(ec == vmem::errc::size_overflow);
    }
    BOOST_CHECK_THROW(vmem::double_mapping(0), std::system_error);
    BOOST_CHECK_THROW(vmem::ring_buffer{size_max}, std::system_error);
    vmem::ring_buffer ring(0, ec);
    BOOST_TEST(ec == vmem::errc::zero_size);
    BOOST_TEST(ring.capacity() == 0);
    BOOST_TEST(open_handles() == handles);
}

#if !defined(_WIN32)
namespace {

// In a child: with too little address space for the two views (RLIMIT_AS), the mapping fails
// after the memory object was made; with no descriptor to spare (RLIMIT_NOFILE), it fails
// making the object. Each failure is clear and leaves no descriptor open.
std::string failures_in_the_middle(void*) {
    std::string problems;
    const std::size_t handles = open_handles();
    const std::size_t size = std::size_t{1} << 30;
    const auto in_use = vmem_probe::address_space_in_use();
    if (!in_use)
        return "cannot read the address space in use";
    rlimit as{};
    as.rlim_cur = as.rlim_max = *in_use + size; // room for one view, not for both
    if (setrlimit(RLIMIT_AS, &as) != 0)
        return "setrlimit(RLIMIT_AS) failed";
    std::error_code ec;
    vmem::double_mapping m(size, ec);
    if (ec != std::errc::not_enough_memory)
        problems += "under RLIMIT_AS: " + ec.message() + "; ";
    if (open_handles() != handles)
        problems += "a descriptor leaked after the reservation failed; ";

    rlimit files{};
    files.rlim_cur = files.rlim_max = 0; // no new descriptor at all
    if (setrlimit(RLIMIT_NOFILE, &files) != 0)
        return problems + "setrlimit(RLIMIT_NOFILE) failed";
    vmem::double_mapping n(page(), ec);
    if (ec != std::errc::too_many_files_open)
        problems += "under RLIMIT_NOFILE: " + ec.message() + "; ";
    return problems;
}

// In a child: under a file size limit (RLIMIT_FSIZE) smaller than the ring, sizing the memory
// object would exceed it, for which the kernel sends SIGXFSZ, whose default action ends the
// process. The mapping must fail with a clear error instead, leave no descriptor open, and the
// process must live on; a size within the limit still works.
std::string a_file_size_limit(void*) {
    std::string problems;
    const std::size_t handles = open_handles();
    const std::size_t size = 4 * granularity();
    rlimit fsize{};
    fsize.rlim_cur = fsize.rlim_max = static_cast<rlim_t>(size - 1);
    if (setrlimit(RLIMIT_FSIZE, &fsize) != 0)
        return "setrlimit(RLIMIT_FSIZE) failed";
    std::error_code ec;
    vmem::double_mapping m(size, ec); // without the check, SIGXFSZ ends the child here
    if (ec != std::errc::file_too_large)
        problems += "beyond RLIMIT_FSIZE: " + (ec ? ec.message() : std::string("no error")) + "; ";
    if (m)
        problems += "a mapping was made beyond the limit; ";
    if (open_handles() != handles)
        problems += "a descriptor leaked; ";
    vmem::double_mapping within(size / 2, ec);
    if (ec || !within)
        problems += "within RLIMIT_FSIZE: " + ec.message() + "; ";
    return problems;
}

// The locked memory of the process (VmLck in /proc/self/status), in bytes; 0 when unreadable.
std::size_t locked_now() {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmLck:", 0) == 0)
            return std::stoul(line.substr(6)) * 1024;
    return 0;
}

// In a child: with every new mapping locked (mlockall(MCL_FUTURE)) and RLIMIT_MEMLOCK room for
// the reservation of both halves but not for a view on top of it (the kernel counts a MAP_FIXED
// view against the limit before it replaces the reservation under it), the first view is refused
// after the memory object and the reservation were made. The error is the OS's, and nothing is
// left behind: no descriptor, no view, no reservation. Root's CAP_IPC_LOCK ignores the limit, so
// the child gives it up first.
std::string a_view_refused_after_the_reservation(void*) {
    const std::size_t size = 4 * granularity();
    const std::size_t handles = open_handles();
    const std::size_t views = mapped_views();
    const auto in_use = vmem_probe::address_space_in_use();
    if (!in_use)
        return "cannot read the address space in use";
    const std::size_t locked = locked_now();
    const rlimit limit{static_cast<rlim_t>(locked + 2 * size + size / 2),
                       static_cast<rlim_t>(locked + 2 * size + size / 2)};
    if (setrlimit(RLIMIT_MEMLOCK, &limit) != 0)
        return "could not set RLIMIT_MEMLOCK";
    if (geteuid() == 0 && setuid(65534) != 0)
        return "could not drop root's privilege";
    if (mlockall(MCL_FUTURE) != 0)
        return "mlockall(MCL_FUTURE) failed";
    std::error_code ec;
    bool made = false;
    {
        vmem::double_mapping m(size, ec); // nothing else maps until munlockall
        made = static_cast<bool>(m);
    }
    munlockall();
    std::string problems;
    if (made || ec != std::errc::resource_unavailable_try_again)
        problems += "under RLIMIT_MEMLOCK: " + (ec ? ec.message() : std::string("made")) + "; ";
    if (open_handles() != handles)
        problems += "the descriptor leaked; ";
    if (mapped_views() != views)
        problems += "a view stayed mapped; ";
    const auto after = vmem_probe::address_space_in_use();
    if (!after || *after > *in_use + size) // the heap may have grown a little, not by a view
        problems += "the reservation stayed mapped; ";
    return problems;
}

} // namespace
#endif

// Windows has no process limits that make the views fail after the section was made (a 64-bit
// process cannot run out of address space before the commit limit refuses the section itself);
// the_path_without_placeholders_under_contention_succeeds_or_fails_cleanly covers the views
// failing there. can_fork skips this, saying so, where there is no fork.
BOOST_AUTO_TEST_CASE(a_failure_in_the_middle_leaves_no_descriptor, *utf::precondition(can_fork)) {
#if !defined(_WIN32)
    const auto problems = vmem_probe::run_in_child(failures_in_the_middle, nullptr);
    BOOST_TEST_REQUIRE(problems.has_value());
    BOOST_TEST(problems->empty(), *problems);
#endif
}

BOOST_AUTO_TEST_CASE(a_view_refused_after_the_reservation_leaves_nothing,
                     *utf::precondition(can_fork) *
                         utf::precondition(unless_sanitizer{
                             "its mlock and mlockall do nothing, so no limit refuses a view"})) {
#if !defined(_WIN32)
    const auto problems = vmem_probe::run_in_child(a_view_refused_after_the_reservation, nullptr);
    BOOST_TEST_REQUIRE(problems.has_value());
    BOOST_TEST(problems->empty(), *problems);
#endif
}

BOOST_AUTO_TEST_CASE(a_file_size_limit_is_a_clear_error_not_a_signal,
                     *utf::precondition(can_fork)) {
#if !defined(_WIN32)
    const auto problems = vmem_probe::run_in_child(a_file_size_limit, nullptr);
    BOOST_TEST_REQUIRE(problems.has_value());
    BOOST_TEST(problems->empty(), *problems);
#endif
}

BOOST_AUTO_TEST_CASE(capabilities_name_the_method_used) {
    const vmem::capabilities c = vmem::query_capabilities();
#if defined(_WIN32)
    // Wine 8 refuses MEM_RESERVE_PLACEHOLDER; Windows 10 1803+ has them with VirtualAlloc2.
    const auto expected = c.placeholders && !under_wine()
                              ? vmem::double_mapping_method::placeholders
                              : vmem::double_mapping_method::file_mapping_retry;
#elif defined(__linux__)
    const auto expected = vmem::double_mapping_method::memfd;
#else
    const auto expected = c.double_mapping;
#endif
    BOOST_TEST((c.double_mapping == expected));
    placeholders_restored restore;
    vmem::testing::use_placeholder_double_mapping(false);
    const vmem::capabilities without = vmem::query_capabilities();
#if defined(_WIN32)
    BOOST_TEST((without.double_mapping == vmem::double_mapping_method::file_mapping_retry));
#else
    BOOST_TEST((without.double_mapping == c.double_mapping), "POSIX has one path");
#endif
}

BOOST_AUTO_TEST_CASE(the_path_without_placeholders_maps_twice_and_leaves_nothing) {
    placeholders_restored restore;
    vmem::testing::use_placeholder_double_mapping(false);
    const std::size_t handles = open_handles();
    unsigned char* base = nullptr;
    std::size_t size = 0;
    {
        vmem::double_mapping m(3 * granularity());
        base = m.data();
        size = m.size();
        BOOST_TEST(views_alias(m, 17));
        BOOST_TEST(open_handles() == handles);
    }
    BOOST_TEST(vmem_probe::is_unmapped(base, 2 * size));
    BOOST_TEST(open_handles() == handles);
}

BOOST_AUTO_TEST_CASE(the_path_without_placeholders_under_contention_succeeds_or_fails_cleanly) {
    placeholders_restored restore;
    vmem::testing::use_placeholder_double_mapping(false);
    const std::size_t handles = open_handles();
    const std::size_t size = granularity();
    const std::size_t retries_before = vmem::testing::double_mapping_retries();
    // Another thread takes and frees address space of the same size as fast as it can, so it
    // often takes the address the retry path just found free. It pauses (`quiet`) while a
    // mapping is released and checked, so that its own reservations are not mistaken for leaks.
    std::atomic<bool> stop{false};
    std::mutex quiet;
    std::thread rival([&] {
        while (!stop.load(std::memory_order_relaxed)) {
            std::lock_guard<std::mutex> hold(quiet);
            std::error_code ignored;
            vmem::reservation r(2 * size, {}, ignored);
        }
    });
    // Counted while the rival holds nothing.
    std::unique_lock<std::mutex> pause(quiet);
    const std::size_t views_before = mapped_views();
    pause.unlock();
    std::size_t made = 0, refused = 0;
    bool all_alias = true, all_freed = true, errors_clear = true;
    for (int i = 0; i < 300; ++i) {
        std::error_code ec;
        vmem::double_mapping m(size, ec);
        if (ec) {
            ++refused;
            errors_clear = errors_clear && ec == vmem::errc::address_unavailable;
            continue;
        }
        ++made;
        all_alias = all_alias && views_alias(m, static_cast<unsigned>(i));
        std::lock_guard<std::mutex> hold(quiet);
        unsigned char* const base = m.data();
        m.release();
        all_freed = all_freed && vmem_probe::is_unmapped(base, 2 * size);
    }
    pause.lock();
    const std::size_t views_after = mapped_views();
    pause.unlock();
    stop.store(true);
    rival.join();
    BOOST_TEST_MESSAGE("double mappings made "
                       << made << ", refused " << refused << ", addresses found taken and retried "
                       << vmem::testing::double_mapping_retries() - retries_before);
    BOOST_TEST(made > 0);
    BOOST_TEST(all_alias);
    BOOST_TEST(all_freed);
    BOOST_TEST(errors_clear, "a refusal other than address_unavailable");
    BOOST_TEST(open_handles() == handles, "a failed attempt leaked its handle");
    BOOST_TEST(views_after == views_before, "a failed attempt left a view mapped");
}

BOOST_AUTO_TEST_CASE(a_producer_and_a_consumer_move_a_gibibyte) {
    // A small ring: 16 pages, rounded up to the granularity.
    vmem::ring_buffer ring(16 * page());
    const std::size_t capacity = ring.capacity();
    // 1 GiB everywhere: about 3 s natively here, and under ThreadSanitizer about 16 s.
    const std::uint64_t total = std::uint64_t{1} << 30;
    // Records of a 4-byte length and a payload of 1 byte to a quarter of the ring, in sizes from
    // a generator; the payload is pseudo-random bytes. Each is written and read as one span,
    // wrapping or not. Both sides hash every payload byte.
    constexpr std::size_t header = 4;
    const std::size_t longest = capacity / 4;
    const auto hash = [](std::uint64_t h, const unsigned char* p, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i)
            h = (h ^ p[i]) * 0x100000001b3u;
        return h;
    };
    std::uint64_t sent_hash = 0xcbf29ce484222325u;
    std::uint64_t received_hash = 0xcbf29ce484222325u;
    std::uint64_t sent = 0, received = 0, wrapped_records = 0;
    const auto start = std::chrono::steady_clock::now();

    std::thread producer([&] {
        std::uint64_t state = 0x9e3779b97f4a7c15u;
        const auto next = [&state] {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            return state;
        };
        while (sent < total) {
            const std::size_t length = 1 + static_cast<std::size_t>(next() % longest);
            auto span = ring.write_span();
            while (span.size() < header + length) {
                std::this_thread::yield();
                span = ring.write_span();
            }
            const auto length32 = static_cast<std::uint32_t>(length);
            std::memcpy(span.data(), &length32, header);
            unsigned char* const payload = span.data() + header;
            for (std::size_t i = 0; i < length; i += 8) {
                const std::uint64_t word = next();
                std::memcpy(payload + i, &word, std::min<std::size_t>(8, length - i));
            }
            sent_hash = hash(sent_hash, payload, length);
            ring.commit(header + length);
            sent += length;
        }
        // An empty record says the stream is over.
        auto span = ring.write_span();
        while (span.size() < header) {
            std::this_thread::yield();
            span = ring.write_span();
        }
        const std::uint32_t end = 0;
        std::memcpy(span.data(), &end, header);
        ring.commit(header);
    });
    bool order_kept = true;
    for (;;) {
        auto span = ring.read_span();
        while (span.size() < header) {
            std::this_thread::yield();
            span = ring.read_span();
        }
        std::uint32_t length = 0;
        std::memcpy(&length, span.data(), header);
        if (length == 0) {
            ring.consume(header);
            break;
        }
        if (length > longest) {
            order_kept = false; // a corrupted header: stop rather than read nonsense
            break;
        }
        while (span.size() < header + length) {
            std::this_thread::yield();
            span = ring.read_span();
        }
        const unsigned char* const payload = span.data() + header;
        const std::size_t offset = static_cast<std::size_t>(payload - ring.memory().data());
        if (offset < capacity && offset + length > capacity)
            ++wrapped_records;
        received_hash = hash(received_hash, payload, length);
        received += length;
        ring.consume(header + length);
    }
    producer.join();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    BOOST_TEST_MESSAGE("moved " << (received >> 20) << " MiB through a ring of " << capacity
                                << " bytes in " << seconds << " s (" << wrapped_records
                                << " records read across the wrap)");
    BOOST_TEST(order_kept);
    BOOST_TEST(received == sent);
    BOOST_TEST(received >= total);
    BOOST_TEST(sent_hash == received_hash, "the bytes read are not the bytes written");
    BOOST_TEST(wrapped_records > 0);
    BOOST_TEST(ring.empty());
}

BOOST_AUTO_TEST_SUITE_END()
