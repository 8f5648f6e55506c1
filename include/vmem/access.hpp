// vmem: the access a committed page grants.
#ifndef VMEM_ACCESS_HPP
#define VMEM_ACCESS_HPP

namespace vmem {

/// What a committed page lets the program do. Exactly these five values exist; any other value
/// (a cast from an integer, say) is refused with errc::invalid_access.
///
/// There is no write-only and no execute-only access: Windows cannot express write-only
/// (PAGE_WRITEONLY does not exist) and on POSIX PROT_WRITE implies read on most hardware, so a
/// promise of "write but not read" could not be kept. Ask for read_write.
/// read_write_execute is never implied by a combination: it is granted only when asked for by
/// this name.
enum class access : unsigned {
    none = 0,               ///< committed, but every access faults (PAGE_NOACCESS, PROT_NONE)
    read = 1,               ///< PAGE_READONLY, PROT_READ
    read_write = 3,         ///< PAGE_READWRITE, PROT_READ | PROT_WRITE
    read_execute = 5,       ///< PAGE_EXECUTE_READ, PROT_READ | PROT_EXEC
    read_write_execute = 7, ///< PAGE_EXECUTE_READWRITE, PROT_READ | PROT_WRITE | PROT_EXEC
};

/// True for the five values above.
constexpr bool is_valid(access a) noexcept {
    switch (a) {
    case access::none:
    case access::read:
    case access::read_write:
    case access::read_execute:
    case access::read_write_execute:
        return true;
    }
    return false;
}

} // namespace vmem

#endif
