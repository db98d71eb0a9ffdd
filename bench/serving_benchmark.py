"""Benchmark the generated service under concurrent load: throughput and latency of the users
mix (tests/load/users_traffic.py) on file SQLite with 1 and 2 uvicorn workers and on
PostgreSQL, at 50 and 200 clients, for the template before and after a change.

    eval "$(bash scripts/postgres.sh start)"   # PostgreSQL cells need META_POSTGRES_URL
    uv run --group bench python -m bench.serving_benchmark

Renders the working tree ("after") and a baseline commit ("before"), both variants each, and
runs every cell once per round, cells alternating within a round so that all of them share
the machine's conditions; the median of the rounds counts. Each version is served the way it
serves in production: its own default SQLite driver and its image's uvicorn options.
"""

# A command-line tool: printing is its output, and it runs the projects it rendered.
# ruff: noqa: T201, S603, S607

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from sqlalchemy import make_url

from bench.harness_benchmark import machine, save_results
from tests.support.rendering import (
    DEFAULT_ANSWERS,
    POSTGRESQL_ANSWERS,
    REPO_ROOT,
    project_env,
    render,
    server_options,
    snapshot_working_tree,
)

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results" / "serving"
# main before the SQLite serving work (Reliability I): aiosqlite, deferred BEGIN, rollback journal.
BASELINE_COMMIT = "89e53c2"
CONFIGS = (("sqlite", 1), ("sqlite", 2), ("postgresql", 1))
FIGURES = ("requests_per_second", "p50_ms", "p99_ms", "server_errors", "dropped")


@dataclass(frozen=True)
class Version:
    name: str
    projects: dict[str, Path]  # by database
    sqlite_driver: str
    options: list[str]
    ready_path: str


def version_of(name: str, projects: dict[str, Path]) -> Version:
    """How a rendered version serves in production: its default SQLite driver, its image's
    uvicorn options (from its harness, if it has them) and its readiness path."""
    sqlite = projects["sqlite"]
    config = (sqlite / "src/config.py").read_text(encoding="utf-8")
    driver = re.search(r'DEFAULT_DATABASE_URL = "sqlite\+(\w+):', config)
    if driver is None:
        raise RuntimeError(f"{name}: no SQLite DEFAULT_DATABASE_URL in src/config.py")
    has_harness_server = (sqlite / "tests/harness/live_server.py").is_file()
    return Version(
        name,
        projects,
        driver.group(1),
        server_options(sqlite) if has_harness_server else [],
        "/health/ready" if has_readiness_check(sqlite) else "/health",
    )


def has_readiness_check(project: Path) -> bool:
    """Whether a version serves /health/ready (1.1.0 on; 9.0.0 moved it into src/_template/)."""
    return any((project / path).is_file() for path in ("src/health.py", "src/_template/health.py"))


