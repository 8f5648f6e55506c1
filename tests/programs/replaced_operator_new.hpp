// vmem test programs: every replaceable form of the global operator new and operator delete,
// defined in terms of four functions that the including program provides (declared below).
//
// The no-heap programs replace all twenty forms, so that no allocation by the C++ runtime, by the
// program or by vmem can reach a form that was left out. The forms differ only in what they
// return on failure and in whether they are aligned; the program decides where the memory comes
// from and what it observes (a count, a re-entry), and learns which form was called from `who`.
//
// Include this header in exactly one translation unit of a program: it defines the replacement
// functions themselves, which the standard does not allow to be inline.
#ifndef VMEM_TESTS_PROGRAMS_REPLACED_OPERATOR_NEW_HPP
#define VMEM_TESTS_PROGRAMS_REPLACED_OPERATOR_NEW_HPP

#include <cstddef>
#include <new>

namespace programs::replaced_new {

// Provided by the program. `who` names the form called, e.g. "operator new[](align, nothrow)".

/// Returns `n` bytes (`n` may be zero) aligned for any type of fundamental alignment, or null.
void* allocate(std::size_t n, const char* who) noexcept;
/// Returns `n` bytes aligned to `alignment` (a power of two, over-aligned), or null.
void* allocate_aligned(std::size_t n, std::size_t alignment, const char* who) noexcept;
/// Frees what allocate() returned; `p` may be null.
void deallocate(void* p, const char* who) noexcept;
/// Frees what allocate_aligned() returned; `p` may be null.
void deallocate_aligned(void* p, const char* who) noexcept;

// The throwing forms throw only once the program's function has returned: throwing allocates
// the exception object, which must not happen inside whatever the program holds around its
// allocation (a flag that says "inside the allocator", say).
inline void* or_bad_alloc(void* p) {
    if (p == nullptr)
        throw std::bad_alloc();
    return p;
}

} // namespace programs::replaced_new

void* operator new(std::size_t n) {
    return programs::replaced_new::or_bad_alloc(
        programs::replaced_new::allocate(n, "operator new"));
}
void* operator new[](std::size_t n) {
    return programs::replaced_new::or_bad_alloc(
        programs::replaced_new::allocate(n, "operator new[]"));
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    return programs::replaced_new::allocate(n, "operator new(nothrow)");
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
    return programs::replaced_new::allocate(n, "operator new[](nothrow)");
}
void* operator new(std::size_t n, std::align_val_t a) {
    return programs::replaced_new::or_bad_alloc(programs::replaced_new::allocate_aligned(
        n, static_cast<std::size_t>(a), "operator new(align)"));
}
void* operator new[](std::size_t n, std::align_val_t a) {
    return programs::replaced_new::or_bad_alloc(programs::replaced_new::allocate_aligned(
        n, static_cast<std::size_t>(a), "operator new[](align)"));
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    return programs::replaced_new::allocate_aligned(n, static_cast<std::size_t>(a),
                                                    "operator new(align, nothrow)");
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    return programs::replaced_new::allocate_aligned(n, static_cast<std::size_t>(a),
                                                    "operator new[](align, nothrow)");
}
void operator delete(void* p) noexcept {
    programs::replaced_new::deallocate(p, "operator delete");
}
void operator delete[](void* p) noexcept {
    programs::replaced_new::deallocate(p, "operator delete[]");
}
void operator delete(void* p, std::size_t) noexcept {
    programs::replaced_new::deallocate(p, "operator delete(size)");
}
void operator delete[](void* p, std::size_t) noexcept {
    programs::replaced_new::deallocate(p, "operator delete[](size)");
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
    programs::replaced_new::deallocate(p, "operator delete(nothrow)");
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
    programs::replaced_new::deallocate(p, "operator delete[](nothrow)");
}
void operator delete(void* p, std::align_val_t) noexcept {
    programs::replaced_new::deallocate_aligned(p, "operator delete(align)");
}
void operator delete[](void* p, std::align_val_t) noexcept {
    programs::replaced_new::deallocate_aligned(p, "operator delete[](align)");
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
    programs::replaced_new::deallocate_aligned(p, "operator delete(size, align)");
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
    programs::replaced_new::deallocate_aligned(p, "operator delete[](size, align)");
}
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
    programs::replaced_new::deallocate_aligned(p, "operator delete(align, nothrow)");
}
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
    programs::replaced_new::deallocate_aligned(p, "operator delete[](align, nothrow)");
}

#endif
