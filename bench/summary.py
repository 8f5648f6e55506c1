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
# --- arena, ring, guard (bench/blocks.cpp) ---
# --- fault-in and decommit (bench/faultin.cpp) ---

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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--expected", required=True)
    parser.add_argument("--json", required=True)
    parser.add_argument("--rc", type=int, default=0)
    parser.add_argument("--out")
    parser.add_argument("--smoke", action="store_true")
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
    for line in skipped:
        print("bench: " + line)
    for line in failed:
        print("bench: FAILED " + line)
    print(f"bench: {passed} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