def extract_commit(commit: str, destination: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", commit], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(destination, filter="data")
    return destination


def render_variants(template: Path, destination: Path, databases: list[str]) -> dict[str, Path]:
    """The sqlite variant (it also runs the driver) and the postgresql one when measured."""
    projects = {"sqlite": render(template, destination / "my-service", DEFAULT_ANSWERS)}
    if "postgresql" in databases:
        projects["postgresql"] = render(template, destination / "acme-orders", POSTGRESQL_ANSWERS)
    return projects


def postgres_url(database: str) -> str:
    """`database` on the server of META_POSTGRES_URL, through asyncpg."""
    server = make_url(os.environ["META_POSTGRES_URL"])
    url = server.set(drivername="postgresql+asyncpg", database=database)
    return url.render_as_string(hide_password=False)


def database_url(version: Version, database: str) -> str:
    if database == "sqlite":
        return f"sqlite+{version.sqlite_driver}:///placeholder.db"  # the driver picks a file
    return postgres_url("bench_serving_test")


def run_driver(project: Path, script: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Run a bench driver copied into a rendered project; its last line of output is JSON."""
    shutil.copy(BENCH_DIR / script, project)
    completed = subprocess.run(
        [sys.executable, script, json.dumps(spec)],
        cwd=project,
        env=project_env(PYTHONPATH=str(project)),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{script} {spec} failed:\n{completed.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(completed.stdout.splitlines()[-1])
    return figures


def measure_cell(driver_project: Path, version: Version, cell: dict[str, Any]) -> dict[str, float]:
    """The figures of one cell (database, workers, clients, seconds) for one version."""
    spec = {
        **cell,
        "project": str(version.projects[cell["database"]]),
        "database_url": database_url(version, cell["database"]),
        "options": version.options,
        "ready_path": version.ready_path,
    }
    return run_driver(driver_project, "serving_driver.py", spec)


def run(
    clients: list[int], seconds: float, rounds: int, baseline: str, databases: list[str]
) -> dict[str, Any]:
    if "postgresql" in databases and not os.environ.get("META_POSTGRES_URL"):
        print("no META_POSTGRES_URL: PostgreSQL cells left out", flush=True)
        databases = [database for database in databases if database != "postgresql"]
    configs = [config for config in CONFIGS if config[0] in databases]
    samples: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="serving-bench-") as scratch:
        root = Path(scratch)
        after_template = snapshot_working_tree(root / "after-template")
        after_projects = render_variants(after_template, root / "after", databases)
        before_template = extract_commit(baseline, root / "before-template")
        before_projects = render_variants(before_template, root / "before", databases)
        versions = [version_of("before", before_projects), version_of("after", after_projects)]
        driver_project = after_projects["sqlite"]
        for round_number in range(1, rounds + 1):
            for database, workers in configs:
                for count in clients:
                    for version in versions:
                        key = f"{version.name} {database} w{workers} c{count}"
                        cell = {"database": database, "workers": workers, "clients": count}
                        figures = measure_cell(
                            driver_project, version, {**cell, "seconds": seconds}
                        )
                        samples.setdefault(key, []).append(figures)
                        print(
                            f"round {round_number}/{rounds} {key:<28} "
                            + " ".join(f"{name}={figures[name]:.1f}" for name in FIGURES)
                            + f" ledger_problems={figures['ledger_problems']}",
                            flush=True,
                        )
    medians = {
        key: {name: statistics.median(run[name] for run in runs) for name in runs[0]}
        for key, runs in samples.items()
    }
    return {
        "baseline": baseline,
        "seconds": seconds,
        "rounds": rounds,
        "clients": clients,
        "configs": [f"{database} w{workers}" for database, workers in configs],
        "medians": medians,
        "samples": samples,
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d"),
    }


COLUMNS = (
    "cell",
    "clients",
    "before req/s",
    "after req/s",
    "after/before",
    "before p50 / p99 ms",
    "after p50 / p99 ms",
    "before 5xx / dropped",
    "after 5xx / dropped",
)


def report(results: dict[str, Any]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    medians = results["medians"]
    for config in results["configs"]:
        for count in results["clients"]:
            before = medians[f"before {config} c{count}"]
            after = medians[f"after {config} c{count}"]
            row = [
                config,
                str(count),
                f"{before['requests_per_second']:.0f}",
                f"{after['requests_per_second']:.0f}",
                f"{after['requests_per_second'] / before['requests_per_second']:.2f}",
                f"{before['p50_ms']:.0f} / {before['p99_ms']:.0f}",
                f"{after['p50_ms']:.0f} / {after['p99_ms']:.0f}",
                f"{before['server_errors']:.0f} / {before['dropped']:.0f}",
                f"{after['server_errors']:.0f} / {after['dropped']:.0f}",
            ]
            lines.append("| " + " | ".join(row) + " |")
    if "postgresql w1" in results["configs"]:
        lines.append("")
        for count in results["clients"]:
            sqlite = medians[f"after sqlite w1 c{count}"]["requests_per_second"]
            postgres = medians[f"after postgresql w1 c{count}"]["requests_per_second"]
            lines.append(
                f"After, {count} clients, 1 worker: SQLite / PostgreSQL throughput "
                f"= {sqlite / postgres:.2f}"
            )
    caption = (
        f"Medians of {results['rounds']} rounds of {results['seconds']:.0f} s per cell; "
        f"before = {results['baseline']}, after = the working tree."
    )
    lines += ["", caption]
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib  # noqa: PLC0415 (only the plot needs it: the bench group)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    cells = [(c, n) for c in results["configs"] for n in results["clients"]]
    labels = [f"{config}\n{count} clients" for config, count in cells]
    positions = range(len(cells))
    figure, (throughput, latency) = plt.subplots(1, 2, figsize=(13, 4.8))
    for offset, version in ((-0.2, "before"), (0.2, "after")):
        medians = [results["medians"][f"{version} {c} c{n}"] for c, n in cells]
        xs = [p + offset for p in positions]
        throughput.bar(xs, [m["requests_per_second"] for m in medians], 0.4, label=version)
        latency.bar(xs, [m["p99_ms"] for m in medians], 0.4, label=version)
    for axes, title in ((throughput, "requests/s (median)"), (latency, "p99 latency, ms (median)")):
        axes.set_xticks(list(positions), labels, fontsize=8)
        axes.set_title(title)
        axes.grid(True, axis="y", alpha=0.3)
        axes.legend()
    figure.suptitle("users mix against uvicorn on loopback, 2 cores (client and server share them)")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--seconds", type=float, default=10.0, help="traffic per cell")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the median counts")
    parser.add_argument("--baseline", default=BASELINE_COMMIT, help="the 'before' commit")
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--output", type=Path, default=RESULTS_DIR, help="results folder")
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG (no matplotlib)")
    args = parser.parse_args(argv)

    results = run(args.clients, args.seconds, args.rounds, args.baseline, args.databases)
    save_results(
        results, report(results), args.output, None if args.no_plot else plot, "serving.png"
    )


if __name__ == "__main__":
    main()
