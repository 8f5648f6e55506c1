// A double-mapped ring buffer: a record written across the end of the buffer is read back as one
// contiguous span, with no split and no copy.
#include <vmem/ring_buffer.hpp>

#include <cstdio>
#include <cstring>

int main() {
    vmem::ring_buffer ring(1); // rounded up to the allocation granularity
    const std::size_t capacity = ring.capacity();
    ring.commit(capacity - 5); // move the head and tail to 5 bytes before the end
    ring.consume(capacity - 5);

    const char record[] = "a record that wraps around the end";
    vmem::byte_span<unsigned char> free = ring.write_span(); // one span, though it wraps
    std::memcpy(free.data(), record, sizeof record);
    ring.commit(sizeof record);

    vmem::byte_span<const unsigned char> ready = ring.read_span(); // one span again
    const bool wrapped = ready.data() + ready.size() > ring.memory().data() + capacity;
    const bool same =
        ready.size() == sizeof record && std::memcmp(ready.data(), record, sizeof record) == 0;
    std::printf("read \"%s\" (%zu bytes, %s the end of a %zu-byte buffer)\n",
                reinterpret_cast<const char*>(ready.data()), ready.size(),
                wrapped ? "across" : "before", capacity);
    ring.consume(ready.size());
    const bool ok = wrapped && same && ring.empty();
    std::puts(ok ? "ring_buffer: passed" : "ring_buffer: FAILED");
    return ok ? 0 : 1;
}
