// vmem Windows backend: the locks of the shared layer, on slim reader/writer locks. Shared logic
// does not belong here. An SRWLOCK is one pointer, needs no initialisation call, no heap and no
// destruction, so the locks work before main and after exit (std::mutex under MinGW goes through
// winpthreads, which allocates its state on first use).
#ifndef VMEM_SRC_WIN32_LOCK_HPP
#define VMEM_SRC_WIN32_LOCK_HPP

#include <windows.h>

namespace vmem::detail {

/// A lock with shared (reader) and exclusive (writer) holders.
class shared_mutex {
public:
    constexpr shared_mutex() noexcept = default;
    shared_mutex(const shared_mutex&) = delete;
    shared_mutex& operator=(const shared_mutex&) = delete;
    void lock() noexcept { AcquireSRWLockExclusive(&m_); }
    void unlock() noexcept { ReleaseSRWLockExclusive(&m_); }
    void lock_shared() noexcept { AcquireSRWLockShared(&m_); }
    void unlock_shared() noexcept { ReleaseSRWLockShared(&m_); }

private:
    SRWLOCK m_ = SRWLOCK_INIT;
};

/// An exclusive lock.
class mutex {
public:
    constexpr mutex() noexcept = default;
    mutex(const mutex&) = delete;
    mutex& operator=(const mutex&) = delete;
    void lock() noexcept { m_.lock(); }
    void unlock() noexcept { m_.unlock(); }

private:
    shared_mutex m_;
};

} // namespace vmem::detail

#endif
