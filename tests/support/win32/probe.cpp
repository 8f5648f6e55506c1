// vmem tests, Windows: the probe (see ../probe.hpp).
#include "../probe.hpp"

#include <windows.h>
#include <psapi.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace vmem_probe {

namespace {

#if defined(_MSC_VER)

bool read_byte(const void* p) noexcept {
    __try {
        (void)*static_cast<const volatile unsigned char*>(p);
        return true;
    } __except (GetExceptionCode() == EXCEPTION_ACCESS_VIOLATION ? EXCEPTION_EXECUTE_HANDLER
                                                                 : EXCEPTION_CONTINUE_SEARCH) {
        return false;
    }
}

bool write_byte(void* p) noexcept {
    __try {
        volatile unsigned char* b = static_cast<volatile unsigned char*>(p);
        *b = *b;
        return true;
    } __except (GetExceptionCode() == EXCEPTION_ACCESS_VIOLATION ? EXCEPTION_EXECUTE_HANDLER
                                                                 : EXCEPTION_CONTINUE_SEARCH) {
        return false;
    }
}

bool run_code(int (*function)(), int& result) noexcept {
    __try {
        result = function();
        return true;
    } __except (GetExceptionCode() == EXCEPTION_ACCESS_VIOLATION ? EXCEPTION_EXECUTE_HANDLER
                                                                 : EXCEPTION_CONTINUE_SEARCH) {
        return false;
    }
}

#else

// GCC and Clang have no __try for MinGW targets. A vectored exception handler sees the access
// violation first and resumes the thread where the probe captured its context, with every register
// as it was then (RtlCaptureContext, EXCEPTION_CONTINUE_EXECUTION): the capture returns a second
// time, with `faulted` set. __builtin_setjmp/longjmp did this before, but Clang's does not restore
// all of Win64's callee-saved registers (rsi, rdi, xmm6-15), and the caller's state was corrupted.
// (32-bit x86 keeps __builtin_setjmp; see below.)
// (Boost.Test's execution monitor does not catch access violations in MinGW builds.)
struct handler {
    explicit handler(PVECTORED_EXCEPTION_HANDLER on) : h(AddVectoredExceptionHandler(1, on)) {}
    ~handler() { RemoveVectoredExceptionHandler(h); }
    void* h;
};

#if defined(_WIN64)

thread_local CONTEXT* volatile landing = nullptr;
thread_local volatile bool faulted = false;

LONG CALLBACK on_exception(EXCEPTION_POINTERS* info) {
    if (landing != nullptr && info->ExceptionRecord->ExceptionCode == EXCEPTION_ACCESS_VIOLATION) {
        *info->ContextRecord = *landing;
        landing = nullptr;
        faulted = true;
        return EXCEPTION_CONTINUE_EXECUTION;
    }
    return EXCEPTION_CONTINUE_SEARCH;
}

// Runs action() with the handler armed: false if it raised an access violation. noinline, and
// nothing but `faulted` is read after the capture's second return.
template <class Action>
__attribute__((noinline)) bool guarded(Action action) noexcept {
    static handler installed(on_exception);
    CONTEXT here;
    faulted = false;
    RtlCaptureContext(&here);
    if (faulted)
        return false;
    landing = &here;
    action();
    landing = nullptr;
    return true;
}

#else

// 32-bit x86: RtlCaptureContext there records its caller's caller (the context as if the caller
// had returned), so it cannot mark a point to resume at; GCC's __builtin_setjmp/longjmp, which
// does not unwind, does (its i386 form restores what the caller needs). `probing` is volatile: to
// the compiler the touch cannot jump back, and the first store would be lost at -O2.
thread_local void* landing[5] = {};
thread_local volatile bool probing = false;

LONG CALLBACK on_exception(EXCEPTION_POINTERS* info) {
    if (probing && info->ExceptionRecord->ExceptionCode == EXCEPTION_ACCESS_VIOLATION) {
        probing = false;
        __builtin_longjmp(landing, 1);
    }
    return EXCEPTION_CONTINUE_SEARCH;
}

template <class Action>
__attribute__((noinline)) bool guarded(Action action) noexcept {
    static handler installed(on_exception);
    if (__builtin_setjmp(landing) != 0)
        return false;
    probing = true;
    action();
    probing = false;
    return true;
}

#endif

bool read_byte(const void* p) noexcept {
    return guarded([p] { (void)*static_cast<const volatile unsigned char*>(p); });
}

bool write_byte(void* p) noexcept {
    return guarded([p] {
        volatile unsigned char* b = static_cast<volatile unsigned char*>(p);
        *b = *b;
    });
}

// Fetching code from a page without execute access (DEP) raises an access violation too.
bool run_code(int (*function)(), int& result) noexcept {
    int value = 0;
    if (!guarded([function, &value] { value = function(); }))
        return false;
    result = value;
    return true;
}

#endif

const SYSTEM_INFO& info() {
    static const SYSTEM_INFO si = [] {
        SYSTEM_INFO s;
        GetSystemInfo(&s);
        return s;
    }();
    return si;
}

} // namespace

bool can_read(const void* p) noexcept {
    return read_byte(p);
}

bool can_write(void* p) noexcept {
    return read_byte(p) && write_byte(p);
}

