// vmem Windows backend: VirtualAlloc2 with MEM_ADDRESS_REQUIREMENTS (see virtual_alloc2.hpp).
#include "virtual_alloc2.hpp"

#include <windows.h>

#include <atomic>
#include <cstdint>

namespace vmem::detail::win32 {

namespace {

struct address_requirements { // MEM_ADDRESS_REQUIREMENTS
    void* lowest_starting_address;
    void* highest_ending_address;
    SIZE_T alignment;
};

struct extended_parameter { // MEM_EXTENDED_PARAMETER: an 8-bit type in a 64-bit word, then a union
    DWORD64 type;
    union {
        DWORD64 u64;
        void* pointer;
    };
};

constexpr DWORD64 address_requirements_type = 1; // MemExtendedParameterAddressRequirements

using virtual_alloc2_fn = void*(WINAPI*)(HANDLE, void*, SIZE_T, ULONG, ULONG, extended_parameter*,
                                         ULONG);

virtual_alloc2_fn load() noexcept {
    HMODULE kernelbase = GetModuleHandleW(L"kernelbase.dll");
    if (kernelbase == nullptr)
        return nullptr;
    // The cast goes through a generic function pointer type, as GetProcAddress requires.
    return reinterpret_cast<virtual_alloc2_fn>(
        reinterpret_cast<void (*)()>(GetProcAddress(kernelbase, "VirtualAlloc2")));
}

} // namespace

// Looked up once. Not function-local statics with initialisers: under MinGW their thread-safe
// initialisation goes through winpthreads, which allocates, and vmem must not. Racing first
// calls find the same answer.
enum : int { unknown, absent, present };

void* reserve_aligned(std::size_t size, std::size_t alignment, unsigned long type,
                      unsigned long protect) noexcept {
    static std::atomic<virtual_alloc2_fn> found{nullptr};
    static std::atomic<int> state{unknown};
    if (state.load(std::memory_order_acquire) == unknown) {
        const virtual_alloc2_fn f = load();
        found.store(f, std::memory_order_relaxed);
        state.store(f != nullptr ? present : absent, std::memory_order_release);
    }
    const virtual_alloc2_fn virtual_alloc2 = found.load(std::memory_order_relaxed);
    if (virtual_alloc2 == nullptr) {
        SetLastError(ERROR_PROC_NOT_FOUND);
        return nullptr;
    }
    address_requirements req{};
    req.alignment = alignment;
    extended_parameter param{};
    param.type = address_requirements_type;
    param.pointer = &req;
    return virtual_alloc2(GetCurrentProcess(), nullptr, size, MEM_RESERVE | type,
                          protect != 0 ? protect : PAGE_NOACCESS, &param, 1);
}

bool aligned_reserve_works() noexcept {
    static std::atomic<int> state{unknown};
    int s = state.load(std::memory_order_acquire);
    if (s == unknown) {
        SYSTEM_INFO si;
        GetSystemInfo(&si);
        const std::size_t alignment = std::size_t{si.dwAllocationGranularity} * 16;
        void* p = reserve_aligned(si.dwAllocationGranularity, alignment);
        bool aligned = false;
        if (p != nullptr) {
            aligned = (reinterpret_cast<std::uintptr_t>(p) & (alignment - 1)) == 0;
            VirtualFree(p, 0, MEM_RELEASE); // a probe of our own; its release cannot matter
        }
        s = aligned ? present : absent;
        state.store(s, std::memory_order_release);
    }
    return s == present;
}

} // namespace vmem::detail::win32
