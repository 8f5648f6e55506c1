// vmem POSIX backend: the locks of the shared layer, on futexes (Linux) and pthreads. Shared
// logic does not belong here. They never allocate (glibc, musl, macOS and the BSDs keep the whole
// pthread lock in the object), are constant-initialised, and are never destroyed, so they work
// before main and after exit.
#ifndef VMEM_SRC_POSIX_LOCK_HPP
#define VMEM_SRC_POSIX_LOCK_HPP

#include <pthread.h>

#if defined(__linux__)
#include <atomic>
#include <cstdint>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace vmem::detail {

#if defined(__linux__)
/// An exclusive lock on a futex: every commit, decommit and protect takes one, and uncontended it
/// is one atomic exchange each way, inline (pthread_mutex_lock is a call and several times the
/// instructions). Contended, the classic three-state futex mutex: 0 free, 1 held, 2 held with
/// waiters (U. Drepper, "Futexes Are Tricky", mutex #3).
class mutex {
public:
    constexpr mutex() noexcept = default;
    mutex(const mutex&) = delete;
    mutex& operator=(const mutex&) = delete;
    void lock() noexcept {
        std::uint32_t c = 0;
        if (state_.compare_exchange_strong(c, 1, std::memory_order_acquire,
                                           std::memory_order_relaxed))
            return;
        if (c != 2)
            c = state_.exchange(2, std::memory_order_acquire);
        while (c != 0) {
            wait(2);
            c = state_.exchange(2, std::memory_order_acquire);
        }
    }
    void unlock() noexcept {
        if (state_.fetch_sub(1, std::memory_order_release) != 1) {
            state_.store(0, std::memory_order_release);
            wake();
        }
    }

private:
    void wait(std::uint32_t expected) noexcept {
        // Returns at once if the state is no longer `expected`; spurious returns are fine.
        syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&state_), FUTEX_WAIT_PRIVATE, expected,
                nullptr, nullptr, 0);
    }
    void wake() noexcept {
        syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&state_), FUTEX_WAKE_PRIVATE, 1,
                nullptr, nullptr, 0);
    }

    std::atomic<std::uint32_t> state_{0};
    static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
                      std::atomic<std::uint32_t>::is_always_lock_free,
                  "the futex word is the atomic itself");
};
#else
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
#endif

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
