// vmem test program lifetime_static_init: what the translation unit that uses vmem before main
// (lifetime_static_init_early.cpp) hands to main.
#ifndef VMEM_TESTS_PROGRAMS_LIFETIME_STATIC_INIT_HPP
#define VMEM_TESTS_PROGRAMS_LIFETIME_STATIC_INIT_HPP

#include <vmem/vmem.hpp>

namespace early {

/// Set by the static initialiser once everything it did checked out.
bool initialised() noexcept;
/// A reservation the static initialiser made with vmem::reserve and left committed and written:
/// its first page holds 0x42 in every byte, read-only; the rest is reserved.
void* raw_base() noexcept;
/// A reservation the static initialiser made with vmem::reserve and left unowned, for main to
/// adopt (and release when the adopting owner goes).
void* to_adopt() noexcept;
/// A vmem::reservation owned by that translation unit, made before main, released by a static
/// destructor there.
vmem::reservation& owned() noexcept;

} // namespace early

#endif
