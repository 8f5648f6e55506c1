// vmem Windows backend: the double mapping of ring buffers (CreateFileMapping, placeholders or
// MapViewOfFileEx). Shared logic does not belong here (see src/platform.hpp).
//
// No heap and no function-local statics with initialisers (under MinGW their thread-safe
// initialisation goes through winpthreads, which allocates): what is looked up once is kept in
// atomics, as src/win32/virtual_alloc2.cpp does.
#include "../platform.hpp"
#include "call.hpp"

#include <vmem/error.hpp>

#include <windows.h>

#include <atomic>
#include <cstdint>

namespace vmem::detail::os {

namespace {

// winnt.h's values (Windows 10 1803+), under names of our own: mingw-w64 10 lacks some of them.
constexpr ULONG mem_reserve_placeholder = 0x00040000;  // MEM_RESERVE_PLACEHOLDER
constexpr ULONG mem_replace_placeholder = 0x00004000;  // MEM_REPLACE_PLACEHOLDER
constexpr ULONG mem_preserve_placeholder = 0x00000002; // MEM_PRESERVE_PLACEHOLDER

// VirtualAlloc2 and MapViewOfFile3, loaded from kernelbase.dll at run time (the extended
// parameters, unused here, are passed as null).
using virtual_alloc2_fn = void*(WINAPI*)(HANDLE, void*, SIZE_T, ULONG, ULONG, void*, ULONG);
using map_view_of_file3_fn = void*(WINAPI*)(HANDLE, HANDLE, void*, ULONG64, SIZE_T, ULONG, ULONG,
                                            void*, ULONG);

// How many times the retry path may find its address taken before it gives up.
constexpr int address_attempts = 16;

enum : int { unknown, no, yes };

std::atomic<virtual_alloc2_fn> virtual_alloc2{nullptr};
std::atomic<map_view_of_file3_fn> map_view_of_file3{nullptr};
std::atomic<int> loaded{unknown};
std::atomic<int> placeholders_work{unknown};
std::atomic<std::size_t> retries{0};

template <class F>
F find(HMODULE module, const char* name) noexcept {
    // The cast goes through a generic function pointer type, as GetProcAddress requires.
    return reinterpret_cast<F>(reinterpret_cast<void (*)()>(GetProcAddress(module, name)));
}

// True when both calls exist. Racing first calls find the same answer.
bool load() noexcept {
    int state = loaded.load(std::memory_order_acquire);
    if (state == unknown) {
        const HMODULE kernelbase = GetModuleHandleW(L"kernelbase.dll");
        virtual_alloc2_fn va2 = nullptr;
        map_view_of_file3_fn mv3 = nullptr;
        if (kernelbase != nullptr) {
            va2 = find<virtual_alloc2_fn>(kernelbase, "VirtualAlloc2");
            mv3 = find<map_view_of_file3_fn>(kernelbase, "MapViewOfFile3");
        }
        virtual_alloc2.store(va2, std::memory_order_relaxed);
        map_view_of_file3.store(mv3, std::memory_order_relaxed);
        state = va2 != nullptr && mv3 != nullptr ? yes : no;
        loaded.store(state, std::memory_order_release);
    }
    return state == yes;
}

// A section of `size` bytes backed by the page file, read-write; null with GetLastError set.
HANDLE create_section(std::size_t size) noexcept {
    const auto wide = static_cast<std::uint64_t>(size);
    return CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE,
                              static_cast<DWORD>(wide >> 32), static_cast<DWORD>(wide), nullptr);
}

// Placeholders: one placeholder of both halves, split in two, each replaced by a view. No other
// allocation can take either half meanwhile. Null with GetLastError set, nothing left behind.
unsigned char* map_into_placeholders(HANDLE section, std::size_t size) noexcept {
    const virtual_alloc2_fn va2 = virtual_alloc2.load(std::memory_order_relaxed);
    const map_view_of_file3_fn mv3 = map_view_of_file3.load(std::memory_order_relaxed);
    const HANDLE process = GetCurrentProcess();
    auto* const base = static_cast<unsigned char*>(va2(process, nullptr, 2 * size,
                                                       MEM_RESERVE | mem_reserve_placeholder,
                                                       PAGE_NOACCESS, nullptr, 0));
    if (base == nullptr)
        return nullptr;
    DWORD error = ERROR_SUCCESS;
    if (!VirtualFree(base, size, MEM_RELEASE | mem_preserve_placeholder)) { // split in two
        error = GetLastError();
        VirtualFree(base, 0, MEM_RELEASE); // the placeholder, whole
        SetLastError(error);
        return nullptr;
    }
    if (mv3(section, process, base, 0, size, mem_replace_placeholder, PAGE_READWRITE, nullptr, 0) ==
        nullptr) {
        error = GetLastError();
        VirtualFree(base, 0, MEM_RELEASE);
        VirtualFree(base + size, 0, MEM_RELEASE);
        SetLastError(error);
        return nullptr;
    }
    if (mv3(section, process, base + size, 0, size, mem_replace_placeholder, PAGE_READWRITE,
            nullptr, 0) == nullptr) {
        error = GetLastError();
        UnmapViewOfFile(base); // a view in a placeholder: unmapped, its range is free again
        VirtualFree(base + size, 0, MEM_RELEASE);
        SetLastError(error);
        return nullptr;
    }
    return base;
}

// Without placeholders: find a free range of both halves (reserve, free), then map a view at its
// start and one just after. Another thread may take the range between the free and the views;
// then the views fail with ERROR_INVALID_ADDRESS and this tries again, a bounded number of times.
// Null with `ec` set, nothing left behind.
unsigned char* map_at_a_free_address(HANDLE section, std::size_t size,
                                     std::error_code& ec) noexcept {
    for (int attempt = 0; attempt < address_attempts; ++attempt) {
        void* const probe = VirtualAlloc(nullptr, 2 * size, MEM_RESERVE, PAGE_NOACCESS);
        if (probe == nullptr) {
            fail(ec);
            return nullptr;
        }
        VirtualFree(probe, 0, MEM_RELEASE); // our own reservation: this cannot be refused
        auto* const base = static_cast<unsigned char*>(probe);
        void* const first = MapViewOfFileEx(section, FILE_MAP_WRITE, 0, 0, size, base);
        if (first == nullptr) {
            if (GetLastError() != ERROR_INVALID_ADDRESS) {
                fail(ec);
                return nullptr;
            }
            retries.fetch_add(1, std::memory_order_relaxed);
            continue; // taken: try again
        }
        if (MapViewOfFileEx(section, FILE_MAP_WRITE, 0, 0, size, base + size) == nullptr) {
            const DWORD error = GetLastError();
            UnmapViewOfFile(first);
            SetLastError(error);
            if (error != ERROR_INVALID_ADDRESS) {
                fail(ec);
                return nullptr;
            }
            retries.fetch_add(1, std::memory_order_relaxed);
            continue;
        }
        return base;
    }
    ec = errc::address_unavailable;
    return nullptr;
}

// Whether placeholders work here: the calls exist and a double mapping of one granularity made
// with them succeeds (Wine 8 has both calls but refuses MEM_RESERVE_PLACEHOLDER with 87). Asked
// once; the error state is left as it was.
bool placeholders_usable() noexcept {
    int state = placeholders_work.load(std::memory_order_acquire);
    if (state == unknown) {
        const DWORD saved_error = GetLastError();
        bool works = false;
        if (load()) {
            const std::size_t size = allocation_granularity();
            const HANDLE section = create_section(size);
            if (section != nullptr) {
                unsigned char* const base = map_into_placeholders(section, size);
                CloseHandle(section);
                if (base != nullptr) {
                    works = true;
                    UnmapViewOfFile(base);
                    UnmapViewOfFile(base + size);
                }
            }
        }
        state = works ? yes : no;
        placeholders_work.store(state, std::memory_order_release);
        SetLastError(saved_error);
    }
    return state == yes;
}

} // namespace

