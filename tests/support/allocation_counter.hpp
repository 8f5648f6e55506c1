// vmem tests: how many bytes the program has allocated from the heap and not yet freed. The test
// binary replaces the global operator new and delete to count them (allocation_counter.cpp).
// vmem's bookkeeping is heap memory, so this measures it on every platform alike.
#ifndef VMEM_TESTS_SUPPORT_ALLOCATION_COUNTER_HPP
#define VMEM_TESTS_SUPPORT_ALLOCATION_COUNTER_HPP

#include <cstddef>

namespace vmem_probe {

std::size_t heap_bytes_in_use() noexcept;

}

#endif
