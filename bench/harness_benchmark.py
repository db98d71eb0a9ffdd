"""Benchmark the generated test harness against the guide's fixtures and the no-isolation floor.

    uv run --group bench python -m bench.harness_benchmark

Renders the template (working tree) once per schema size K, adds K extra tables, generates N
tests that each create a user through `async_client` and read it back, and runs the same tests
under each fixture set, alternating variants within each round so that all of them share the
machine's conditions. Reports the median ms per test, both wall-clock (what a developer waits)
and CPU time of the pytest process (what the work costs, steadier on a shared machine), and
writes the tables, JSON and a PNG plot.
"""

# A command-line tool: printing is its output, and it runs pytest on projects it rendered.
# ruff: noqa: T201, S603

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from tests.support.rendering import (
    AIOSQLITE_URL,
    DEFAULT_ANSWERS,
    IN_FILE_ORDER,
    project_env,
    render,
    snapshot_working_tree,
)
from tests.update.repository import RELEASES, extract_commit

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
PLUGINS_PACKAGE = "bench_plugins"
CLOCKS = {"wall": "wall-clock", "cpu": "CPU time"}


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    plugin: str
    env: dict[str, str] = field(default_factory=dict)
    # Runs in the project rendered from the `--baseline` release instead of the working tree.
    baseline: bool = False


GUIDE = Variant(
    "a", "guide's fixtures (engine + create_all per test)", "bench_plugins.guide_fixtures"
)
HARNESS = Variant("b", "harness as shipped (inline driver)", "tests.harness.fixtures")
FLOOR = Variant("c", "floor: no isolation (inline driver)", "bench_plugins.floor_fixtures")
HARNESS_AIOSQLITE = Variant(
    "b'", "harness on aiosqlite", "tests.harness.fixtures", {"TEST_DATABASE_URL": AIOSQLITE_URL}
)
FLOOR_AIOSQLITE = Variant(
    "c'", "floor: no isolation (aiosqlite)", FLOOR.plugin, {"TEST_DATABASE_URL": AIOSQLITE_URL}
)
VARIANTS = (GUIDE, HARNESS, FLOOR, HARNESS_AIOSQLITE, FLOOR_AIOSQLITE)


def baseline_variant(ref: str) -> Variant:
    return Variant("b0", f"harness of {ref} (inline driver)", HARNESS.plugin, baseline=True)


EXTRA_TABLE = """

class ExtraTable{index}(Base):
    __tablename__ = "extra_{index:03d}"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    amount: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
"""

EXTRA_TABLES_HEADER = '''"""Extra tables, so the schema has the size of a grown service."""

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from src.database import Base
'''

BENCH_TEST = """

async def test_create_and_read_user_{index}(async_client: AsyncClient) -> None:
    created = await async_client.post(USERS, json={{"email": "{email}", "name": "User {index}"}})
    assert created.status_code == 201, created.text
    read = await async_client.get(f"{{USERS}}{{created.json()['id']}}")
    assert read.status_code == 200
    assert read.json()["email"] == "{email}"
"""

BENCH_TESTS_HEADER = """from httpx import AsyncClient

USERS = "/api/v1/users/"
"""


def prepare_project(template: Path, destination: Path, tables: int, tests: int) -> Path:
    """A rendered project with `tables` extra tables, `tests` generated tests and our plugins."""
    project = render(template, destination, DEFAULT_ANSWERS)
    extra = EXTRA_TABLES_HEADER + "".join(EXTRA_TABLE.format(index=i) for i in range(tables))
    (project / "src" / "extra_tables.py").write_text(extra, encoding="utf-8")
    main = project / "src" / "main.py"
    main.write_text(
        main.read_text(encoding="utf-8") + "\nimport src.extra_tables  # noqa: E402, F401\n",
        encoding="utf-8",
    )
    suite = project / "bench_tests"
    suite.mkdir()
    body = BENCH_TESTS_HEADER + "".join(
        BENCH_TEST.format(index=i, email=f"user{i}@example.com") for i in range(tests)
    )
    (suite / "test_create_and_read.py").write_text(body, encoding="utf-8")
    plugins = project / PLUGINS_PACKAGE
    plugins.mkdir()
    (plugins / "__init__.py").write_text("", encoding="utf-8")
    for name in ("guide_fixtures.py", "floor_fixtures.py", "timing_plugin.py"):
        shutil.copy(BENCH_DIR / name, plugins / name)
    return project


