// vmem: the "vmem" error category (shared layer).
#include <vmem/error.hpp>

#include "error_condition.hpp"

#include <string>

namespace vmem {

namespace {

class vmem_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "vmem"; }

    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
        case errc::null_address:
            return "address is null";
        case errc::zero_size:
            return "size is zero";
        case errc::size_overflow:
            return "size is too large: rounded to pages it exceeds the user address space, or "
                   "added to the address it wraps";
        case errc::invalid_access:
            return "not a vmem::access value (there is no write-only or execute-only access)";
        case errc::invalid_alignment:
            return "alignment is not a power of two, or not smaller than the user address space";
        case errc::not_reserved:
            return "address lies in no reservation made by vmem";
        case errc::not_reservation_base:
            return "the address lies inside a reservation but is not its base (the address reserve "
                   "returned, which is what names a reservation)";
        case errc::outside_reservation:
            return "range runs outside its reservation";
        case errc::spans_reservations:
            return "range spans two reservations; each call may touch only one";
        case errc::not_committed:
            return "protect needs committed pages; part of the range is only reserved";
        case errc::empty_reservation:
            return "the vmem::reservation is empty";
        case errc::address_unavailable:
            return "the exact address asked for is not free, or no program can own it";
        case errc::reservation_owned:
            return "a vmem::reservation owns this reservation; only its owner may release it, "
                   "and it cannot be adopted twice (detach() gives ownership up)";
        case errc::invalid_placement:
            return "not a vmem::placement value";
        case errc::invalid_option:
            return "a reserve or commit option is outside its enum, or the options contradict "
                   "each other";
        case errc::guard_page:
            return "the range holds guard pages; only decommit turns them back into reserved pages";
        case errc::no_access:
            return "lock needs pages some access lets the program touch; these have access::none";
        case errc::not_supported:
            return "not available on this system (see vmem::query_capabilities())";
        case errc::huge_pages_unavailable:
            return "huge pages were required but are not available now (no free pool pages, no "
                   "privilege, or transparent huge pages off)";
        case errc::mapping_limit:
            return "out of kernel mappings: the process has as many as vm.max_map_count allows "
                   "(raise it, or split the address space less: fewer differing ranges)";
        case errc::process_limit:
            return "a limit on this process refused the memory (RLIMIT_AS or RLIMIT_DATA: see "
                   "ulimit -v / -d), not the system's commit limit";
        }
        return "unknown vmem error";
    }

    // Also across two C++ runtimes (see error_condition.hpp).
    bool equivalent(int value, const std::error_condition& condition) const noexcept override {
        return detail::same_condition(default_error_condition(value), condition);
    }

    std::error_condition default_error_condition(int value) const noexcept override {
        switch (static_cast<errc>(value)) {
        case errc::address_unavailable:
        case errc::huge_pages_unavailable:
            return {value, *this};
        case errc::not_supported:
            return std::errc::not_supported;
        case errc::mapping_limit:
        case errc::process_limit:
            return std::errc::not_enough_memory; // what the OS said, told apart
        default:
            return std::errc::invalid_argument; // every other code is a caller's mistake
        }
    }
};

// Never destroyed, so an error_code made in a static destructor or an atexit handler stays
// usable: a union member's destructor does not run unless called.
union never_destroyed {
    vmem_category category;
    constexpr never_destroyed() : category() {}
    ~never_destroyed() {}
};
const never_destroyed the_category;

} // namespace

const std::error_category& error_category() noexcept {
    return the_category.category;
}

} // namespace vmem
