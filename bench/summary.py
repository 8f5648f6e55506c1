#!/usr/bin/env python3
"""Turns vmem_bench's Google Benchmark JSON into issue 7's figures.

    summary.py --expected LIST --json RESULTS [--rc N] [--out summary.json]   the table
    summary.py --expected LIST --json RESULTS [--rc N] --smoke                pass/fail only

LIST is `vmem_bench --benchmark_list_tests` (every benchmark that should have run), RESULTS the
file written by --benchmark_out (a partial file, from a crash, is read as far as it goes), N the
exit status of vmem_bench. Each figure is a ratio of medians over the repetitions (the per-
repetition mean time of one iteration); the summary maps each name to {"baseline", "vmem",
"ratio", "goal", "unit": "ns", "met", ...}. The time is the benchmark thread's CPU time (user and
system): the machine is shared, and wall-clock time counts whatever else ran on its cores
(`ratio_wall` gives the wall-clock ratio too). overhead.release_stall is wall-clock by nature.
The last line printed is always `bench: N passed, M failed`: a benchmark fails if it reported an
error or never reported (a crash); one that this machine cannot run ("skipped: ..." errors) is
skipped, not failed. The exit status is 1 if any failed, else 0: goals missed are reported, not
failures (timings on a shared machine).
"""
import argparse
import json
import re
import statistics
import sys

# Google Benchmark appends its run options to a name: drop them to get ours back.
OPTION = re.compile(r"/(iterations|min_time|min_warmup_time|manual_time|real_time|repeats|threads)"
                    r"(:[^/]*)?")

# summary name -> (baseline benchmark, vmem benchmark, goal for vmem / baseline)
PAIRS = {}
for case in ("overhead.reserve_release", "overhead.commit_decommit_64k",
             "overhead.commit_decommit_2m", "overhead.protect", "overhead.protect.runs_131072"):
    PAIRS[case] = (case + "/raw", case + "/vmem", 1.05)              # the members
    PAIRS[case + ".free"] = (case + "/raw", case + "/vmem.free", 1.05)  # the free functions
PAIRS["overhead.registry_100k"] = ("overhead.registry_100k/few", "overhead.registry_100k/many",
                                   1.10)
PAIRS["overhead.committed_bytes"] = ("overhead.committed_bytes/one_run",
                                     "overhead.committed_bytes/many_runs", 1.10)
STALL_GOAL_NS = 1e6  # overhead.release_stall: B's worst wait <= 1 ms

# The building blocks' comparisons (issue 12). name -> a dict of
#   baseline, vmem   the benchmarks compared (their names without Google Benchmark's options)
#   metric           "cpu" (thread CPU time per iteration, ns), "wall" (wall-clock or manual
#                    time per iteration, ns) or the name of a counter the benchmarks report
#   ratio            "vmem/baseline" (lower is better), "baseline/vmem" (higher is better) or
#                    "vmem" (the vmem benchmark's own value, e.g. peak resident / data size)
#   goal             the ratio's goal (at most for "vmem/baseline" and "vmem", at least for
#                    "baseline/vmem"); None: reported, no goal
#   unit             of baseline and vmem ("ns", "bytes", "ratio", ...)
#   about            one line: what is compared
#   extra            optional {key: (benchmark, counter)}: more medians copied into the entry
# Each is a median over the repetitions of the same run; the files that add them say why.
COMPARISONS = {}
# --- growth (bench/growth.cpp) ---
# Times are the counters bench/growth.cpp reports per element: thread CPU time (page faults,
# commits and page zeroing run on the benchmark thread), with the wall-clock figures as extras.
for _n, _label in (("growth.vs_std_vector", "256 M"), ("growth.vs_std_vector_64m", "64 M")):
    COMPARISONS[_n] = {
        "baseline": _n + "/std_vector", "vmem": _n + "/stable_vector", "metric": "cpu_ns",
        "ratio": "baseline/vmem", "goal": 5.0 if _label == "256 M" else None, "unit": "ns",
        "about": f"appending {_label} uint64_t with push_back, construction and destruction "
                 "included, per element: std::vector's default growth / stable_vector's defaults",
        "extra": {"baseline_wall": (_n + "/std_vector", "ns"),
                  "vmem_wall": (_n + "/stable_vector", "ns"),
                  "vmem_huge_fraction": (_n + "/stable_vector", "huge_fraction")}}
