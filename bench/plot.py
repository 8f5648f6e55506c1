#!/usr/bin/env python3
"""Draws issue 12's plots from vmem_bench's Google Benchmark JSON (--benchmark_out).

    plot.py --json RESULTS [--out-dir DIR]      (DIR: build/bench by default)

growth.png: the growth series (bench/growth.cpp, growth.series/<variant>/<count>): time per
element appended (the benchmark thread's CPU time, construction and destruction included) and
peak resident memory over the data, against the element count (log x), one line per variant;
each point is the median of that benchmark's repetitions.
faultin.png: faultin.commit_touch_1g/<variant> (bench/faultin.cpp): the median CPU time to commit
and first write 1 GiB, per variant, beside `resident` (the same write to memory already resident:
the ceiling), with the huge pages each obtained.
A plot whose benchmarks are absent from RESULTS is not drawn: a note says so. Needs matplotlib
(Debian: python3-matplotlib).
"""
import argparse
import os
import re
import statistics
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import summary  # noqa: E402  (bench/summary.py: reading the JSON, the names)

SERIES = re.compile(r"^growth\.series/([^/]+)/(\d+)$")
FAULTIN = "faultin.commit_touch_1g/"
FAULTIN_ORDER = ("resident", "plain", "prefault", "huge", "prefault_huge")


def median(values):
    return statistics.median(values) if values else None


def growth_plot(runs, path, plt):
    lines = {}  # variant -> {count: (ns per element, peak / data)}
    for name, run in runs.items():
        m = SERIES.match(name)
        if not m or run["error"]:
            continue
        c = run["counters"]
        ns = median(c.get("cpu_ns", []))
        peak = median(c.get("peak_over_data", []))
        lines.setdefault(m.group(1), {})[int(m.group(2))] = (ns, peak)
    if not lines:
        print(f"plot: no growth.series results; {os.path.basename(path)} not drawn")
        return False
    fig, (time_ax, peak_ax) = plt.subplots(1, 2, figsize=(13, 5))
    for variant in sorted(lines, key=lambda v: (not v.startswith("std_"), v)):
        points = sorted(lines[variant].items())
        counts = [n for n, _ in points]
        style = "--" if variant.startswith("std_") else "-"
        time_ax.plot(counts, [p[0] for _, p in points], style, marker="o", label=variant)
        peaks = [(n, p[1]) for n, p in points if p[1] is not None]
        if peaks:
            peak_ax.plot([n for n, _ in peaks], [p for _, p in peaks], style, marker="o",
                         label=variant)
    time_ax.set(xscale="log", yscale="log", xlabel="elements (uint64_t)",
                ylabel="ns per element (thread CPU time)",
                title="Appending with push_back: time per element")
    peak_ax.set(xscale="log", xlabel="elements (uint64_t)", ylabel="peak resident / data",
                title="Peak resident memory over the data")
    for ax in (time_ax, peak_ax):
        ax.grid(True, which="both", alpha=0.3)
    time_ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"plot: wrote {path}")
    return True


def faultin_plot(runs, path, plt):
    bars = []  # (variant, ms per GiB, huge GiB)
    for variant in FAULTIN_ORDER + tuple(sorted(
            n[len(FAULTIN):] for n in runs if n.startswith(FAULTIN) and
            n[len(FAULTIN):] not in FAULTIN_ORDER)):
        run = runs.get(FAULTIN + variant)
        if not run or run["error"] or not run["times"]:
            continue
        huge = median(run["counters"].get("huge_bytes", []))
        bars.append((variant, median(run["times"]) / 1e6, huge))
    if not bars:
        print(f"plot: no {FAULTIN}* results; {os.path.basename(path)} not drawn")
        return False
    fig, ax = plt.subplots(figsize=(8, 5))
    names = [b[0] for b in bars]
    values = [b[1] for b in bars]
    colors = ["tab:gray" if n == "resident" else "tab:blue" for n in names]
    ax.bar(names, values, color=colors)
    for i, (_, ms, huge) in enumerate(bars):
        label = f"{ms:.0f} ms"
        if huge is not None:
            label += f"\nhuge {huge / 2**30:.2f} GiB"
        ax.annotate(label, (i, ms), ha="center", va="bottom", fontsize="small")
    ax.set(ylabel="ms per GiB (thread CPU time, median)",
           title="Commit and first write of 1 GiB (resident: the ceiling)")
    ax.set_ylim(0, max(values) * 1.25)
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"plot: wrote {path}")
    return True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", required=True, help="vmem_bench's --benchmark_out file")
    parser.add_argument("--out-dir", default=os.path.join("build", "bench"))
    args = parser.parse_args()
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot: matplotlib is not installed (Debian: python3-matplotlib); no plots")
        return 1
    runs = summary.collect(summary.load(args.json))
    os.makedirs(args.out_dir, exist_ok=True)
    growth_plot(runs, os.path.join(args.out_dir, "growth.png"), plt)
    faultin_plot(runs, os.path.join(args.out_dir, "faultin.png"), plt)
    return 0


if __name__ == "__main__":
    sys.exit(main())
