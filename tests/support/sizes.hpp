// vmem tests: the page size, the allocation granularity and a pointer as bytes, for the sizes and
// offsets the tests use. Free of Boost, so that the test programs (tests/programs) share it too.
#ifndef VMEM_TESTS_SUPPORT_SIZES_HPP
#define VMEM_TESTS_SUPPORT_SIZES_HPP

#include <vmem/vmem.hpp>

#include <cstddef>

namespace vmem_test {

inline std::size_t page() {
    return vmem::page_size();
}
inline std::size_t granularity() {
    return vmem::allocation_granularity();
}

/// `p` as bytes, to read, write and offset.
inline unsigned char* bytes(void* p) {
    return static_cast<unsigned char*>(p);
}

} // namespace vmem_test

#endif
