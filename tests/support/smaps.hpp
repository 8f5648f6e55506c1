// vmem tests: fields of /proc/self/smaps, the kernel's own account of each mapping (Linux; other
// systems have no such file and get nothing). Free of Boost, like sizes.hpp.
#ifndef VMEM_TESTS_SUPPORT_SMAPS_HPP
#define VMEM_TESTS_SUPPORT_SMAPS_HPP

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace vmem_test {

/// Which /proc/self/smaps entry smaps_field reads.
enum class smaps_entry {
    holding, ///< the mapping that holds the address
    exactly, ///< the mapping that is exactly [address, address + size) (none if it was merged)
};

/// The text after "`field`:" in the /proc/self/smaps entry chosen by `which`; empty where there is
/// no such file, entry or field.
inline std::optional<std::string> smaps_field(const void* address, const char* field,
                                              smaps_entry which = smaps_entry::holding,
                                              std::size_t size = 0) {
    std::ifstream smaps("/proc/self/smaps");
    if (!smaps)
        return std::nullopt;
    const auto a = reinterpret_cast<std::uintptr_t>(address);
    const std::string name = std::string(field) + ":";
    bool inside = false;
    for (std::string line; std::getline(smaps, line);) {
        unsigned long long lo = 0, hi = 0;
        char dash = 0;
        std::istringstream head(line);
        if (head >> std::hex >> lo >> dash >> hi && dash == '-') { // an entry's first line
            inside = which == smaps_entry::holding ? lo <= a && a < hi : lo == a && hi == a + size;
            continue;
        }
        if (inside && line.compare(0, name.size(), name) == 0)
            return line.substr(name.size());
    }
    return std::nullopt;
}

} // namespace vmem_test

#endif
