// A table of entities that hands out plain pointers: the vector never moves its elements, so the
// pointers stay valid however far it grows, and growth commits pages instead of copying.
#include <vmem/stable_vector.hpp>

#include <cstdio>
#include <string>

struct entity {
    int id;
    std::string name;
};

int main() {
    vmem::stable_vector<entity> table(10'000'000); // room for 10 million, nothing committed yet
    const entity* first = &table.emplace_back(entity{0, "origin"});
    bool ok = true;
    for (int i = 1; i < 1'000'000; ++i) {
        const entity& e = table.emplace_back(entity{i, "entity"});
        ok = ok && e.id == i;
    }
    ok = ok && &table.front() == first && first->name == "origin"; // never moved
    std::printf("%zu entities, room for %zu of at most %zu; the first still at %p\n", table.size(),
                table.capacity(), table.max_size(), static_cast<const void*>(first));
    std::printf("committed: %zu KiB\n", table.reservation().committed_bytes() / 1024);

    table.resize(1000);    // destroys the rest; the pages stay committed...
    table.shrink_to_fit(); // ...until this gives them back to the OS
    std::printf("after shrink_to_fit: %zu entities, committed: %zu KiB\n", table.size(),
                table.reservation().committed_bytes() / 1024);
    ok = ok && &table.front() == first && table.capacity() >= 1000 &&
         table.reservation().committed_bytes() < 1000 * sizeof(entity) + vmem::page_size();
    std::puts(ok ? "stable_vector: passed" : "stable_vector: FAILED");
    return ok ? 0 : 1;
}