COMPARISONS["growth.vs_limit"] = {
    "baseline": "growth.vs_limit/limit", "vmem": "growth.vs_std_vector/stable_vector",
    "metric": "fill_cpu_ns", "ratio": "vmem/baseline", "goal": 1.5, "unit": "ns",
    "about": "256 M uint64_t per element: stable_vector's construction and appends / the same "
             "push_backs into a stable_vector already committed and resident (no fault, no "
             "growth)",
    "extra": {"baseline_wall": ("growth.vs_limit/limit", "fill_ns"),
              "vmem_wall": ("growth.vs_std_vector/stable_vector", "fill_ns")}}
# The same with huge pages asked for (huge_pages::prefer): what the option reaches, beside the
# defaults.
COMPARISONS["growth.vs_std_vector.huge"] = dict(
    COMPARISONS["growth.vs_std_vector"], vmem="growth.vs_std_vector/stable_vector.huge",
    about="appending 256 M uint64_t with push_back, per element: std::vector's default growth / "
          "stable_vector with huge = prefer",
    extra={"vmem_wall": ("growth.vs_std_vector/stable_vector.huge", "ns"),
           "vmem_huge_fraction": ("growth.vs_std_vector/stable_vector.huge", "huge_fraction")})
COMPARISONS["growth.vs_limit.huge"] = dict(
    COMPARISONS["growth.vs_limit"], vmem="growth.vs_std_vector/stable_vector.huge",
    about="256 M uint64_t per element: stable_vector with huge = prefer / the same push_backs "
          "into memory already resident",
    extra={"vmem_wall": ("growth.vs_std_vector/stable_vector.huge", "fill_ns")})
COMPARISONS["growth.peak_rss"] = {
    "baseline": "growth.peak_rss/std_vector", "vmem": "growth.peak_rss/stable_vector",
    "metric": "peak_over_data", "ratio": "vmem", "goal": 1.02, "unit": "ratio",
    "about": "peak resident memory / data at 2^24 + 2^20 uint64_t (VmHWM, reset before the run)"}
# --- arena, ring, guard (bench/blocks.cpp) ---
# arena (bench/arena.cpp): times are thread CPU time per round (10 M allocations of 32 bytes and
# freeing them all) or per frame (64 MiB in 64 KiB..1 MiB pieces, one store a page, then reset).
_SMALL, _CYCLE = "arena.small_alloc/", "arena.reset_cycle/"
COMPARISONS["arena.small_alloc"] = {
    "baseline": _SMALL + "malloc", "vmem": _SMALL + "arena.keep_all", "metric": "cpu",
    "ratio": "baseline/vmem", "goal": 10.0, "unit": "ns",
    "about": "10 M malloc(32)+free against an arena whose reset() keeps its pages, as malloc's "
             "heap keeps its chunks (arena_default: the default options, whose reset gives back "
             "all past keep_committed and faults it in again)",
    "extra": {"arena_default": (_SMALL + "arena", "cpu"),
              "arena_throwing": (_SMALL + "arena.throwing", "cpu")}}
COMPARISONS["arena.small_alloc.vs_monotonic"] = {
    "baseline": _SMALL + "monotonic", "vmem": _SMALL + "arena", "metric": "cpu",
    "ratio": "vmem/baseline", "goal": 1.0, "unit": "ns",
    "about": "the same with the default options against a default-constructed "
             "std::pmr::monotonic_buffer_resource released each round (both give memory back); "
             "monotonic_buffer / arena_keep_all: both over memory kept resident",
    "extra": {"monotonic_buffer": (_SMALL + "monotonic.buffer", "cpu"),
              "arena_keep_all": (_SMALL + "arena.keep_all", "cpu")}}
