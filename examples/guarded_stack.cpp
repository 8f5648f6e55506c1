// vmem: the README's guarded stack, compiled and run by the build so that it cannot rot.
#include <vmem/vmem.hpp>

#include <cstddef>
#include <cstdio>
#include <cstring>
#include <system_error>

int main() {
    // 64 KiB of stack with one guard page below it: a stack grows down, so it overflows there.
    vmem::guarded_stack stack(64 * 1024);
    unsigned char* const top = static_cast<unsigned char*>(stack.top());
    unsigned char* const bottom = static_cast<unsigned char*>(stack.bottom());

    // Use it as a stack would: push from the top down, all the way to the bottom.
    unsigned char* sp = top;
    unsigned long pushed = 0;
    while (sp - bottom >= static_cast<std::ptrdiff_t>(sizeof pushed)) {
        sp -= sizeof pushed;
        std::memcpy(sp, &pushed, sizeof pushed);
        ++pushed;
    }
    unsigned long last = 0;
    std::memcpy(&last, bottom, sizeof last);
    std::printf("stack  [%p, %p): %zu bytes, %lu values pushed, the last one %lu\n",
                static_cast<void*>(bottom), static_cast<void*>(top), stack.size(), pushed, last);

    // The next push would land in the guard, at the start of the stack's reservation: ask vmem
    // what lies there (without touching it, which would fault).
    unsigned char* const guard = bottom - stack.guard_size();
    const vmem::region below = vmem::query(bottom - 1);
    std::error_code ec;
    vmem::commit(bottom - 1, 1, vmem::access::read_write, ec); // refused: changes nothing
    std::printf("guard  [%p, %p): %zu bytes below the stack; committing its last byte: %s\n",
                static_cast<void*>(guard), static_cast<void*>(bottom), stack.guard_size(),
                ec.message().c_str());
    const bool guarded = ec == vmem::errc::guard_page && below.reservation != nullptr &&
                         below.reservation == stack.block().reservation_base() &&
                         guard == stack.block().reservation_base();
    std::printf("guarded_stack: %s\n", guarded && last == pushed - 1 ? "passed" : "FAILED");
    return guarded ? 0 : 1;
} // the destructor releases the stack and its guard