std::optional<std::size_t> resident_bytes(const void* p, std::size_t size) {
    const std::size_t page = os_page_size();
    const auto first = reinterpret_cast<std::uintptr_t>(p) & ~(page - 1);
    const auto last = (reinterpret_cast<std::uintptr_t>(p) + size + page - 1) & ~(page - 1);
    std::vector<PSAPI_WORKING_SET_EX_INFORMATION> pages((last - first) / page);
    for (std::size_t i = 0; i < pages.size(); ++i)
        pages[i].VirtualAddress = reinterpret_cast<void*>(first + i * page);
    if (!QueryWorkingSetEx(GetCurrentProcess(), pages.data(),
                           static_cast<DWORD>(pages.size() * sizeof(pages[0]))))
        return std::nullopt;
    std::size_t n = 0;
    for (const auto& e : pages)
        n += e.VirtualAttributes.Valid ? page : 0;
    return n;
}

std::optional<std::size_t> process_resident_bytes() {
    PROCESS_MEMORY_COUNTERS_EX c{};
    if (!GetProcessMemoryInfo(GetCurrentProcess(), reinterpret_cast<PROCESS_MEMORY_COUNTERS*>(&c),
                              sizeof(c)))
        return std::nullopt;
    return c.WorkingSetSize;
}

std::optional<std::size_t> commit_charge() {
    if (!wine_version().empty())
        return std::nullopt; // Wine keeps PrivateUsage at 0: it has no commit accounting
    PROCESS_MEMORY_COUNTERS_EX c{};
    if (!GetProcessMemoryInfo(GetCurrentProcess(), reinterpret_cast<PROCESS_MEMORY_COUNTERS*>(&c),
                              sizeof(c)))
        return std::nullopt;
    return c.PrivateUsage;
}

void* map_foreign(void* at, std::size_t size) noexcept {
    // VirtualAlloc at an address is exact or fails; it never replaces a reservation.
    return VirtualAlloc(at, size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
}

void unmap_foreign(void* p, std::size_t) noexcept {
    VirtualFree(p, 0, MEM_RELEASE);
}

std::size_t os_page_size() {
    return info().dwPageSize;
}

std::size_t os_allocation_granularity() {
    return info().dwAllocationGranularity;
}

std::string wine_version() {
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    if (ntdll == nullptr)
        return {};
    using fn = const char*(CDECL*)();
    auto get = reinterpret_cast<fn>(
        reinterpret_cast<void (*)()>(GetProcAddress(ntdll, "wine_get_version")));
    return get != nullptr ? get() : std::string();
}

std::string platform_name() {
    return "windows";
}

// Probes added for the tests of execution, accounting and failure atomicity.

bool write_return_42(void* p) noexcept {
#if defined(_M_X64) || defined(_M_IX86) || defined(__x86_64__) || defined(__i386__)
    static const unsigned char code[] = {0xB8, 0x2A, 0x00, 0x00, 0x00, 0xC3}; // mov eax, 42; ret
#elif defined(_M_ARM64) || defined(__aarch64__)
    static const std::uint32_t code[] = {0x52800540, 0xD65F03C0}; // mov w0, #42; ret
#endif
#if defined(_M_X64) || defined(_M_IX86) || defined(__x86_64__) || defined(__i386__) ||             \
    defined(_M_ARM64) || defined(__aarch64__)
    std::memcpy(p, code, sizeof(code));
    FlushInstructionCache(GetCurrentProcess(), p, sizeof(code));
    return true;
#else
    (void)p;
    return false;
#endif
}

bool can_execute(const void* p) noexcept {
    int (*function)() = nullptr;
    std::memcpy(&function, &p, sizeof(function)); // a data pointer to code, without a cast
    int result = 0;
    return run_code(function, result) && result == 42;
}

std::optional<int> overcommit_mode() {
    return std::nullopt;
}

std::optional<std::size_t> memory_and_swap() {
    MEMORYSTATUSEX m{};
    m.dwLength = sizeof(m);
    if (!GlobalMemoryStatusEx(&m))
        return std::nullopt;
    return static_cast<std::size_t>(m.ullTotalPageFile); // the commit limit
}

std::optional<std::size_t> address_space_in_use() {
    MEMORYSTATUSEX m{};
    m.dwLength = sizeof(m);
    if (!GlobalMemoryStatusEx(&m))
        return std::nullopt;
    return static_cast<std::size_t>(m.ullTotalVirtual - m.ullAvailVirtual);
}

bool is_unmapped(const void* p, std::size_t size) noexcept {
    auto at = reinterpret_cast<std::uintptr_t>(p);
    const std::uintptr_t end = at + size;
    while (at < end) {
        MEMORY_BASIC_INFORMATION m{};
        if (VirtualQuery(reinterpret_cast<void*>(at), &m, sizeof(m)) == 0)
            return true; // beyond the user address space: nobody holds it
        if (m.State != MEM_FREE)
            return false;
        at = reinterpret_cast<std::uintptr_t>(m.BaseAddress) + m.RegionSize;
    }
    return true;
}

std::optional<std::string> run_in_child(std::string (*)(void*), void*) {
    return std::nullopt; // no fork
}

bool limit_writable_memory(std::size_t) noexcept {
    return false;
}

bool pretend_overcommit_mode(int) noexcept {
    return false;
}

} // namespace vmem_probe
