"""schemathesis' command line against the real server, as a client meets it: uvicorn's HTTP
parsing, the middleware, a real database, nothing rolled back.

Every operation of the OpenAPI schema gets valid and invalid requests, in sequences that follow
the links between operations (create, then read, update, delete), and every response goes
through every check schemathesis has (`--checks all`): no 5xx, documented status codes,
content types, headers and bodies, invalid input refused, valid input accepted, `Allow` right
on 405 and OPTIONS, a resource readable after its creation and gone after its deletion.

The seed and the budget are fixed: the same requests on every run, so that a red build
reproduces; its output ends with a `curl` command for each failure. The in-process test
(tests/integration/test_api_schema.py) stays: it runs in every default run, in milliseconds.

Marked `load`, like the other tests that start a server: `pytest -m load` runs it.
"""

import asyncio
import sys
from pathlib import Path

import pytest
from sqlalchemy import URL

from tests.harness.live_server import serve_app

pytestmark = pytest.mark.load

SEED = 20261126
EXAMPLES_PER_OPERATION = 50
RUN_TIMEOUT_SECONDS = 300


async def test_the_live_server_conforms_to_its_schema(
    live_database_url: URL, tmp_path: Path
) -> None:
    async with serve_app(live_database_url, tmp_path / "server.log") as server:
        command = [
            *(sys.executable, "-m", "schemathesis.cli", "run", f"{server.base_url}/openapi.json"),
            *("--checks", "all", "--seed", str(SEED)),
            *("--max-examples", str(EXAMPLES_PER_OPERATION), "--workers", "1"),
            *("--generation-database", "none", "--request-timeout", "10", "--no-color"),
        ]
        # In a scratch directory: nothing the run writes lands in the project.
        fuzz = await asyncio.create_subprocess_exec(
            *command,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            output, _ = await asyncio.wait_for(fuzz.communicate(), RUN_TIMEOUT_SECONDS)
        finally:
            if fuzz.returncode is None:
                fuzz.kill()
                await fuzz.wait()

    report = output.decode(errors="replace")
    assert fuzz.returncode == 0, f"{report[-8000:]}\n--- server log ---\n{server.log()[-4000:]}"
    assert "No issues found" in report, report[-8000:]
