// vmem Windows backend: the "win32" category of GetLastError() values.
#include <vmem/error.hpp>

#include "../error_condition.hpp"

#include <windows.h>

#include <string>

namespace vmem {

namespace {

class win32_error_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "win32"; }

    std::string message(int value) const override { return std::system_category().message(value); }

    // Also across two C++ runtimes (see error_condition.hpp).
    bool equivalent(int value, const std::error_condition& condition) const noexcept override {
        return detail::same_condition(default_error_condition(value), condition);
    }

    // The standard library maps ERROR_NOT_ENOUGH_MEMORY and ERROR_OUTOFMEMORY to
    // errc::not_enough_memory but not the commit-limit codes, which are what VirtualAlloc
    // returns when the page file is full. Those are out of memory too.
    std::error_condition default_error_condition(int value) const noexcept override {
        switch (value) {
        case ERROR_NOT_ENOUGH_MEMORY:
        case ERROR_OUTOFMEMORY:
        case ERROR_COMMITMENT_LIMIT:
        case ERROR_COMMITMENT_MINIMUM:
        case ERROR_PAGEFILE_QUOTA:
        case ERROR_NOT_ENOUGH_QUOTA:
            return std::errc::not_enough_memory;
        default:
            return std::system_category().default_error_condition(value);
        }
    }
};

// Never destroyed (see src/error.cpp).
union never_destroyed {
    win32_error_category category;
    constexpr never_destroyed() : category() {}
    ~never_destroyed() {}
};
const never_destroyed the_category;

} // namespace

const std::error_category& win32_category() noexcept {
    return the_category.category;
}

} // namespace vmem
