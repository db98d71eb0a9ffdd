"""What the generated service's HTTP edge costs: requests per second of the app against a floor
app, both served by uvicorn with the image's options and driven by wrk.

    uv run python -m bench.edge_benchmark [--rounds 15] [--seconds 3] [--baseline 8.0.0]
                                          [--targets live read list] [--project DIR] [--smoke]

Renders the working tree (default answers: SQLite on `sqlite+inline`), or takes a rendered
project (`--project`), migrates a database file for it and creates a few users through its
API. Then it serves, each with uvicorn on 127.0.0.1, one worker, with the uvicorn options of
the project's harness (which the Dockerfile's CMD passes too):

- app: the project's `src.main:app`;
- floor: bench/edge_floor.py, FastAPI with the project's engine and session dependency and
  the same routes' work, without middleware or error handlers, on the app's database;
- with `--baseline REF`: the app of a release (a version of releases.toml) or a commit,
  rendered from that template, on a database of its own.

Round after round, wrk (`-t1 -c50`, `--seconds` per run) drives each server in turn on each
target, the order rotating every round so that no server always runs first; one warm-up run
each comes first. Prints the median requests/s of each server and their ratios to the floor,
and writes bench/results/edge_cost/. `--smoke`: one short round of each, to check that the
script works (the meta-suite runs it where wrk is installed).
"""

# A command-line tool: printing is its output, and it runs servers and wrk.
# ruff: noqa: T201, S603, S607

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx

from bench.harness_benchmark import BENCH_DIR, machine, save_results
from tests.support.rendering import (
    DEFAULT_ANSWERS,
    project_env,
    render,
    server_options,
    snapshot_working_tree,
)
from tests.update.repository import RELEASES, extract_commit

RESULTS_DIR = BENCH_DIR / "results" / "edge_cost"
FLOOR_MODULE = "edge_floor"
# One connection-holding thread, 50 connections: one worker's CPU is the bottleneck, not wrk.
WRK = ("wrk", "-t1", "-c50", "--timeout", "5s")
TARGETS = {
    "live": "/health/live",
    "read": "/api/v1/users/{user_id}",
    "list": "/api/v1/users/?limit=10",
}
USERS = 10
WARM_UP_SECONDS = 1
STARTUP_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0


class BenchError(Exception):
    """A server or wrk did not do what the measurement needs; the message says what."""


@dataclass(frozen=True)
class Served:
    base_url: str
    pid: int


@dataclass(frozen=True)
class Server:
    name: str
    served: Served
    user_id: int  # the first user of its database, for `read`

    def url(self, target: str) -> str:
        return self.served.base_url + TARGETS[target].format(user_id=self.user_id)


@dataclass(frozen=True)
class Run:
    """One wrk run: what the client got, and the server's CPU time meanwhile."""

    requests: int
    seconds: float
    cpu_seconds: float

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def requests_per_cpu_second(self) -> float:
        return self.requests / self.cpu_seconds


def free_port() -> int:
    import socket  # noqa: PLC0415 (only here)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def database_url(project: Path, file: Path) -> str:
    """A SQLite file on the project's own default driver (`sqlite+inline` since 6.0)."""
    config = (project / "src/config.py").read_text(encoding="utf-8")
    driver = re.search(r'DEFAULT_DATABASE_URL = "sqlite\+(\w+):', config)
    if driver is None:
        raise BenchError(f"{project}: no SQLite DEFAULT_DATABASE_URL in src/config.py")
    return f"sqlite+{driver.group(1)}:///{file}"


def migrate(project: Path, url: str) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=project,
        env=project_env(DATABASE_URL=url),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise BenchError(f"alembic upgrade head failed in {project}:\n{completed.stderr}")


