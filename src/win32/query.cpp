// vmem Windows backend: query, through VirtualQuery. Shared logic does not belong here (see
// src/platform.hpp).
//
// VirtualQuery describes the pages from the one holding the address onwards, up to the first that
// differs in state, protection or type, never past the end of the allocation. The run's start is
// found by walking the allocation from AllocationBase. State: MEM_FREE free, MEM_RESERVE reserved,
// MEM_COMMIT committed (PAGE_NOACCESS committed pages are committed with access::none:
// capabilities::query_sees_committed_none is true here). Protection to access: PAGE_WRITECOPY is
// read_write and PAGE_EXECUTE_WRITECOPY read_write_execute (they are writable; the first write
// makes a private copy); PAGE_EXECUTE (execute only) is read_execute, the nearest vmem access; a
// PAGE_GUARD page is access::none, because any access faults (once: vmem never makes them, the
// system does for thread stacks); PAGE_NOCACHE, PAGE_WRITECOMBINE and the CFG bits are ignored.
// Neighbouring runs that differ only in what this mapping ignores are one run. A free address's
// run starts at its page (VirtualQuery does not say where a free range begins) and ends at the next
// allocation.
#include "../platform.hpp"
#include "call.hpp"

#include <vmem/error.hpp>

#include <windows.h>

#include <cstdint>

namespace vmem::detail::os {

namespace {

access to_access(DWORD protect) noexcept {
    if ((protect & PAGE_GUARD) != 0)
        return access::none;
    switch (protect & 0xff) { // the base protection, without the modifiers
    case PAGE_READONLY:
        return access::read;
    case PAGE_READWRITE:
    case PAGE_WRITECOPY:
        return access::read_write;
    case PAGE_EXECUTE:
    case PAGE_EXECUTE_READ:
        return access::read_execute;
    case PAGE_EXECUTE_READWRITE:
    case PAGE_EXECUTE_WRITECOPY:
        return access::read_write_execute;
    default: // PAGE_NOACCESS, and 0 for reserved pages
        return access::none;
    }
}

page_state to_state(DWORD state) noexcept {
    if (state == MEM_COMMIT)
        return page_state::committed;
    if (state == MEM_RESERVE)
        return page_state::reserved;
    return page_state::free;
}

struct run_of_pages {
    std::uintptr_t lo = 0;
    std::uintptr_t hi = 0;
    page_state state = page_state::free;
    access a = access::none;
    void* allocation = nullptr;

    bool joins(const run_of_pages& next) const noexcept {
        return next.lo == hi && next.allocation == allocation && next.state == state && next.a == a;
    }
};

bool ask(std::uintptr_t p, run_of_pages& m, std::error_code& ec) noexcept {
    MEMORY_BASIC_INFORMATION info;
    if (VirtualQuery(reinterpret_cast<const void*>(p), &info, sizeof info) == 0)
        return fail(ec);
    m.lo = reinterpret_cast<std::uintptr_t>(info.BaseAddress);
    m.hi = m.lo + info.RegionSize;
    m.state = to_state(info.State);
    m.a = m.state == page_state::committed ? to_access(info.Protect) : access::none;
    m.allocation = m.state == page_state::free ? nullptr : info.AllocationBase;
    return true;
}

} // namespace

bool query(const void* address, bool, region& out, std::error_code& ec) noexcept {
    const auto p = reinterpret_cast<std::uintptr_t>(address);
    if (p >= address_limit()) { // VirtualQuery refuses addresses above the user address space
        const std::uintptr_t lo = p & ~(static_cast<std::uintptr_t>(page_size()) - 1);
        out.base = reinterpret_cast<void*>(lo);
        out.size = 0 - lo; // to the end of the address space
        out.state = page_state::free;
        out.access = access::none;
        return true;
    }
    run_of_pages here;
    if (!ask(p, here, ec))
        return false;
    run_of_pages run = here;
    if (here.state != page_state::free) {
        // From the allocation's first page to the run holding p, joining runs of one kind.
        run_of_pages m;
        if (!ask(reinterpret_cast<std::uintptr_t>(here.allocation), run, ec))
            return false;
        while (run.hi <= p) {
            if (!ask(run.hi, m, ec))
                return false;
            if (run.joins(m))
                run.hi = m.hi;
            else
                run = m;
        }
        // Onwards, while the next runs are of the same kind in the same allocation.
        while (run.hi < address_limit() && ask(run.hi, m, ec) && run.joins(m))
            run.hi = m.hi;
        ec.clear(); // a refusal past the run only ends it
    }
    out.base = reinterpret_cast<void*>(run.lo);
    out.size = run.hi - run.lo;
    out.state = run.state;
    out.access = run.a;
    return true;
}

} // namespace vmem::detail::os