_CYCLE_EXTRA = {"resident_arena": (_CYCLE + "arena", "resident_between_frames"),
                "resident_never_give_back": (_CYCLE + "never_give_back",
                                             "resident_between_frames"),
                "resident_malloc_each_frame": (_CYCLE + "malloc_each_frame",
                                               "resident_between_frames")}
for _v in ("keep_0", "keep_16m", "keep_64m", "prefault", "step_64k", "step_4m", "huge"):
    _CYCLE_EXTRA[_v] = (_CYCLE + "arena." + _v, "cpu")
_CYCLE_EXTRA["huge_bytes"] = (_CYCLE + "arena.huge", "huge_bytes")
COMPARISONS["arena.reset_cycle"] = {
    "baseline": _CYCLE + "never_give_back", "vmem": _CYCLE + "arena", "metric": "cpu",
    "ratio": "vmem/baseline", "goal": None, "unit": "ns",
    "about": "a 64 MiB frame from an arena with the default options, reset each frame, against a "
             "buffer never given back; resident_*: bytes held between frames; keep_*, prefault, "
             "step_*, huge: the frame's time with those options (what the defaults come from)",
    "extra": _CYCLE_EXTRA}
COMPARISONS["arena.reset_cycle.vs_malloc"] = {
    "baseline": _CYCLE + "malloc_each_frame", "vmem": _CYCLE + "arena", "metric": "cpu",
    "ratio": "vmem/baseline", "goal": 1.0, "unit": "ns",
    "about": "the same arena against malloc(64 MiB) + free each frame",
    "extra": {"resident_arena": (_CYCLE + "arena", "resident_between_frames"),
              "resident_malloc_each_frame": (_CYCLE + "malloc_each_frame",
                                             "resident_between_frames")}}
# ring.wrap.<size>: 1 GiB through vmem::ring_buffer against a hand-written ring that copies a
# wrapped record in two memcpy calls, same protocol and capacity; wall clock of the whole run.
for _size in ("1k", "4k", "16k", "64k"):
    COMPARISONS["ring.wrap." + _size] = {
        "baseline": "ring.wrap/split/" + _size, "vmem": "ring.wrap/vmem/" + _size,
        "metric": "wall", "ratio": "vmem/baseline", "goal": 1.0, "unit": "ns",
        "about": f"1 GiB in {_size} records, producer and consumer threads: ring_buffer (one "
                 "memcpy a record each way) / a ring splitting wrapped records",
        "extra": {"cpu": ("ring.wrap/vmem/" + _size, "cpu_ns"),
                  "cpu_split": ("ring.wrap/split/" + _size, "cpu_ns"),
                  "wraps": ("ring.wrap/vmem/" + _size, "wraps"),
                  "wraps_split": ("ring.wrap/split/" + _size, "wraps"),
                  "copies_per_record": ("ring.wrap/vmem/" + _size, "copies_per_record"),
                  "copies_per_record_split": ("ring.wrap/split/" + _size,
                                              "copies_per_record")}}
# guard.stacks: 10 000 guarded 64 KiB stacks created and destroyed: time per stack, and the kernel
# mappings holding them while all are alive (vmem's guards are mapping-free on Linux 6.13+).
COMPARISONS["guard.stacks"] = {
    "baseline": "guard.stacks/prot_none", "vmem": "guard.stacks/vmem", "metric": "wall",
    "ratio": "vmem/baseline", "goal": 1.0, "unit": "ns",
    "about": "create + destroy of a guarded 64 KiB stack: vmem::guarded_stack / mmap + mprotect "
             "PROT_NONE guard",
    "extra": {"madv_guard": ("guard.stacks/madv_guard", "wall"),
              "guard_pages_free": ("guard.stacks/vmem", "guard_pages_free")}}
