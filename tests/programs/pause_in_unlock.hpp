// vmem test programs: pause one thread in vmem's registry lock, to open a race's window
// deterministically (POSIX only; CMakeLists.txt builds the race programs on ELF platforms alone).
//
// The program that includes this (from its one source file: it defines pthread_rwlock_unlock)
// interposes pthread_rwlock_unlock, vmem's registry lock on POSIX. A thread that set
// pause_in_unlock, at its first unlock once `phase` is 1, moves `phase` to 2 and waits, after the
// lock is given back, until another thread moves it to 3.
#ifndef VMEM_TESTS_PROGRAMS_PAUSE_IN_UNLOCK_HPP
#define VMEM_TESTS_PROGRAMS_PAUSE_IN_UNLOCK_HPP

#include "check.hpp"

#include <atomic>
#include <chrono>
#include <dlfcn.h>
#include <pthread.h>
#include <thread>

namespace programs {

/// 0: nothing armed; 1: the thread to pause is on its way; 2: it is paused after the registry's
/// unlock; 3: it may go. A program may count on from there.
inline std::atomic<int> phase{0};
/// Set on the thread to pause only.
inline thread_local bool pause_in_unlock = false;

/// Waits until `phase` reaches `value`; false when it has not after 5 seconds.
inline bool wait_for(int value) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (phase.load() < value) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    return true;
}

} // namespace programs

// The registry's unlock: pause there once, after the lock is given back, until phase 3.
extern "C" int pthread_rwlock_unlock(pthread_rwlock_t* lock) {
    using unlock_fn = int (*)(pthread_rwlock_t*);
    static const auto real = reinterpret_cast<unlock_fn>(dlsym(RTLD_NEXT, "pthread_rwlock_unlock"));
    const int rc = real(lock);
    int armed = 1;
    if (programs::pause_in_unlock && programs::phase.compare_exchange_strong(armed, 2) &&
        !programs::wait_for(3))
        programs::fail("the paused thread was not let go (phase %d)", programs::phase.load());
    return rc;
}

#endif
