// vmem: one virtual-memory interface for Windows and POSIX. Includes every public header.
#ifndef VMEM_VMEM_HPP
#define VMEM_VMEM_HPP

#include <vmem/access.hpp>
#include <vmem/arena.hpp>
#include <vmem/config.hpp>
#include <vmem/error.hpp>
#include <vmem/guarded.hpp>
#include <vmem/memory.hpp>
#include <vmem/reservation.hpp>
#include <vmem/ring_buffer.hpp>
#include <vmem/stable_vector.hpp>
#include <vmem/system.hpp>
#include <vmem/testing.hpp>
#include <vmem/version.hpp>

#endif
