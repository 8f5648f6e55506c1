// A per-frame arena: every frame's scratch data comes from one arena, freed at once by reset(),
// which keeps the first 1 MiB committed so the next frame does not fault it in again.
#include <vmem/arena.hpp>

#include <cstdio>
#include <memory_resource>
#include <vector>

int main() {
    vmem::arena_options options;
    options.keep_committed = std::size_t(1) << 20;
    vmem::arena frame(std::size_t(64) << 20, options); // at most 64 MiB, committed as it grows
    vmem::arena_resource resource(frame);
    bool ok = true;
    for (int i = 0; i < 3; ++i) {
        {
            std::pmr::vector<int> items(&resource); // memory from the arena, no heap
            for (int k = 0; k < 100000 * (i + 1); ++k)
                items.push_back(k);
            ok = ok && frame.reservation().contains(items.data());
            std::printf("frame %d: %zu items, arena %zu bytes used, %zu committed\n", i,
                        items.size(), frame.size(), frame.committed());
        }
        frame.reset(); // frees the whole frame at once
        ok = ok && frame.size() == 0 && frame.committed() <= options.keep_committed;
    }
    std::puts(ok ? "arena: passed" : "arena: FAILED");
    return ok ? 0 : 1;
}
