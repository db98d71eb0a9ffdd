"""Outage figures of the generated service: a real server whose database goes away and comes
back, on SQLite and on PostgreSQL (bench/outage_driver.py does the measuring).

    eval "$(bash scripts/postgres.sh start)"   # the PostgreSQL variant needs META_POSTGRES_URL
    uv run python -m bench.outage_figures

Renders the working tree, runs the driver inside each rendered variant, prints its figures.
"""

# A command-line tool: printing is its output, and it runs the projects it rendered.
# ruff: noqa: T201

import json
import os
import tempfile
from pathlib import Path

from bench.serving_benchmark import postgres_url, render_variants, run_driver
from tests.support.rendering import snapshot_working_tree


def main() -> None:
    databases = ["sqlite"] + (["postgresql"] if os.environ.get("META_POSTGRES_URL") else [])
    with tempfile.TemporaryDirectory(prefix="outage-figures-") as scratch:
        template = snapshot_working_tree(Path(scratch) / "template")
        projects = render_variants(template, Path(scratch) / "projects", databases)
        for database, project in projects.items():
            url = (
                "sqlite+inline:///placeholder.db"  # the driver picks a file of its own
                if database == "sqlite"
                else postgres_url("bench_outage_test")
            )
            figures = run_driver(project, "outage_driver.py", {"database_url": url})
            print(f"{database}: {json.dumps(figures, indent=2)}", flush=True)


if __name__ == "__main__":
    main()
