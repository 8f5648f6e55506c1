// vmem Windows backend: discard, guard, lock, prefault, the instruction cache. Every argument
// arrives checked and page-aligned.
#include "../platform.hpp"
#include "call.hpp"

#include <vmem/error.hpp>

#include <windows.h>

#include <atomic>
#include <cstdint>

namespace vmem::detail::os {

namespace {

// DiscardVirtualMemory (Windows 8.1+), looked up once at run time: 0 not yet, 1 absent, or the
// function's address. An atomic rather than a guarded static, which MinGW would allocate for.
using discard_function = DWORD(WINAPI*)(PVOID, SIZE_T);
std::atomic<std::uintptr_t> discard_virtual_memory{0};

discard_function find_discard() noexcept {
    std::uintptr_t f = discard_virtual_memory.load(std::memory_order_acquire);
    if (f == 0) {
        FARPROC found = nullptr;
        if (HMODULE kernel = GetModuleHandleW(L"kernelbase.dll"))
            found = GetProcAddress(kernel, "DiscardVirtualMemory");
        if (found == nullptr)
            if (HMODULE kernel = GetModuleHandleW(L"kernel32.dll"))
                found = GetProcAddress(kernel, "DiscardVirtualMemory");
        f = found != nullptr ? reinterpret_cast<std::uintptr_t>(found) : 1;
        discard_virtual_memory.store(f, std::memory_order_release);
    }
    return f == 1 ? nullptr : reinterpret_cast<discard_function>(f);
}

} // namespace

namespace {

bool discard_unlocked(void* addr, std::size_t size, std::error_code& ec) noexcept;

} // namespace

bool discard(void* addr, std::size_t size, std::error_code& ec) noexcept {
    // Discard unlocks what it covers, as on Linux: locked pages stay in the working set.
    // VirtualUnlock fails with ERROR_NOT_LOCKED where nothing was locked; then nothing changes.
    const bool was_locked = VirtualUnlock(addr, size) != 0;
    if (discard_unlocked(addr, size, ec))
        return true;
    if (was_locked) { // refused: as before
        const DWORD saved = GetLastError();
        VirtualLock(addr, size);
        SetLastError(saved);
    }
    return false;
}

namespace {

bool discard_unlocked(void* addr, std::size_t size, std::error_code& ec) noexcept {
    // DiscardVirtualMemory lets the pages go at once (their contents become undefined); MEM_RESET
    // marks them as not worth writing to the page file, taken when memory is short. Both keep the
    // pages committed, with their protection and their charge.
    if (discard_function f = find_discard()) {
        std::error_code injected; // the seam's after_part mode: the first part, then refused
        const std::size_t part = injected_partial(testing::os_call::discard, size, injected);
        DWORD e = f(addr, part != 0 ? part : size);
        if (e == ERROR_SUCCESS && part != 0)
            e = static_cast<DWORD>(injected.value());
        if (e == ERROR_SUCCESS)
            return true;
        if (e != ERROR_NOT_SUPPORTED && e != ERROR_INVALID_FUNCTION) {
            ec.assign(static_cast<int>(e), win32_category());
            return false;
        }
    }
    // MEM_RESET takes (and ignores) a protection, and fails on PAGE_NOACCESS pages under some
    // versions: vmem passes what Windows documents.
    return seam_call(testing::os_call::discard, addr, size,
                     [](void* p, std::size_t n) {
                         return VirtualAlloc(p, n, MEM_RESET, PAGE_NOACCESS) != nullptr;
                     }) ||
           fail(ec);
}

} // namespace

bool guard(void* addr, std::size_t size, const mapping_traits&, std::error_code& ec) noexcept {
    // Decommitted pages fault on any access for as long as they stay decommitted, and cost no
    // mapping of their own (never PAGE_GUARD, which fires once and then lets the access through).
    return seam_call(testing::os_call::guard, addr, size,
                     [](void* p, std::size_t n) { return VirtualFree(p, n, MEM_DECOMMIT) != 0; }) ||
           fail(ec);
}

bool lock(void* addr, std::size_t size, std::error_code& ec) noexcept {
    // ERROR_WORKING_SET_QUOTA past the quota
    if (seam_call(testing::os_call::lock, addr, size,
                  [](void* p, std::size_t n) { return VirtualLock(p, n) != 0; }))
        return true;
    // Refused, maybe after part of the range was locked: unlocked again. (Which pages were locked
    // before is not known here, so they come out unlocked too.)
    const DWORD error = GetLastError();
    VirtualUnlock(addr, size);
    SetLastError(error);
    return fail(ec);
}

bool unlock(void* addr, std::size_t size, std::error_code& ec) noexcept {
    // Pages that were not locked are refused with ERROR_NOT_LOCKED; munlock accepts them, and so
    // does vmem on every platform: unlocked is what was asked.
    return seam_call(testing::os_call::unlock, addr, size,
                     [](void* p, std::size_t n) { return VirtualUnlock(p, n) != 0; }) ||
           GetLastError() == ERROR_NOT_LOCKED || fail(ec);
}

bool prefault(void* addr, std::size_t size, access a, std::error_code&) noexcept {
    // Fresh committed pages are demand-zero: PrefetchVirtualMemory brings in pages that have
    // backing (a file, the page file) and does not materialise these, so each page is touched:
    // read where the access allows no writing, else a compare-exchange of a word with itself (no
    // byte changes, no store of another thread is lost).
    if (a == access::none)
        return true;
    const bool writable = a == access::read_write || a == access::read_write_execute;
    const std::size_t page = page_size();
    auto* p = static_cast<unsigned char*>(addr);
    for (std::size_t at = 0; at < size; at += page) {
        if (writable) { // a page's first four bytes, aligned: every compiler has this one
            // Exchanged with themselves: compilers turn an interlocked add of zero into a plain
            // load (an idempotent read-modify-write), which would not populate the page.
            volatile LONG* word = reinterpret_cast<volatile LONG*>(p + at);
            const LONG seen = *word;
            InterlockedCompareExchange(word, seen, seen);
        } else
            (void)*static_cast<volatile unsigned char*>(p + at);
    }
    return true;
}

void flush_instruction_cache(const void* addr, std::size_t size) noexcept {
    FlushInstructionCache(GetCurrentProcess(), addr, size);
}

void classify_out_of_memory(std::error_code&, std::size_t) noexcept {
    // Windows has no mapping limit, and a job object's limit reports itself
    // (ERROR_NOT_ENOUGH_QUOTA): nothing to tell apart.
}

} // namespace vmem::detail::os
