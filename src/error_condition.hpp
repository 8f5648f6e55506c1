// vmem: matching error conditions across C++ runtimes (shared layer, private).
#ifndef VMEM_SRC_ERROR_CONDITION_HPP
#define VMEM_SRC_ERROR_CONDITION_HPP

#include <cstring>
#include <system_error>

namespace vmem::detail {

// Whether `mine` (a condition vmem's category maps a code to) is `theirs`. The standard compares
// categories by address, but a program and a vmem DLL that each carry their own C++ runtime (a
// MinGW .exe linked with -static, say) have two std::generic_category() objects; libstdc++ then
// answers `ec == std::errc::invalid_argument` with false. The standard categories have fixed
// names, so two of the same name are the same category.
inline bool same_condition(const std::error_condition& mine,
                           const std::error_condition& theirs) noexcept {
    if (mine.value() != theirs.value())
        return false;
    return mine.category() == theirs.category() ||
           std::strcmp(mine.category().name(), theirs.category().name()) == 0;
}

} // namespace vmem::detail

#endif
