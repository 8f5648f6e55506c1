// vmem-info: prints what vmem finds on this machine (vmem::query_capabilities), as a table for
// people or, with --json, as one JSON object for scripts. What an engine developer runs first on a
// new machine or container.
#include <vmem/system.hpp>
#include <vmem/version.hpp>

#include <climits>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <string>

namespace {

const char* usage = "usage: vmem-info [--json] [--help]\n"
                    "Prints the virtual-memory facts vmem finds on this machine.\n"
                    "  --json  one JSON object, every field of vmem::capabilities by its name\n"
                    "  --help  this text\n";

const char* name(vmem::commit_accounting a) {
    switch (a) {
    case vmem::commit_accounting::strict:
        return "strict";
    case vmem::commit_accounting::heuristic:
        return "heuristic";
    case vmem::commit_accounting::none:
        return "none";
    }
    return "unknown";
}

const char* name(vmem::double_mapping_method m) {
    switch (m) {
    case vmem::double_mapping_method::none:
        return "none";
    case vmem::double_mapping_method::memfd:
        return "memfd";
    case vmem::double_mapping_method::shm_anon:
        return "shm_anon";
    case vmem::double_mapping_method::shm_open:
        return "shm_open";
    case vmem::double_mapping_method::placeholders:
        return "placeholders";
    case vmem::double_mapping_method::file_mapping_retry:
        return "file_mapping_retry";
    }
    return "unknown";
}

const char* name(vmem::thp_mode m) {
    switch (m) {
    case vmem::thp_mode::unavailable:
        return "unavailable";
    case vmem::thp_mode::never:
        return "never";
    case vmem::thp_mode::madvise:
        return "madvise";
    case vmem::thp_mode::always:
        return "always";
    }
    return "unknown";
}

// "4 KiB", "2 MiB", "1 GiB": the largest binary unit the size is a whole number of; else bytes.
std::string human(std::size_t bytes) {
    static const char* const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes == 0)
        return "0";
    std::size_t value = bytes;
    int unit = 0;
    while (unit < 6 && value % 1024 == 0) {
        value /= 1024;
        ++unit;
    }
    return std::to_string(value) + " " + units[unit];
}

const char* yes_no(bool b) {
    return b ? "yes" : "no";
}

void row(const char* field, const std::string& value, const char* meaning) {
    std::printf("  %-30s %-18s %s\n", field, value.c_str(), meaning);
}

void print_table(const vmem::capabilities& c) {
    std::printf("vmem %s: what this machine offers (vmem::query_capabilities())\n\n",
                VMEM_VERSION_STRING);
    std::printf("  %-30s %-18s %s\n", "field", "value", "meaning");
    std::printf("pages\n");
    row("page_size", human(c.page_size), "unit of commit, decommit and protect");
    row("allocation_granularity", human(c.allocation_granularity),
        "alignment of every reservation's base");
    row("native_aligned_reserve", yes_no(c.native_aligned_reserve),
        "an aligned reserve is one system call");
    std::string bits = std::to_string(c.address_bits);
    if (c.address_bits < sizeof(std::size_t) * CHAR_BIT)
        bits += " (" + human(std::size_t{1} << c.address_bits) + ")";
    row("address_bits", bits, "user addresses are below 2^bits");
    std::printf("commit\n");
    row("accounting", name(c.accounting), "how commit is charged");
    row("commit_charged_when_writable", yes_no(c.commit_charged_when_writable),
        "charged only once writable");
    row("write_execute", yes_no(c.write_execute), "read_write_execute allowed");
    row("decommit_zero_fills", yes_no(c.decommit_zero_fills), "recommitted pages read zero");
    row("decommit_returns_charge", yes_no(c.decommit_returns_charge),
        "decommit gives the charge back at once");
    row("discard_zero_fills", yes_no(c.discard_zero_fills), "discarded pages read zero");
    std::printf("huge pages\n");
    row("huge_page_size", c.huge_page_size != 0 ? human(c.huge_page_size) : "none",
        "the default huge page size");
    std::string sizes;
    for (std::size_t size : c.huge_page_sizes)
        if (size != 0)
            sizes += (sizes.empty() ? "" : ", ") + human(size);
    row("huge_page_sizes", sizes.empty() ? "none" : sizes, "every huge page size offered");
    row("huge_pages_free", std::to_string(c.huge_pages_free), "free pages in the explicit pool");
    row("transparent_huge_pages", name(c.transparent_huge_pages), "Linux THP mode");
    row("large_page_privilege", yes_no(c.large_page_privilege),
        "holds SeLockMemoryPrivilege (Windows)");
    row("huge_pages_usable", yes_no(c.huge_pages_usable), "huge_pages::prefer gets huge pages now");
    std::printf("mappings\n");
    row("max_map_count", c.max_map_count != 0 ? std::to_string(c.max_map_count) : "no limit",
        "the kernel's limit on mappings");
    row("map_count", c.map_count != 0 ? std::to_string(c.map_count) : "not known",
        "this process's mappings now");
    row("guard_pages_free", yes_no(c.guard_pages_free), "guard() costs no kernel mapping");
    row("query_sees_committed_none", yes_no(c.query_sees_committed_none),
        "query() tells committed+none from reserved");
    std::printf("features\n");
    row("fork_control", yes_no(c.fork_control), "fork_policy other than inherit");
    row("page_locking", yes_no(c.page_locking), "lock() and unlock()");
    row("placeholders", yes_no(c.placeholders), "Windows VirtualAlloc2 and placeholders");
    row("map_fixed_noreplace", yes_no(c.map_fixed_noreplace), "Linux MAP_FIXED_NOREPLACE");
    row("populate_write", yes_no(c.populate_write), "Linux MADV_POPULATE_WRITE");
    row("process_madvise", yes_no(c.process_madvise), "Linux process_madvise");
    row("double_mapping", name(c.double_mapping), "how ring_buffer maps its pages twice");
}