COMPARISONS["guard.stacks.mappings"] = {
    "baseline": "guard.stacks/prot_none", "vmem": "guard.stacks/vmem", "metric": "mappings",
    "ratio": "vmem/baseline", "goal": 0.5, "unit": "maps",
    "about": "kernel mappings holding 10 000 live guarded stacks (/proc/self/maps)",
    "extra": {"vm_size": ("guard.stacks/vmem", "vm_size"),
              "vm_size_prot_none": ("guard.stacks/prot_none", "vm_size")}}
# --- fault-in and decommit (bench/faultin.cpp) ---
# faultin: the thread CPU time of commit + memset of 1 GiB (the counter cpu_ns). Every part of a
# fault-in runs on the calling thread (the faults, the page zeroing, MADV_POPULATE_WRITE, THP
# compaction), so its CPU time counts all of it, while wall-clock time also counts whatever else
# ran on the shared cores (the wall-clock medians are extras). Each timed round follows an
# untimed one of the same kind, so that a VM host's reclaim of free memory does not decide the
# median (bench/faultin.cpp); first_* is what that first round cost. The goal (within 2x of the
# ceiling) is for the best option, prefault_huge; the others are reported without one.
_FAULTIN = "faultin.commit_touch_1g/"
for _v, _goal in (("plain", None), ("prefault", None), ("huge", None), ("prefault_huge", 2.0)):
    COMPARISONS["faultin.commit_touch_1g." + _v] = {
        "baseline": _FAULTIN + "resident", "vmem": _FAULTIN + _v, "metric": "cpu_ns",
        "ratio": "vmem/baseline", "goal": _goal, "unit": "ns",
        "about": f"commit + first memset of 1 GiB ({_v}) / memset of 1 GiB already resident",
        "extra": {"baseline_wall": (_FAULTIN + "resident", "wall"),
                  "vmem_wall": (_FAULTIN + _v, "wall"),
                  "huge_bytes": (_FAULTIN + _v, "huge_bytes"),
                  "baseline_huge_bytes": (_FAULTIN + "resident", "huge_bytes"),
                  "first_cpu": (_FAULTIN + _v, "first_cpu_ns"),
                  "first_wall": (_FAULTIN + _v, "first_ns")}}
# decommit: thread CPU time of one give-back of 64 MiB (all kernel work on the calling thread),
# each strategy against vmem's decommit; no goal: the counters (resident, charge, contents) say
# what each one leaves, and the time alone does not choose.
_DECOMMIT = "decommit.strategies/"
_LEAVES = {"resident_bytes": "resident_bytes", "charged_bytes": "charged_bytes",
           "faults": "faults", "old_pages": "old_pages", "zero_pages": "zero_pages"}
for _v in ("map_fixed", "dontneed_mprotect", "dontneed", "free", "vmem_discard"):
    COMPARISONS["decommit.strategies." + _v] = {
        "baseline": _DECOMMIT + "vmem_decommit", "vmem": _DECOMMIT + _v, "metric": "cpu",
        "ratio": "vmem/baseline", "goal": None, "unit": "ns",
        "about": f"giving back 64 MiB committed and touched: {_v} / vmem decommit",
        "extra": dict({"baseline_wall": (_DECOMMIT + "vmem_decommit", "wall"),
                       "vmem_wall": (_DECOMMIT + _v, "wall")},
                      **{k: (_DECOMMIT + _v, c) for k, c in _LEAVES.items()})}
COMPARISONS["decommit.vmem_vs_raw"] = {
    "baseline": _DECOMMIT + "map_fixed", "vmem": _DECOMMIT + "vmem_decommit", "metric": "cpu",
    "ratio": "vmem/baseline", "goal": 1.05, "unit": "ns",
    "about": "giving back 64 MiB: vmem decommit / the mmap(MAP_FIXED, PROT_NONE) it makes",
    "extra": {"baseline_wall": (_DECOMMIT + "map_fixed", "wall"),
              "vmem_wall": (_DECOMMIT + "vmem_decommit", "wall")}}

