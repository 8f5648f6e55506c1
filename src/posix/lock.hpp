// vmem POSIX backend: the locks of the shared layer, on pthreads. Shared logic does not belong
// here. They never allocate (glibc, musl, macOS and the BSDs keep the whole lock in the object),
// are constant-initialised, and are never destroyed, so they work before main and after exit.
#ifndef VMEM_SRC_POSIX_LOCK_HPP
#define VMEM_SRC_POSIX_LOCK_HPP

#include <pthread.h>

namespace vmem::detail {

/// An exclusive lock.
class mutex {
public:
    constexpr mutex() noexcept = default;
    mutex(const mutex&) = delete;
    mutex& operator=(const mutex&) = delete;
    void lock() noexcept { pthread_mutex_lock(&m_); }
    void unlock() noexcept { pthread_mutex_unlock(&m_); }

private:
    pthread_mutex_t m_ = PTHREAD_MUTEX_INITIALIZER;
};

/// A lock with shared (reader) and exclusive (writer) holders.
class shared_mutex {
public:
    constexpr shared_mutex() noexcept = default;
    shared_mutex(const shared_mutex&) = delete;
    shared_mutex& operator=(const shared_mutex&) = delete;
    void lock() noexcept { pthread_rwlock_wrlock(&m_); }
    void unlock() noexcept { pthread_rwlock_unlock(&m_); }
    void lock_shared() noexcept { pthread_rwlock_rdlock(&m_); }
    void unlock_shared() noexcept { pthread_rwlock_unlock(&m_); }

private:
    pthread_rwlock_t m_ = PTHREAD_RWLOCK_INITIALIZER;
};

} // namespace vmem::detail

#endif
