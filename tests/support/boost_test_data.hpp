// Boost.Test's data-driven test cases (BOOST_DATA_TEST_CASE), for the suite's test files.
//
// GCC with -fsanitize=address (the `asan` preset) reports -Wmaybe-uninitialized inside
// boost/test/data's headers, a false positive in Boost's code that warnings-as-errors would turn
// into a failed build. It is silenced here, for these headers only; vmem's own code keeps every
// warning.
#ifndef VMEM_TESTS_BOOST_TEST_DATA_HPP
#define VMEM_TESTS_BOOST_TEST_DATA_HPP

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif
