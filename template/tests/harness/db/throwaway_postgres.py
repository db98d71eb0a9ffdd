"""A throwaway PostgreSQL server for one test run, from the server programs on this machine.

When the test database's server does not answer and PostgreSQL's server programs are installed
(`apt-get install postgresql`, `brew install postgresql`, ...), the harness starts one itself
(tests/harness/db/database.py decides when): `initdb` into a temporary folder (trust
authentication, the URL's user as superuser, fsync off), then `postgres` listening on
127.0.0.1 at the URL's port, its unix socket in that folder. It runs as the current user, or,
under root (which PostgreSQL refuses), as `postgres` or `nobody`. `stop` ends it by its PID
(SIGINT, PostgreSQL's fast shutdown, as `pg_ctl stop -m fast` sends; SIGKILL if it lingers)
and deletes the folder.
"""

import atexit
import contextlib
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# A folder holding initdb and postgres, to use instead of looking for them.
PROGRAMS_VARIABLE = "TEST_DATABASE_PG_BIN"
# Where distributions put the server programs, off PATH: Debian and Ubuntu, RHEL and
# Fedora (PGDG), a source build, Homebrew's versioned formulae.
PROGRAM_FOLDERS = (
    "/usr/lib/postgresql/*/bin",
    "/usr/pgsql-*/bin",
    "/usr/local/pgsql/bin",
    "/opt/homebrew/opt/postgresql@*/bin",
    "/usr/local/opt/postgresql@*/bin",
)
PROGRAMS = ("initdb", "postgres")
# The server is the test run's alone: nothing it writes needs to survive a crash.
SERVER_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 30.0
POLL_SECONDS = 0.05
UNPRIVILEGED_USERS = ("postgres", "nobody")


class ThrowawayServerError(Exception):
    """The server could not be set up or started; the message says why, in one line."""


def find_programs(environ: Mapping[str, str]) -> Path | None:
    """The folder of PostgreSQL's server programs: TEST_DATABASE_PG_BIN, else PATH's, else the
    newest version in the usual places. None when there are none."""
    override = environ.get(PROGRAMS_VARIABLE)
    if override:
        return Path(override) if _has_programs(Path(override)) else None
    on_path = shutil.which("pg_ctl", path=environ.get("PATH")) or shutil.which(
        "initdb", path=environ.get("PATH")
    )
    if on_path and _has_programs(Path(on_path).resolve().parent):
        return Path(on_path).resolve().parent
    found = [
        folder
        for pattern in PROGRAM_FOLDERS
        for folder in Path("/").glob(pattern.lstrip("/"))
        if _has_programs(folder)
    ]
    return max(found, key=_version_key, default=None)


def _has_programs(folder: Path) -> bool:
    return all(os.access(folder / program, os.X_OK) for program in PROGRAMS)


def _version_key(folder: Path) -> tuple[int, ...]:
    """(16,) for /usr/lib/postgresql/16/bin, (16, 4) for .../postgresql@16.4/bin; () if none."""
    match = re.search(r"(\d+(?:\.\d+)*)", str(folder))
    return tuple(int(part) for part in match.group(1).split(".")) if match else ()


@dataclass(frozen=True)
class _RunAs:
    """The OS user the server runs as, when it cannot be the current one (root)."""

    name: str
    uid: int
    gid: int


def _unprivileged_user() -> _RunAs | None:
    """None when the current user may run PostgreSQL; else `postgres`, or `nobody`."""
    if os.geteuid() != 0:
        return None
    for name in UNPRIVILEGED_USERS:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return _RunAs(name, entry.pw_uid, entry.pw_gid)
    raise ThrowawayServerError(
        "PostgreSQL refuses to run as root, and neither a `postgres` nor a `nobody` user exists "
        "to run it as"
    )