void* map_twice(std::size_t size, bool placeholders, std::error_code& ec) noexcept {
    const bool use_placeholders = placeholders && placeholders_usable();
    const HANDLE section = create_section(size);
    if (section == nullptr) {
        fail(ec);
        return nullptr;
    }
    unsigned char* base = nullptr;
    if (use_placeholders) {
        base = map_into_placeholders(section, size);
        if (base == nullptr)
            fail(ec);
    } else {
        base = map_at_a_free_address(section, size, ec);
    }
    // The views hold the section; the handle is not needed past this point, on success or not.
    const DWORD error = GetLastError();
    CloseHandle(section);
    SetLastError(error);
    return base;
}

bool unmap_twice(void* base, std::size_t size, std::error_code& ec) noexcept {
    auto* const first = static_cast<unsigned char*>(base);
    const bool first_unmapped = UnmapViewOfFile(first) != 0;
    if (!first_unmapped)
        fail(ec);
    // The second view goes whatever the first did, so nothing stays mapped that can be freed.
    if (!UnmapViewOfFile(first + size)) {
        if (first_unmapped)
            fail(ec);
        return false;
    }
    return first_unmapped;
}

double_mapping_method double_mapping(bool placeholders) noexcept {
    return placeholders && placeholders_usable() ? double_mapping_method::placeholders
                                                 : double_mapping_method::file_mapping_retry;
}

std::size_t double_mapping_retries() noexcept {
    return retries.load(std::memory_order_relaxed);
}

} // namespace vmem::detail::os
