"""Edge figures of the generated service: oversized, pathological and lying requests sent to a
real server, for the template before and after a change (bench/edge_driver.py measures).

    uv run python -m bench.edge_figures [--baseline 0d8844e] [--rounds 5]

Renders the working tree ("after") and the baseline commit ("before", release 1.1.0 unless
told otherwise), SQLite variant, runs the driver inside each, one after the other on the same
machine, and prints the figures side by side with their ratios; writes bench/results/edge/.
"""

# A command-line tool: printing is its output, and it runs the projects it rendered.
# ruff: noqa: T201

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness_benchmark import machine, save_results
from bench.serving_benchmark import BENCH_DIR, extract_commit, render_variants, run_driver
from tests.support.rendering import snapshot_working_tree

RESULTS_DIR = BENCH_DIR / "results" / "edge"
BASELINE_COMMIT = "0d8844e"  # release 1.1.0, before the limits at the edge


def run(baseline: str, rounds: int) -> dict[str, Any]:
    figures = {}
    with tempfile.TemporaryDirectory(prefix="edge-figures-") as scratch:
        root = Path(scratch)
        versions = {
            "before": extract_commit(baseline, root / "before-template"),
            "after": snapshot_working_tree(root / "after-template"),
        }
        for name, template in versions.items():
            project = render_variants(template, root / name, ["sqlite"])["sqlite"]
            figures[name] = run_driver(project, "edge_driver.py", {"rounds": rounds})
            print(f"{name}: measured", flush=True)
    return {
        "baseline": baseline,
        "rounds": rounds,
        "figures": figures,
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d"),
    }


COLUMNS = (
    "request",
    "before",
    "after",
    "answer time before/after",
    "/health/live before",
    "/health/live after",
    "before/after",
)


def seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def ratio(before: float, after: float) -> str:
    return f"{before / after:.0f}x" if after > 0 else "-"


def report(results: dict[str, Any]) -> str:
    before, after = results["figures"]["before"], results["figures"]["after"]
    lines = [
        (
            f"Baseline {results['baseline']} (before) against the working tree (after), "
            f"median of {results['rounds']} rounds; `/health/live` is the worst answer of a "
            "probe asking every 5 ms meanwhile."
        ),
        "",
        f"| {' | '.join(COLUMNS)} |",
        "|---" * len(COLUMNS) + "|",
    ]
    for name, now in after.items():
        then = before[name]
        status = f"{then['status']}, {then['response_bytes']:,} B, {seconds(then['seconds'])}"
        status_after = f"{now['status']}, {now['response_bytes']:,} B, {seconds(now['seconds'])}"
        if "health_worst_seconds" in now:
            health = (then["health_worst_seconds"], now["health_worst_seconds"])
            probe = [seconds(health[0]), seconds(health[1]), ratio(*health)]
        else:
            probe = ["-", "-", "-"]
        cells = [name, status, status_after, ratio(then["seconds"], now["seconds"]), *probe]
        lines.append(f"| {' | '.join(cells)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE_COMMIT, help="commit to compare with")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per request; median counts")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    results = run(args.baseline, args.rounds)
    save_results(results, report(results), args.output, None, "")


if __name__ == "__main__":
    main()