def time_variant(project: Path, variant: Variant, expected_tests: int) -> dict[str, float]:
    """Wall-clock and CPU seconds of the test loop of one pytest run under `variant`."""
    result_file = project / "bench-result.json"
    env = project_env(PYTHONPATH=str(project), BENCH_RESULT=str(result_file), **variant.env)
    command = [sys.executable, "-m", "pytest", "bench_tests", "-q", "-p", "no:cacheprovider"]
    command += [IN_FILE_ORDER, "-p", "no:xdist", "-p", f"{PLUGINS_PACKAGE}.timing_plugin"]
    command += ["-p", variant.plugin]
    completed = subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{variant.label} failed:\n{completed.stdout}\n{completed.stderr}")
    result = json.loads(result_file.read_text(encoding="utf-8"))
    if result["tests"] != expected_tests or result["failed"]:
        raise RuntimeError(f"{variant.label}: unexpected result {result}")
    return {"wall": result["seconds"], "cpu": result["cpu_seconds"]}


def machine() -> dict[str, str]:
    versions = {
        name: metadata.version(name)
        for name in ("sqlalchemy", "aiosqlite", "fastapi", "httpx", "pytest", "pytest-asyncio")
    }
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": str(os.cpu_count()),
        "python": platform.python_version(),
        **versions,
    }


def run(
    tables: list[int],
    tests: int,
    runs: int,
    variants: tuple[Variant, ...],
    baseline: str | None = None,
) -> dict[str, Any]:
    """Median ms per test for every (clock, variant, K)."""
    samples: dict[str, dict[str, dict[int, list[float]]]] = {
        clock: {v.key: {k: [] for k in tables} for v in variants} for clock in CLOCKS
    }
    with tempfile.TemporaryDirectory(prefix="harness-bench-") as scratch:
        template = snapshot_working_tree(Path(scratch) / "template")
        projects = {k: prepare_project(template, Path(scratch) / f"k{k}", k, tests) for k in tables}
        baseline_projects = {}
        if baseline is not None:
            commit = RELEASES.get(baseline, baseline)
            old = extract_commit(commit, Path(scratch) / "baseline-template")
            baseline_projects = {
                k: prepare_project(old, Path(scratch) / f"baseline-k{k}", k, tests) for k in tables
            }
        for round_number in range(1, runs + 1):
            for k in tables:
                for variant in variants:
                    project = (baseline_projects if variant.baseline else projects)[k]
                    seconds = time_variant(project, variant, tests)
                    for clock in CLOCKS:
                        samples[clock][variant.key][k].append(seconds[clock] * 1000 / tests)
                    print(
                        f"round {round_number}/{runs} K={k:<3} {variant.key:<2} "
                        f"{samples['wall'][variant.key][k][-1]:8.2f} ms/test wall "
                        f"{samples['cpu'][variant.key][k][-1]:8.2f} cpu  ({variant.label})",
                        flush=True,
                    )
    medians = {
        clock: {
            key: {k: statistics.median(v) for k, v in by_k.items()}
            for key, by_k in by_variant.items()
        }
        for clock, by_variant in samples.items()
    }
    return {
        "tests": tests,
        "runs": runs,
        "tables": tables,
        "variants": {v.key: v.label for v in variants},
        "ms_per_test": medians,
        "samples": samples,
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d"),
    }


def ratio(numerator: float, denominator: float) -> str:
    return (
        f"{numerator / denominator:.1f}x"
        if numerator >= 10 * denominator
        else f"{numerator / denominator:.2f}"
    )