void print_json(const vmem::capabilities& c) {
    // Every line but the last ends with a comma; the last is written out below.
    const auto number = [](const char* key, std::size_t value) {
        std::printf("  \"%s\": %zu,\n", key, value);
    };
    const auto boolean = [](const char* key, bool value) {
        std::printf("  \"%s\": %s,\n", key, value ? "true" : "false");
    };
    const auto text = [](const char* key, const char* value) {
        std::printf("  \"%s\": \"%s\",\n", key, value);
    };
    std::printf("{\n");
    text("vmem_version", VMEM_VERSION_STRING);
    number("page_size", c.page_size);
    number("allocation_granularity", c.allocation_granularity);
    boolean("native_aligned_reserve", c.native_aligned_reserve);
    text("accounting", name(c.accounting));
    boolean("commit_charged_when_writable", c.commit_charged_when_writable);
    boolean("write_execute", c.write_execute);
    number("huge_page_size", c.huge_page_size);
    std::printf("  \"huge_page_sizes\": [");
    std::size_t printed = 0;
    for (std::size_t size : c.huge_page_sizes)
        if (size != 0)
            std::printf("%s%zu", printed++ == 0 ? "" : ", ", size);
    std::printf("],\n");
    number("huge_pages_free", c.huge_pages_free);
    text("transparent_huge_pages", name(c.transparent_huge_pages));
    boolean("large_page_privilege", c.large_page_privilege);
    boolean("huge_pages_usable", c.huge_pages_usable);
    number("max_map_count", c.max_map_count);
    number("map_count", c.map_count);
    number("address_bits", c.address_bits);
    boolean("decommit_zero_fills", c.decommit_zero_fills);
    boolean("decommit_returns_charge", c.decommit_returns_charge);
    boolean("discard_zero_fills", c.discard_zero_fills);
    boolean("guard_pages_free", c.guard_pages_free);
    boolean("query_sees_committed_none", c.query_sees_committed_none);
    boolean("fork_control", c.fork_control);
    boolean("page_locking", c.page_locking);
    boolean("placeholders", c.placeholders);
    boolean("map_fixed_noreplace", c.map_fixed_noreplace);
    boolean("populate_write", c.populate_write);
    text("double_mapping", name(c.double_mapping));
    std::printf("  \"process_madvise\": %s\n}\n", c.process_madvise ? "true" : "false");
}

} // namespace

int main(int argc, char** argv) {
    bool json = false;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
            std::fputs(usage, stdout);
            return 0;
        } else {
            std::fprintf(stderr, "vmem-info: unknown argument '%s'\n%s", argv[i], usage);
            return 2;
        }
    }
    const vmem::capabilities c = vmem::query_capabilities();
    if (json)
        print_json(c);
    else
        print_table(c);
    return std::fflush(stdout) == 0 ? 0 : 1;
}
