// vmem POSIX backend: reading the small files of /proc and /sys (see proc.hpp). open and read are
// POSIX, so this builds everywhere; only Linux has the files.
#include "proc.hpp"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace vmem::detail::os {

long read_file(const char* path, char* buffer, std::size_t size) noexcept {
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    // A /proc file is generated as it is read and may come in pieces: read until it ends.
    std::size_t used = 0;
    while (used + 1 < size) {
        const ssize_t n = read(fd, buffer + used, size - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += static_cast<std::size_t>(n);
    }
    close(fd);
    buffer[used] = '\0';
    return static_cast<long>(used);
}

std::size_t count_lines(const char* path) noexcept {
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    std::size_t lines = 0;
    char buffer[file_buffer_size];
    for (;;) {
        const ssize_t n = read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; ++i)
            lines += buffer[i] == '\n';
    }
    close(fd);
    return lines;
}

bool starts_with(const char* s, const char* prefix) noexcept {
    while (*prefix != '\0')
        if (*s++ != *prefix++)
            return false;
    return true;
}

std::size_t parse_number(const char* s, const char** end) noexcept {
    while (*s == ' ' || *s == '\t')
        ++s;
    std::size_t value = 0;
    while (*s >= '0' && *s <= '9')
        value = value * 10 + static_cast<std::size_t>(*s++ - '0');
    if (end != nullptr)
        *end = s;
    return value;
}

namespace {

// The first character after "key:" at the start of a line of text, or null.
const char* after_key(const char* text, const char* key) noexcept {
    for (const char* line = text; *line != '\0';) {
        const char* p = line;
        const char* k = key;
        while (*k != '\0' && *p == *k) {
            ++p;
            ++k;
        }
        if (*k == '\0' && *p == ':')
            return p + 1;
        while (*line != '\0' && *line != '\n')
            ++line;
        if (*line == '\n')
            ++line;
    }
    return nullptr;
}

} // namespace

std::size_t number_after(const char* text, const char* key) noexcept {
    const char* p = after_key(text, key);
    return p != nullptr ? parse_number(p) : 0;
}

std::size_t bytes_after(const char* text, const char* key) noexcept {
    const char* p = after_key(text, key);
    if (p == nullptr)
        return 0;
    const char* end = nullptr;
    const std::size_t value = parse_number(p, &end);
    while (*end == ' ')
        ++end;
    return starts_with(end, "kB") ? value * 1024 : value;
}

std::size_t file_number(const char* path, std::size_t fallback) noexcept {
    char buffer[64];
    if (read_file(path, buffer, sizeof buffer) <= 0 || buffer[0] < '0' || buffer[0] > '9')
        return fallback;
    return parse_number(buffer);
}

#if defined(__linux__)
thp_mode read_thp_mode() noexcept {
    char buffer[128];
    if (read_file("/sys/kernel/mm/transparent_hugepage/enabled", buffer, sizeof buffer) <= 0)
        return thp_mode::unavailable;
    for (const char* p = buffer; *p != '\0'; ++p) {
        if (*p != '[')
            continue;
        if (starts_with(p + 1, "always]"))
            return thp_mode::always;
        if (starts_with(p + 1, "madvise]"))
            return thp_mode::madvise;
        if (starts_with(p + 1, "never]"))
            return thp_mode::never;
    }
    return thp_mode::unavailable;
}
#endif

} // namespace vmem::detail::os
