"""Outage figures of the generated service: a real server whose database goes away and comes
back, on SQLite and on PostgreSQL (bench/outage_driver.py does the measuring).

    eval "$(bash scripts/postgres.sh start)"   # the PostgreSQL variant needs META_POSTGRES_URL
    python3 -m uv run python -m bench.outage_figures

Renders the working tree, runs the driver inside each rendered variant, prints its figures.
"""

# A command-line tool: printing is its output, and it runs the projects it rendered.
# ruff: noqa: T201, S603

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from sqlalchemy import make_url

from bench.serving_benchmark import render_variants
from tests.rendering import project_env, snapshot_working_tree

BENCH_DIR = Path(__file__).resolve().parent


def database_url(database: str) -> str:
    if database == "sqlite":
        return "sqlite+inline:///placeholder.db"  # the driver picks a file of its own
    server = make_url(os.environ["META_POSTGRES_URL"])
    url = server.set(drivername="postgresql+asyncpg", database="bench_outage_test")
    return url.render_as_string(hide_password=False)


def main() -> None:
    databases = ["sqlite"] + (["postgresql"] if os.environ.get("META_POSTGRES_URL") else [])
    with tempfile.TemporaryDirectory(prefix="outage-figures-") as scratch:
        template = snapshot_working_tree(Path(scratch) / "template")
        projects = render_variants(template, Path(scratch) / "projects", databases)
        for database, project in projects.items():
            shutil.copy(BENCH_DIR / "outage_driver.py", project)
            completed = subprocess.run(
                [
                    sys.executable,
                    "outage_driver.py",
                    json.dumps({"database_url": database_url(database)}),
                ],
                cwd=project,
                env=project_env(PYTHONPATH=str(project)),
                capture_output=True,
                text=True,
                check=False,
            )
            if completed.returncode != 0:
                raise RuntimeError(f"{database}: {completed.stderr[-3000:]}")
            print(f"{database}: {json.dumps(json.loads(completed.stdout), indent=2)}", flush=True)


if __name__ == "__main__":
    main()