# The ratios the goals are stated in, each shown when both of its variants ran.
RATIOS = (("a", "b"), ("b", "c"), ("b", "c'"), ("b'", "c'"), ("b0", "c"), ("b", "b0"))


def table(results: dict[str, Any], clock: str) -> str:
    """One clock's results as a Markdown table: ms per test per variant, and the goal ratios."""
    ms = results["ms_per_test"][clock]
    keys = list(results["variants"])
    ratios = [(top, bottom) for top, bottom in RATIOS if {top, bottom} <= set(keys)]
    header = ["K extra tables", *(f"{key} ms/test" for key in keys)]
    header += [f"{top}/{bottom}" for top, bottom in ratios]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for k in results["tables"]:
        row = [str(k), *(f"{ms[key][k]:.2f}" for key in keys)]
        row += [ratio(ms[top][k], ms[bottom][k]) for top, bottom in ratios]
        lines.append("| " + " | ".join(row) + " |")
    first, last = results["tables"][0], results["tables"][-1]
    flatness = (
        f"b at K={last} / b at K={first}: {ms['b'][last] / ms['b'][first]:.2f}"
        f" ({CLOCKS[clock]}, {results['tests']} tests, median of {results['runs']} runs)"
    )
    return "\n".join([f"{CLOCKS[clock]}:", "", *lines, "", flatness])


def report(results: dict[str, Any]) -> str:
    legend = [f"- {key}: {label}" for key, label in results["variants"].items()]
    return "\n\n".join([*(table(results, clock) for clock in CLOCKS), "\n".join(legend)])


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib  # noqa: PLC0415 (only the plot needs it: the bench group)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    figure, all_axes = plt.subplots(1, len(CLOCKS), figsize=(12, 4.8), sharey=True)
    for axes, (clock, clock_label) in zip(all_axes, CLOCKS.items(), strict=True):
        for key, label in results["variants"].items():
            values = [results["ms_per_test"][clock][key][k] for k in results["tables"]]
            axes.plot(results["tables"], values, marker="o", label=f"{key}: {label}")
        axes.set_yscale("log")
        axes.set_xlabel("extra tables in the schema (K)")
        axes.set_title(clock_label)
        axes.grid(True, which="both", alpha=0.3)
    all_axes[0].set_ylabel("ms per test (median, log scale)")
    all_axes[0].legend(fontsize=8)
    figure.suptitle(f"{results['tests']} tests, each POST + GET through async_client")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def save_results(
    results: dict[str, Any],
    text: str,
    output: Path,
    plot: Callable[[dict[str, Any], Path], None] | None,
    image: str,
) -> None:
    """results.json, results.md (`text`) and, unless `plot` is None, the image in `output`."""
    output.mkdir(parents=True, exist_ok=True)
    (output / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    (output / "results.md").write_text(text + "\n", encoding="utf-8")
    if plot is not None:
        plot(results, output / image)
    print()
    print(text)
    print(f"\nmachine: {results['machine']}\nwritten to {output}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=500, help="generated tests (N)")
    parser.add_argument("--runs", type=int, default=3, help="runs per variant; the median counts")
    parser.add_argument("--tables", type=int, nargs="+", default=[0, 30, 100], help="values of K")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR, help="results folder")
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG (no matplotlib)")
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="also time the harness of this release (a version of releases.toml, or a commit)",
    )
    parser.add_argument(
        "--only", nargs="+", metavar="KEY", help="time only these variants (a b c b' c')"
    )
    args = parser.parse_args(argv)

    variants = tuple(v for v in VARIANTS if args.only is None or v.key in args.only)
    if args.baseline is not None:
        variants = (*variants, baseline_variant(args.baseline))
    results = run(args.tables, args.tests, args.runs, variants, args.baseline)
    save_results(
        results, report(results), args.output, None if args.no_plot else plot, "benchmarks.png"
    )


if __name__ == "__main__":
    main()
