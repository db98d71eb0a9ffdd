"""The service as production runs it: uvicorn in a child process, on loopback, on a database of
its own, migrated with `alembic upgrade head`. For the tests marked `load`, which need real
sockets, real processes and real concurrency; every other test runs the app in-process.

Every server started here is stopped with its whole process group (uvicorn's worker processes
included), however the test ends.
"""

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import URL

from tests.harness.db.database import create_database, database_under_test, drop_database
from tests.harness.paths import PROJECT_ROOT

# uvicorn's options in production: the Dockerfile's CMD passes the same ones (a test of the
# template checks), and docs/serving.md explains them. In short:
# - idle connections stay open 75 s, longer than clients and load balancers (60 s on most)
#   keep theirs, so the client side always closes first and never sends a request on a
#   connection the server is closing at that moment;
# - at most 1000 connections or requests in flight per worker (uvicorn answers more with a
#   plain 503): five times the 200 clients of the template's benchmark, and a bound on memory;
# - on SIGTERM, requests in flight get 8 s to finish, within the 10 s Docker allows before
#   its SIGKILL, so the shutdown still closes the database pool.
SERVER_OPTIONS = (
    *("--timeout-keep-alive", "75"),
    *("--limit-concurrency", "1000"),
    *("--timeout-graceful-shutdown", "8"),
)
STARTUP_TIMEOUT_SECONDS = 30.0
SHUTDOWN_TIMEOUT_SECONDS = 10.0
READY_PATH = "/health/ready"


class LiveServerError(Exception):
    """The server or its database could not be started; the message includes its output."""


@dataclass
class LiveServer:
    base_url: str
    process: asyncio.subprocess.Process
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        """SIGKILL the server and its workers at once, as a crash or an OOM kill would."""
        _signal_group(self.process.pid, signal.SIGKILL)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _signal_group(pid: int, signum: signal.Signals) -> None:
    # The server runs in a session of its own, so its process group id is its pid.
    with suppress(ProcessLookupError):
        os.killpg(pid, signum)


def _environment(database_url: URL) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url.render_as_string(hide_password=False),
        "PYTHONUNBUFFERED": "1",
    }


async def migrate(database_url: URL, project_root: Path = PROJECT_ROOT) -> None:
    """`alembic upgrade head` on `database_url`, as a deployment runs it."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "alembic",
        "upgrade",
        "head",
        cwd=project_root,
        env=_environment(database_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise LiveServerError(f"alembic upgrade head failed:\n{output.decode(errors='replace')}")


@asynccontextmanager
async def live_database(scratch_dir: Path) -> AsyncIterator[URL]:
    """A migrated database for a live server, of the test database's kind, dropped after
    (`DatabaseUnderTest.live` names it)."""
    url = database_under_test().live(scratch_dir)
    await create_database(url, replace=True)
    try:
        await migrate(url)
        yield url
    finally:
        await drop_database(url)


@asynccontextmanager
async def serve_app(
    database_url: URL,
    log_path: Path,
    *,
    workers: int = 1,
    options: Sequence[str] = SERVER_OPTIONS,
    project_root: Path = PROJECT_ROOT,
    ready_path: str = READY_PATH,
    settings: Mapping[str, str] | None = None,
) -> AsyncIterator[LiveServer]:
    """uvicorn serving `src.main:app` of `project_root` (this project unless another is given)
    on a free loopback port until the block ends; `settings` are environment variables for it
    (src/config.py), on top of the database's."""
    port = free_port()
    command = [
        *(sys.executable, "-m", "uvicorn", "src.main:app"),
        *("--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
        *options,
    ]
    with log_path.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=project_root,
            env=_environment(database_url) | dict(settings or {}),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", process, log_path)
    try:
        await _wait_until_ready(server, ready_path)
        yield server
    finally:
        await _stop(process)


async def _wait_until_ready(server: LiveServer, ready_path: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_TIMEOUT_SECONDS
    async with httpx.AsyncClient(base_url=server.base_url, timeout=1.0) as client:
        while loop.time() < deadline:
            if server.process.returncode is not None:
                break
            with suppress(httpx.TransportError):
                if (await client.get(ready_path)).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise LiveServerError(f"the server did not become ready:\n{server.log()[-4000:]}")


async def _stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM (uvicorn's graceful shutdown), then SIGKILL if it takes too long. The group is
    killed in the end either way: no worker outlives its test."""
    if process.returncode is None:
        _signal_group(process.pid, signal.SIGTERM)
        with suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), SHUTDOWN_TIMEOUT_SECONDS)
    _signal_group(process.pid, signal.SIGKILL)
    await process.wait()