def stop(process: "subprocess.Popen[bytes]") -> None:
    """SIGTERM to the server's PID, SIGKILL if it has not exited in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_TIMEOUT_SECONDS)


def wait_until_ready(process: "subprocess.Popen[bytes]", base_url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    with httpx.Client(base_url=base_url, timeout=1.0) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            try:
                if http.get(TARGETS["live"]).status_code == httpx.codes.OK:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    output = log.read_text(encoding="utf-8", errors="replace")
    raise BenchError(f"{base_url} did not answer {TARGETS['live']}:\n{output[-3000:]}")


@contextmanager
def served(project: Path, app: str, url: str, log: Path, app_dir: Path | None) -> Iterator[Served]:
    """uvicorn serving `app` of `project` until the block ends."""
    port = free_port()
    command = [
        *(sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)),
        *("--workers", "1", *server_options(project)),
        *(("--app-dir", str(app_dir)) if app_dir else ()),
    ]
    with log.open("ab") as output:
        process = subprocess.Popen(
            command,
            cwd=project,
            env=project_env(DATABASE_URL=url),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_until_ready(process, base_url, log)
        yield Served(base_url, process.pid)
    finally:
        stop(process)


def create_users(base_url: str) -> int:
    """Creates USERS users through the app's API; returns the first one's id."""
    with httpx.Client(base_url=base_url, timeout=10.0) as http:
        for number in range(USERS):
            user = {"email": f"edge{number}@example.com", "name": f"Edge {number}"}
            created = http.post("/api/v1/users/", json=user)
            if created.status_code != httpx.codes.CREATED:
                raise BenchError(f"POST /api/v1/users/: {created.status_code} {created.text}")
        first: int = http.get("/api/v1/users/", params={"limit": 1}).json()[0]["id"]
        return first


def cpu_seconds(pid: int) -> float:
    """The user and system CPU time of a process so far (Linux's /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rpartition(")")[2].split()
    # After the name: state is field 3 of proc(5), utime and stime fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drive(server: Server, target: str, seconds: int) -> Run:
    """wrk against one target of `server`; every answer must be a 2xx."""
    url = server.url(target)
    cpu_before = cpu_seconds(server.served.pid)
    completed = subprocess.run(
        [*WRK, f"-d{seconds}s", url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
    )
    cpu = cpu_seconds(server.served.pid) - cpu_before
    done = re.search(r"(\d+) requests in ([\d.]+)(m?s)", completed.stdout)
    if completed.returncode != 0 or done is None:
        raise BenchError(f"wrk {url} failed:\n{completed.stdout}\n{completed.stderr}")
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", completed.stdout)
    if failed is not None:
        raise BenchError(f"wrk {url}: {failed.group(1)} answers were not 2xx")
    elapsed = float(done.group(2)) / (1000 if done.group(3) == "ms" else 1)
    return Run(int(done.group(1)), elapsed, cpu)


def wrk_version() -> str:
    completed = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    return (completed.stdout or completed.stderr).split("\n", 1)[0].strip()


@contextmanager
def servers(project: Path, baseline: Path | None, scratch: Path) -> Iterator[dict[str, Server]]:
    """The app and the floor on the project's database, and the baseline's app on its own."""
    with ExitStack() as stack:
        url = database_url(project, scratch / "app.db")
        migrate(project, url)
        app = stack.enter_context(served(project, "src.main:app", url, scratch / "app.log", None))
        user_id = create_users(app.base_url)
        floor_dir = scratch / "floor"
        floor_dir.mkdir()
        shutil.copy(BENCH_DIR / f"{FLOOR_MODULE}.py", floor_dir)
        floor = stack.enter_context(
            served(project, f"{FLOOR_MODULE}:app", url, scratch / "floor.log", floor_dir)
        )
        found = {"app": Server("app", app, user_id), "floor": Server("floor", floor, user_id)}
        if baseline is not None:
            url = database_url(baseline, scratch / "baseline.db")
            migrate(baseline, url)
            old = stack.enter_context(
                served(baseline, "src.main:app", url, scratch / "baseline.log", None)
            )
            found["baseline"] = Server("baseline", old, create_users(old.base_url))
        yield found


Samples = dict[str, dict[str, list[Run]]]  # by target, then by server


def measure(found: dict[str, Server], targets: list[str], rounds: int, seconds: int) -> Samples:
    """Every server on every target, `rounds` times each, after a warm-up run unless there is
    only one round (`--smoke`)."""
    names = list(found)
    if rounds > 1:
        for target in targets:
            for server in found.values():
                drive(server, target, WARM_UP_SECONDS)
    samples: Samples = {target: {name: [] for name in names} for target in targets}
    for round_number in range(rounds):
        shift = round_number % len(names)
        order = names[shift:] + names[:shift]
        for target in targets:
            for name in order:
                run = drive(found[name], target, seconds)
                samples[target][name].append(run)
                print(
                    f"round {round_number + 1}/{rounds} {target:<5} {name:<9}"
                    f"{run.requests_per_second:8.0f} req/s"
                    f"{run.requests_per_cpu_second:8.0f} req per CPU s",
                    flush=True,
                )
    return samples


# The two figures of every run: requests per second of wall-clock time, as wrk saw them, and
# per second of the server's CPU time, which other processes on the machine disturb less.
FIGURES = ("requests_per_second", "requests_per_cpu_second")


def run(
    project: Path | None,
    baseline: str | None,
    targets: list[str],
    rounds: int,
    seconds: int,
) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise BenchError("wrk is not installed (Debian: apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="edge-cost-") as scratch:
        root = Path(scratch)
        if project is None:
            template = snapshot_working_tree(root / "template")
            project = render(template, root / "my-service", DEFAULT_ANSWERS)
        baseline_project = None
        if baseline is not None:
            old = extract_commit(RELEASES.get(baseline, baseline), root / "baseline-template")
            baseline_project = render(old, root / "baseline-service", DEFAULT_ANSWERS)
        with servers(project, baseline_project, root) as found:
            samples = measure(found, targets, rounds, seconds)
    figures = {
        target: {
            name: {figure: [getattr(one, figure) for one in runs] for figure in FIGURES}
            for name, runs in by_server.items()
        }
        for target, by_server in samples.items()
    }
    return {
        "baseline": baseline,
        "rounds": rounds,
        "seconds": seconds,
        "wrk": " ".join(WRK),
        "targets": {target: TARGETS[target] for target in targets},
        "medians": {
            target: {
                name: {figure: statistics.median(values) for figure, values in by_figure.items()}
                for name, by_figure in by_server.items()
            }
            for target, by_server in figures.items()
        },
        "samples": figures,
        "machine": {**machine(), "uvicorn": metadata.version("uvicorn"), "wrk": wrk_version()},
        "date": time.strftime("%Y-%m-%d"),
    }


def report(results: dict[str, Any]) -> str:
    baseline = results["baseline"]
    header = ["target", "figure", "floor", "app", "app/floor"]
    if baseline:
        header += [baseline, f"{baseline}/floor", f"app/{baseline}"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    labels = {"requests_per_second": "req/s", "requests_per_cpu_second": "req per CPU s"}
    for target, path in results["targets"].items():
        for figure, label in labels.items():
            of = {name: by_figure[figure] for name, by_figure in results["medians"][target].items()}
            row = [f"`{path}`", label, f"{of['floor']:.0f}", f"{of['app']:.0f}"]
            row.append(f"{of['app'] / of['floor']:.2f}")
            if baseline:
                row += [f"{of['baseline']:.0f}", f"{of['baseline'] / of['floor']:.2f}"]
                row.append(f"{of['app'] / of['baseline']:.2f}")
            lines.append("| " + " | ".join(row) + " |")
    caption = (
        f"Medians of {results['rounds']} alternating rounds of {results['seconds']} s per "
        f"server and target (`{results['wrk']}`), {results['date']}."
    )
    return "\n".join([caption, "", *lines])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="rounds; the median counts")
    parser.add_argument("--seconds", type=int, default=3, help="wrk's duration per run")
    parser.add_argument(
        "--targets", nargs="+", choices=list(TARGETS), default=["live", "read"], metavar="TARGET"
    )
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="also serve the app of a release (releases.toml's version) or a commit",
    )
    parser.add_argument("--project", type=Path, help="a rendered project, instead of rendering")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR, help="results folder")
    parser.add_argument("--smoke", action="store_true", help="one round of one second, no warm-up")
    args = parser.parse_args(argv)
    if args.smoke:
        args.rounds, args.seconds = 1, 1
    project = args.project.resolve() if args.project else None
    try:
        results = run(project, args.baseline, args.targets, args.rounds, args.seconds)
    except BenchError as error:
        raise SystemExit(str(error)) from None
    save_results(results, report(results), args.output, None, "")


if __name__ == "__main__":
    main()
