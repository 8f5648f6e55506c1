// vmem test program: vmem used from thread_local destructors as threads exit: worker threads
// that reserve and whose thread_local owners release at thread exit (the first of them is vmem's
// first use in the program), the main thread's thread_local at exit, and a thread started and
// ended by a static destructor that runs after anything vmem made on first use would have been
// destroyed. The contract ("Lifetime") says vmem works in each.
//
// The thread_local object is a stateless hook whose destructor finds its thread's owner in a
// global table: with MinGW's emulated thread-local storage (GCC 12, mingw-w64 10), the storage of
// a thread_local object is freed before its destructor runs at thread exit, so a destructor that
// reads its own members reads freed memory. That is the toolchain's, not vmem's, and the
// destructor still runs at thread exit, which is what this program needs.
#include "check.hpp"

#include <atomic>
#include <cstring>
#include <system_error>
#include <thread>
#include <vector>

#if defined(_WIN32)
#include <windows.h> // lean, without min and max: see CMakeLists.txt
#endif

namespace {

// Who is running, in a way that still answers in a thread_local destructor: winpthreads' own
// thread identity may already be gone by then, the system's is not.
#if defined(_WIN32)
using thread_key = DWORD;
thread_key current_thread() {
    return GetCurrentThreadId();
}
#else
using thread_key = std::thread::id;
thread_key current_thread() {
    return std::this_thread::get_id();
}
#endif

using namespace programs; // the helpers of check.hpp

// Where a thread's reservations were, for checks after the thread is gone.
struct slot {
    void* raw = nullptr;
    void* held = nullptr;
};

std::atomic<int> exit_checks_done{0};

// A thread's owner of two reservations: one made with vmem::reserve and released with
// vmem::release at thread exit, one owned by a vmem::reservation and released at thread exit by
// its release() member (when `release_held` is set) or by a move assignment.
struct thread_owner {
    const char* who = "";
    unsigned char tag = 0;
    bool release_held = false;
    bool alone = false; // no other thread uses vmem meanwhile
    void* raw = nullptr;
    vmem::reservation held;