# The fields of a --benchmark_out entry that are Google Benchmark's, not counters.
COUNTERS_NOT = {"family_index", "per_family_instance_index", "repetitions", "repetition_index",
                "threads", "iterations", "real_time", "cpu_time"}

TO_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def base_name(name):
    return OPTION.sub("", name)


def load(path):
    """The benchmarks of a --benchmark_out file, complete or cut short."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return []
    try:
        return json.loads(text).get("benchmarks", [])
    except ValueError:
        pass
    # Cut short (the program died): close the list after the last whole entry.
    end = len(text)
    for _ in range(200):
        end = text.rfind("}", 0, end)
        if end < 0:
            break
        try:
            return json.loads(text[:end + 1] + "]}").get("benchmarks", [])
        except ValueError:
            continue
    return []


def collect(entries):
    """name -> {"times": [CPU ns per iteration, one per repetition], "wall": [the same, wall-clock],
    "counters": {k: [...]}, "error": message or None}"""
    runs = {}
    for e in entries:
        if e.get("run_type", "iteration") != "iteration":
            continue  # Google Benchmark's own aggregates; we take our own medians
        name = base_name(e.get("run_name") or e.get("name", ""))
        run = runs.setdefault(name, {"times": [], "wall": [], "counters": {}, "error": None})
        if e.get("error_occurred"):
            run["error"] = e.get("error_message", "error")
            continue
        run["times"].append(e["cpu_time"] * TO_NS[e.get("time_unit", "ns")])
        run["wall"].append(e["real_time"] * TO_NS[e.get("time_unit", "ns")])
        for key, value in e.items():
            if key in COUNTERS_NOT or not isinstance(value, (int, float)) or \
                    isinstance(value, bool):
                continue
            run["counters"].setdefault(key, []).append(float(value))
    return runs


def median(values):
    return statistics.median(values) if values else None


def summarise(runs):
    summary = {}
    for name, (base, mine, goal) in PAIRS.items():
        b, v = runs.get(base), runs.get(mine)
        entry = {"baseline": None, "vmem": None, "ratio": None, "goal": goal, "unit": "ns"}
        if b and v and b["times"] and v["times"]:
            entry["baseline"] = median(b["times"])
            entry["vmem"] = median(v["times"])
            entry["ratio"] = entry["vmem"] / entry["baseline"]
            entry["met"] = entry["ratio"] <= goal
            entry["clock"] = "thread CPU time"
            entry["ratio_wall"] = median(v["wall"]) / median(b["wall"])
            entry["repetitions"] = min(len(b["times"]), len(v["times"]))
            for counter in ("runs", "reservations"):
                if counter in v["counters"]:
                    entry[counter] = median(v["counters"][counter])
        else:
            why = [r["error"] for r in (b, v) if r and r["error"]]
            skipped = why and all(w.startswith("skipped:") for w in why)
            entry["skipped" if skipped else "missing"] = "; ".join(why) or "did not run"
        summary[name] = entry
    # The kernel's share of overhead.registry_100k: the same calls on as many plain mappings.
    reg = summary["overhead.registry_100k"]
    raw_few, raw_many = runs.get("overhead.registry_100k/raw.few"), \
        runs.get("overhead.registry_100k/raw.many")
    if raw_few and raw_many and raw_few["times"] and raw_many["times"]:
        reg["raw_few"] = median(raw_few["times"])
        reg["raw_many"] = median(raw_many["times"])
        reg["raw_ratio"] = reg["raw_many"] / reg["raw_few"]
    # overhead.release_stall: per round, B's worst call during the release; median over rounds.
    for name, variant in (("overhead.release_stall", "vmem"),
                          ("overhead.release_stall.lookup", "vmem.lookup")):
        run = runs.get("overhead.release_stall/" + variant)
        raw = runs.get("overhead.release_stall/raw")
        chunked = runs.get("overhead.release_stall/raw.chunked")
        entry = {"baseline": None, "vmem": None, "ratio": None, "goal": 1.0, "unit": "ns",
                 "ratio_is": "vmem / 1 ms: thread B's worst wait (a call's wall-clock time less "
                             "the time B was runnable but not running) while thread A released a "
                             "fragmented reservation, the median over rounds of each round's "
                             "worst; baseline: B's median call with no release going on; raw: the "
                             "same with the system calls on both sides (the kernel's own stall); "
                             "raw_chunked: raw with A releasing in 2 MiB munmaps"}
        if run and run["counters"].get("worst_ns"):
            c = run["counters"]
            entry["baseline"] = median(c["idle_median_ns"])
            entry["vmem"] = median(c["worst_ns"])
            entry["ratio"] = entry["vmem"] / STALL_GOAL_NS
            entry["met"] = entry["ratio"] <= entry["goal"]
            entry["worst_of_all_rounds"] = max(c["worst_ns"])
            entry["worst_wall"] = median(c["worst_wall_ns"])
            entry["release"] = median(c["release_ns"])
            entry["bytes"] = median(c["bytes"])
            entry["rounds"] = len(c["worst_ns"])
            # The kernel's own stall: munmap holds the lock of the address space that mprotect and
            # mmap need, whoever calls them; and what releasing in pieces would leave of it.
            for key, other in (("raw", raw), ("raw_chunked", chunked)):
                if other and other["counters"].get("worst_ns"):
                    entry[key] = median(other["counters"]["worst_ns"])
        else:
            entry["skipped" if run and run["error"] and run["error"].startswith("skipped:")
                  else "missing"] = (run and run["error"]) or "did not run"
        summary[name] = entry
    for name, c in COMPARISONS.items():
        summary[name] = compare(runs, c)
    return summary


def metric_values(run, metric):
    if run is None:
        return []
    if metric == "cpu":
        return run["times"]
    if metric == "wall":
        return run["wall"]
    return run["counters"].get(metric, [])


def compare(runs, c):
    """One entry of COMPARISONS, measured."""
    b, v = runs.get(c["baseline"]), runs.get(c["vmem"])
    entry = {"baseline": None, "vmem": None, "ratio": None, "goal": c["goal"],
             "unit": c.get("unit", "ns"), "ratio_is": c["ratio"], "about": c.get("about", "")}
    bv, vv = metric_values(b, c["metric"]), metric_values(v, c["metric"])
    if bv and vv:
        entry["baseline"], entry["vmem"] = median(bv), median(vv)
        if c["ratio"] == "vmem":
            entry["ratio"] = entry["vmem"]
        elif c["ratio"] == "baseline/vmem":
            entry["ratio"] = entry["baseline"] / entry["vmem"] if entry["vmem"] else None
        else:
            entry["ratio"] = entry["vmem"] / entry["baseline"] if entry["baseline"] else None
        if entry["ratio"] is not None and c["goal"] is not None:
            entry["met"] = (entry["ratio"] >= c["goal"] if c["ratio"] == "baseline/vmem"
                            else entry["ratio"] <= c["goal"])
        entry["repetitions"] = min(len(bv), len(vv))
        for key, (bench, counter) in c.get("extra", {}).items():
            values = metric_values(runs.get(bench), counter)
            if values:
                entry[key] = median(values)
    else:
        why = [r["error"] for r in (b, v) if r and r["error"]]
        skipped = why and all(w.startswith("skipped:") for w in why)
        entry["skipped" if skipped else "missing"] = "; ".join(why) or "did not run"
    return entry


def duration(ns):
    if ns is None:
        return "-"
    for unit, scale in (("ms", 1e6), ("us", 1e3), ("ns", 1.0)):
        if ns >= scale or unit == "ns":
            return f"{ns / scale:.2f} {unit}"


def amount(value, unit):
    if unit == "ns":
        return duration(value)
    if value is None:
        return "-"
    if unit == "bytes":
        for name, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10), ("B", 1)):
            if value >= scale or name == "B":
                return f"{value / scale:.2f} {name}"
    return f"{value:.3g} {unit}" if unit != "ratio" else f"{value:.3f}"


def table(summary):
    rows = [("name", "baseline", "vmem", "ratio", "goal", "met?")]
    for name, e in summary.items():
        goal = "-" if e["goal"] is None else \
            (">= " if e.get("ratio_is") == "baseline/vmem" else "<= ") + f"{e['goal']:.2f}"
        if e["ratio"] is None:
            rows.append((name, "-", "-", "-", goal, "skipped" if "skipped" in e else "MISSING"))
            continue
        met = "-" if e["goal"] is None else ("yes" if e["met"] else "NO")
        rows.append((name, amount(e["baseline"], e["unit"]), amount(e["vmem"], e["unit"]),
                     f"{e['ratio']:.3f}", goal, met))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print("medians of thread CPU time per iteration; release_stall: thread B's worst wait "
          "(wall-clock less runqueue delay; goal: 1 ms)")
    for r in rows:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(r, widths))))


def markdown(summary, path):
    """The table as Markdown (for the README): name, baseline, vmem, ratio, goal, met."""
    out = ["| comparison | baseline | vmem | ratio | goal | met |", "|---|---|---|---|---|---|"]
    for name, e in summary.items():
        goal = "–" if e["goal"] is None else \
            ("≥ " if e.get("ratio_is") == "baseline/vmem" else "≤ ") + f"{e['goal']:g}"
        if e["ratio"] is None:
            out.append(f"| `{name}` | – | – | – | {goal} | "
                       f"{'skipped' if 'skipped' in e else 'missing'} |")
            continue
        unit = e.get("unit", "ns")
        if name.startswith("overhead.release_stall"):
            unit = "ns"
        met = "–" if e["goal"] is None else ("yes" if e.get("met") else "**no**")
        out.append(f"| `{name}` | {amount(e['baseline'], unit)} | {amount(e['vmem'], unit)} | "
                   f"{e['ratio']:.3g} | {goal} | {met} |")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--expected", required=True)
    parser.add_argument("--json", required=True)
    parser.add_argument("--rc", type=int, default=0)
    parser.add_argument("--out")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--markdown", help="also write the table as Markdown to this file")
    args = parser.parse_args()

    with open(args.expected, encoding="utf-8") as f:
        expected = [base_name(line.strip()) for line in f if line.strip()]
    runs = collect(load(args.json))

    passed, failed, skipped = 0, [], []
    for name in expected:
        run = runs.get(name)
        if run is None:
            failed.append(f"{name}: never reported (crashed?)")
        elif run["error"] and run["error"].startswith("skipped:"):
            skipped.append(f"{name}: {run['error']}")
        elif run["error"]:
            failed.append(f"{name}: {run['error']}")
        elif not run["times"]:
            failed.append(f"{name}: no result")
        else:
            passed += 1
    if args.rc != 0 and not failed:
        failed.append(f"vmem_bench exited with status {args.rc}")

    if not args.smoke:
        summary = summarise(runs)
        table(summary)
        if args.out:
            with open(args.out, "w", encoding="utf-8") as f:
                json.dump(summary, f, indent=2)
                f.write("\n")
            print(f"wrote {args.out}")
        if args.markdown:
            markdown(summary, args.markdown)
            print(f"wrote {args.markdown}")
    for line in skipped:
        print("bench: " + line)
    for line in failed:
        print("bench: FAILED " + line)
    print(f"bench: {passed} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