@dataclass
class ThrowawayServer:
    """A running server; `stop()` ends it and deletes its folder (safe to call twice)."""

    programs: Path
    folder: Path
    host: str
    port: int
    process: subprocess.Popen[bytes]
    run_as: str | None
    version: str
    _stopped: bool = field(default=False, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    def describe(self) -> str:
        user = f" as OS user {self.run_as}" if self.run_as else ""
        return (
            f"PostgreSQL {self.version} at {self.host}:{self.port} (pid {self.pid}{user}, "
            f"{self.programs}, data in {self.folder})"
        )

    def stop(self) -> None:
        """Fast shutdown by PID (SIGINT, what `pg_ctl stop -m fast` sends), SIGKILL to its
        process group if it has not stopped in time, then delete its folder."""
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        shutil.rmtree(self.folder, ignore_errors=True)


def start(programs: Path, *, host: str, port: int, user: str) -> ThrowawayServer:
    """Initialise and start a server listening on `host`:`port` whose superuser is `user`
    (trust authentication: any password is accepted). Raises ThrowawayServerError, its folder
    deleted, when it does not start."""
    run_as = _unprivileged_user()
    folder = Path(tempfile.mkdtemp(prefix="throwaway-postgres-", dir=_parent_folder(run_as)))
    server: ThrowawayServer | None = None
    try:
        if run_as is not None:
            os.chown(folder, run_as.uid, run_as.gid)
        _initdb(programs, folder, user, run_as)
        version = (folder / "data" / "PG_VERSION").read_text(encoding="utf-8").strip()
        server = ThrowawayServer(
            programs=programs,
            folder=folder,
            host=host,
            port=port,
            process=_start_postgres(programs, folder, host, port, run_as),
            run_as=run_as.name if run_as else None,
            version=version,
        )
        atexit.register(server.stop)  # should the test run end without stopping it
        _wait_until_ready(server)
    except BaseException:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return server


def _parent_folder(run_as: _RunAs | None) -> Path:
    """Where the server's folder goes: the temporary folder, unless the server runs as another
    user who cannot reach into it (a TMPDIR private to root): then /tmp."""
    parent = Path(tempfile.gettempdir())
    if run_as is None or all(_others_may_enter(folder) for folder in (parent, *parent.parents)):
        return parent
    return Path("/tmp")  # reachable by every user; the folder made inside it is private


def _others_may_enter(folder: Path) -> bool:
    return bool(folder.stat().st_mode & stat.S_IXOTH)


def _initdb(programs: Path, folder: Path, user: str, run_as: _RunAs | None) -> None:
    command = [
        str(programs / "initdb"),
        "--pgdata",
        str(folder / "data"),
        "--username",
        user,
        "--auth",
        "trust",
        "--encoding",
        "UTF8",
        "--no-sync",
    ]
    completed = subprocess.run(
        command,
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
        user=run_as.uid if run_as else None,
        group=run_as.gid if run_as else None,
        extra_groups=[] if run_as else None,
    )
    if completed.returncode != 0:
        output = completed.stdout.decode(errors="replace").strip().splitlines()
        raise ThrowawayServerError(f"initdb failed: {output[-1] if output else 'no output'}")


def _start_postgres(
    programs: Path, folder: Path, host: str, port: int, run_as: _RunAs | None
) -> subprocess.Popen[bytes]:
    settings = {
        "listen_addresses": host,
        "port": str(port),
        "unix_socket_directories": str(folder),
        **SERVER_SETTINGS,
    }
    command = [str(programs / "postgres"), "-D", str(folder / "data")]
    for name, value in settings.items():
        command += ["-c", f"{name}={value}"]
    with (folder / "server.log").open("wb") as log:
        return subprocess.Popen(
            command,
            cwd=folder,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # A session of its own: Ctrl-C in the terminal reaches pytest, which stops the
            # server after the run, instead of the server while tests still use it.
            start_new_session=True,
            user=run_as.uid if run_as else None,
            group=run_as.gid if run_as else None,
            extra_groups=[] if run_as else None,
        )


def _wait_until_ready(server: ThrowawayServer) -> None:
    """Until postmaster.pid says `ready` (as `pg_ctl start -w` waits), at most a minute."""
    status_file = server.folder / "data" / "postmaster.pid"
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ThrowawayServerError(f"postgres exited: {_log_excerpt(server.log)}")
        with contextlib.suppress(OSError):
            lines = status_file.read_text(encoding="utf-8").splitlines()
            if len(lines) > 7 and lines[7].strip() == "ready":  # the server's status
                return
        time.sleep(POLL_SECONDS)
    raise ThrowawayServerError(
        f"postgres was not ready within {START_TIMEOUT_SECONDS:.0f} s: {_log_excerpt(server.log)}"
    )


def _log_excerpt(log: Path) -> str:
    """The server log's complaints (`could not bind ...: Address already in use`) on one line;
    its last line when it has none."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    complaints = [
        line.split(":  ", 1)[-1].strip()
        for line in lines
        if "FATAL:" in line or "PANIC:" in line or "could not" in line
    ]
    shown = list(dict.fromkeys(complaints))[:3] or lines[-1:] or ["no log"]
    return "; ".join(shown)
