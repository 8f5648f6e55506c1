// vmem: build configuration and symbol visibility.
#ifndef VMEM_CONFIG_HPP
#define VMEM_CONFIG_HPP

#include <boost/config.hpp>

// VMEM_DECL marks what the library exports. A shared build compiles with VMEM_SOURCE and
// VMEM_DYN_LINK, so the symbols are exported (and everything else stays hidden, see CMake's
// visibility settings); consumers of a shared build see VMEM_DYN_LINK alone and import them.
#if defined(VMEM_DYN_LINK)
#if defined(VMEM_SOURCE)
#define VMEM_DECL BOOST_SYMBOL_EXPORT
#else
#define VMEM_DECL BOOST_SYMBOL_IMPORT
#endif
#else
#define VMEM_DECL
#endif

#if defined(BOOST_WINDOWS)
#define VMEM_WINDOWS 1
#else
#define VMEM_POSIX 1
#endif

#endif
