// vmem_bench's main and the machinery of bench/common.hpp.
#include "common.hpp"

#include <vmem/vmem.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

namespace vmem_bench {
namespace {

bool smoke_flag = false;

struct registered {
    const char* name;
    void (*register_all)();
};
std::vector<registered>& families() {
    static std::vector<registered> all;
    return all;
}

} // namespace

std::unique_ptr<scene> current_scene;

bool smoke() noexcept {
    return smoke_flag;
}

std::size_t page() noexcept {
    return vmem::page_size();
}

double thread_cpu_ns() noexcept {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}

long long proc_kib(const char* path, const char* field) {
    FILE* f = std::fopen(path, "r");
    if (f == nullptr)
        return -1;
    long long value = -1;
    char line[256];
    const std::size_t len = std::strlen(field);
    while (std::fgets(line, sizeof line, f) != nullptr) {
        if (std::strncmp(line, field, len) == 0) {
            value = std::strtoll(line + len, nullptr, 10);
            break;
        }
    }
    std::fclose(f);
    return value;
}

double resident_bytes() {
    double bytes = 0;
    if (FILE* f = std::fopen("/proc/self/statm", "r")) {
        unsigned long size = 0, resident = 0;
        if (std::fscanf(f, "%lu %lu", &size, &resident) == 2)
            bytes = static_cast<double>(resident) * static_cast<double>(page());
        std::fclose(f);
    }
    return bytes;
}

bool check(benchmark::State& state, bool ok, const char* what) {
    if (!ok) {
        const std::string message = std::string(what) + ": " + std::strerror(errno);
        state.SkipWithError(message.c_str());
    }
    return ok;
}

bool check(benchmark::State& state, const std::error_code& ec, const char* what) {
    if (ec) {
        const std::string message = std::string(what) + ": " + ec.message();
        state.SkipWithError(message.c_str());
    }
    return !ec;
}

benchmark::internal::Benchmark* add(const std::string& name, void (*fn)(benchmark::State&),
                                    kind k) {
    benchmark::internal::Benchmark* b = benchmark::RegisterBenchmark(name.c_str(), fn);
    b->Unit(benchmark::kNanosecond);
    if (k == kind::one_round)
        b->Iterations(1)->UseManualTime();
    else if (smoke_flag)
        b->Iterations(3);
    else
        b->MinTime(0.1);
    return b;
}

family::family(const char* name, void (*register_all)()) {
    families().push_back({name, register_all});
}

void register_families() {
    for (const registered& f : families())
        f.register_all();
}

} // namespace vmem_bench

int main(int argc, char** argv) {
    // Our one flag; the rest is Google Benchmark's.
    int kept = 1;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--smoke") == 0)
            vmem_bench::smoke_flag = true;
        else
            argv[kept++] = argv[i];
    }
    argc = kept;
    vmem_bench::register_families();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    benchmark::RunSpecifiedBenchmarks();
    vmem_bench::leave_scene(); // before vmem's statics, whatever the version of vmem under test
    benchmark::Shutdown();
    return 0;
}
