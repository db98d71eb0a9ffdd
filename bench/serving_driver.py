"""One cell of the serving benchmark, run inside a rendered project (bench/serving_benchmark.py
copies it there): serve a project with uvicorn, drive the users mix, print the figures as JSON.

    python serving_driver.py '{"project": ..., "database_url": ..., "workers": 1,
                               "clients": 50, "seconds": 10, "options": [...]}'

It uses that project's harness (tests/harness/live_server.py, traffic.py) and traffic mix
(tests/load/users_traffic.py); the project served may be another one. A SQLite URL names the
driver only: the database is a file in a scratch folder.
"""

# A command-line tool: printing is its output.
# ruff: noqa: T201

import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import make_url

from tests.harness.db.database import create_database, drop_database
from tests.harness.live_server import migrate, serve_app
from tests.harness.traffic import drive_traffic
from tests.load.users_traffic import UsersLedger


async def measure(cell: dict[str, Any]) -> dict[str, float | int]:
    project = Path(cell["project"])
    url = make_url(cell["database_url"])
    with tempfile.TemporaryDirectory() as scratch:
        if url.get_backend_name() == "sqlite":
            url = url.set(database=str(Path(scratch) / "bench_test.db"))
        await create_database(url, replace=True)
        try:
            await migrate(url, project)
            ledger = UsersLedger()
            async with serve_app(
                url,
                Path(scratch) / "server.log",
                workers=cell["workers"],
                options=cell["options"],
                project_root=project,
                ready_path=cell["ready_path"],
            ) as server:
                report = await drive_traffic(
                    server.base_url, ledger.round, clients=cell["clients"], seconds=cell["seconds"]
                )
                async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
                    problems = await ledger.verify(http)
        finally:
            await drop_database(url)
    return {
        "requests": report.requests,
        "seconds": report.elapsed,
        "requests_per_second": report.requests / report.elapsed,
        "p50_ms": report.percentile(0.5) * 1000,
        "p99_ms": report.percentile(0.99) * 1000,
        "server_errors": report.server_errors,
        "dropped": len(report.dropped),
        "unexpected": len(report.unexpected),
        "ledger_problems": len(problems),
    }


def main() -> None:
    print(json.dumps(asyncio.run(measure(json.loads(sys.argv[1])))))


if __name__ == "__main__":
    main()