    void at_thread_exit() {
        if (raw == nullptr)
            return;
        std::printf("-- a thread_local destructor at thread exit: %s\n", who);
        std::error_code ec;
        unsigned char* b = bytes(raw);
        check(b[0] == tag && b[2 * page() - 1] == tag, "the thread's data is there at exit");
        vmem::decommit(b + page(), page(), ec);
        check_ok(ec, "decommit in a thread_local destructor");
        vmem::protect(b, page(), vmem::access::read, ec);
        check_ok(ec, "protect in a thread_local destructor");
        vmem::release(raw, ec);
        check_ok(ec, "release (free function) in a thread_local destructor");
        if (alone) { // else another thread may have reserved that range since
            vmem::release(raw, ec);
            check_error(ec, vmem::errc::not_reserved, "a second release is not_reserved");
        }

        unsigned char* h = bytes(held.base());
        check(h != nullptr && h[0] == tag, "the owner's data is there at exit");
        held.decommit(h, page(), ec);
        check_ok(ec, "decommit (member) in a thread_local destructor");
        held.commit(h, page(), vmem::access::read_write, ec);
        check_ok(ec, "commit (member) in a thread_local destructor");
        check(h[0] == 0, "the recommitted page reads zero");
        if (release_held) {
            void* base = held.base();
            const std::size_t size = held.size();
            held.release(ec);
            check_ok(ec, "release (member) in a thread_local destructor");
            check(!alone || (programs::range_is_free(raw, 4 * page()) &&
                             programs::range_is_free(base, size)),
                  "both ranges are free at the OS");
        } else {
            held = vmem::reservation(); // releases, as the owner's destructor would
        }
        raw = nullptr;
    }
};

// One entry per live thread that uses vmem here, claimed by the thread.
struct owner_entry {
    std::atomic<bool> taken{false};
    thread_key thread{};
    thread_owner owner;
};
owner_entry owners[16];

// The entry of the calling thread, or null.
owner_entry* find_entry() {
    const thread_key me = current_thread();
    for (owner_entry& e : owners)
        if (e.taken.load() && e.thread == me)
            return &e;
    return nullptr;
}

// This thread's owner: claims an entry and installs the thread_local hook on first use. The
// hook's destructor, at thread exit, has the owner release and gives the entry back.
thread_owner& this_threads_owner() {
    struct hook {
        hook() {}
        ~hook() {
            if (owner_entry* e = find_entry()) { // null if the thread let go already
                e->owner.at_thread_exit();
                e->taken.store(false);
            }
        }
    };
    thread_local hook installed;
    (void)installed;
    if (owner_entry* e = find_entry())
        return e->owner;
    for (owner_entry& e : owners) {
        bool expected = false;
        if (e.taken.compare_exchange_strong(expected, true)) {
            e.thread = current_thread();
            return e.owner;
        }
    }
    check(false, "an owner entry is free");
    std::abort();
}

// Gives this thread's owner its reservations and records where they are in `s`. The owner's
// vmem::reservation adopts `adopt_base` if it is not null.
void fill(const char* who, unsigned char tag, bool release_held, bool alone, slot& s,
          void* adopt_base = nullptr) {
    thread_owner& o = this_threads_owner();
    o.who = who;
    o.tag = tag;
    o.release_held = release_held;
    o.alone = alone;
    std::error_code ec;
    o.raw = vmem::reserve(4 * page(), {}, ec);
    check_ok(ec, "reserve in a thread");
    vmem::commit(o.raw, 2 * page(), vmem::access::read_write, ec);
    check_ok(ec, "commit in a thread");
    std::memset(o.raw, tag, 2 * page());
    if (adopt_base != nullptr) {
        o.held = vmem::reservation::adopt(adopt_base, ec);
        check_ok(ec, "a thread adopts a reservation made in main");
        check(bytes(adopt_base)[0] == 0x99, "with main's data");
    } else {
        o.held = vmem::reservation(8 * page(), {}, ec);
        check_ok(ec, "a vmem::reservation in a thread");
    }
    o.held.commit(o.held.base(), 2 * page(), vmem::access::read_write, ec);
    check_ok(ec, "commit (member) in a thread");
    std::memset(o.held.base(), tag, 2 * page());
    s.raw = o.raw;
    s.held = o.held.base();
}

// True when vmem holds no reservation at `base` any more. (Whether the OS has the range free is
// checked right after the release where no other thread runs: once threads come and go, the
// system may put their stacks or heaps in a freed range.)
bool released(void* base) {
    std::error_code ec;
    vmem::commit(base, 1, vmem::access::read, ec);
    return base != nullptr && ec == vmem::errc::not_reserved;
}

void check_gone(const slot& s, const char* what) {
    check(released(s.raw) && released(s.held), what);
}

// Constructed before vmem's first use, so destroyed after anything vmem made on first use.
// Starts a thread whose thread_local owner reserves and releases as it exits.
// The thread adopts a reservation main made and left (so it was live when main returned).
struct exit_thread_starter {
    void* left_by_main = nullptr;
    ~exit_thread_starter() {
        if (left_by_main == nullptr)
            return;
        programs::note("a static destructor starts a thread that uses vmem and exits");
        slot s;
        void* base = left_by_main;
        std::thread t([&s, base] {
            fill("a thread started by a static destructor", 0x7e, false, true, s, base);
#if defined(__MINGW32__)
            // MinGW's runtime does not run the thread_local destructors of a thread that
            // exits after exit() has begun (mingw-w64 10): the thread lets go itself.
            programs::note("MinGW: no thread_local destructors once exit() began; "
                           "the thread releases before it returns");
            if (owner_entry* e = find_entry()) {
                e->owner.at_thread_exit();
                e->taken.store(false);
            }
#endif
        });
        t.join();
        check_gone(s, "its thread_local owner released both reservations at thread exit");
        if (exit_checks_done.fetch_add(1) + 1 == 2)
            programs::note("lifetime_thread_exit: passed");
    }
} the_exit_thread_starter;

// The main thread's owner: its destructor runs when main's thread exits (at exit()).
struct main_thread_marker {
    ~main_thread_marker() {
        if (exit_checks_done.fetch_add(1) + 1 == 2)
            programs::note("lifetime_thread_exit: passed");
    }
};

} // namespace

int main() {
    programs::note("lifetime_thread_exit: worker threads are vmem's first users");
    {
        slot first;
        std::thread t([&first] { fill("the first thread to use vmem", 0x11, true, true, first); });
        t.join();
        check_gone(first, "the first thread's owner released at thread exit");
    }
    {
        constexpr int n = 4;
        slot slots[n];
        std::vector<std::thread> threads;
        for (int i = 0; i < n; ++i)
            threads.emplace_back([i, &slots] {
                fill("one of several threads", static_cast<unsigned char>(0x20 + i), i % 2 == 0,
                     false, slots[i]);
            });
        for (std::thread& t : threads)
            t.join();
        for (const slot& s : slots)
            check_gone(s, "a worker's owner released at thread exit");
    }

    programs::note("the main thread's thread_local releases at exit");
    thread_local main_thread_marker marker; // destroyed after the owner below (made before it)
    (void)marker;
    slot main_slot;
    fill("the main thread", 0x5c, true, true, main_slot);
    void* left = vmem::reserve(8 * page());
    vmem::commit(left, page(), vmem::access::read_write);
    bytes(left)[0] = 0x99;
    the_exit_thread_starter.left_by_main = left;
    return 0;
}
