"""The edge figures of one rendered project (bench/edge_figures.py copies this file into it and
runs it there): what oversized, pathological and lying requests cost a real server, and what
they cost the other requests on the same worker. Prints one JSON object.

    python edge_driver.py '{"rounds": 5}'

Each request is sent from a thread over a raw socket while the main thread asks
`/health/live` every 5 ms on a connection of its own; the worst of those answers is the figure
for "the others". The server is the project's own (tests/harness/live_server.py), one worker,
on a SQLite file. Every loop is bounded, every socket has a timeout.
"""

# A command-line tool: printing is its output.
# ruff: noqa: T201

import asyncio
import functools
import json
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import make_url

from tests.harness.live_server import migrate, serve_app

USERS = "/api/v1/users/"
KIB = 1024
MIB = 1024 * KIB
SOCKET_TIMEOUT = 30.0
LYING_WAIT = 15.0  # longer than the 10 s body timeout: past it, "no answer"


def head(length: int | None) -> bytes:
    framing = "Transfer-Encoding: chunked" if length is None else f"Content-Length: {length}"
    return (
        f"POST {USERS} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"{framing}\r\n\r\n"
    ).encode()


def chunked(body: bytes, size: int = 65536) -> bytes:
    parts = [
        f"{len(body[i : i + size]):x}\r\n".encode() + body[i : i + size] + b"\r\n"
        for i in range(0, len(body), size)
    ]
    return b"".join(parts) + b"0\r\n\r\n"


def unknown_keys(size: int) -> bytes:
    """An object of as many unknown keys as fit in `size` bytes."""
    keys: list[str] = []
    used = 2
    while used + len(f'"k{len(keys)}":0,') <= size:
        keys.append(f'"k{len(keys)}":0')
        used += len(keys[-1]) + 1
    return ("{" + ",".join(keys) + "}").encode()


def requests() -> dict[str, bytes]:
    """The same requests for every version: around the new limit (100 KiB), around the old
    default of nginx (1 MiB), and far beyond."""
    sent = {}
    for size, label in ((100 * KIB - 64, "99.9 KiB"), (MIB - 64, "1 MiB")):
        keys = unknown_keys(size)
        half = (size - 16) // 2
        nesting = b'{"name": ' + b"[" * half + b"]" * half + b"}"
        digits = b'{"name": "a", "email": ' + b"9" * (size - 32) + b"}"
        sent[f"{label}: {keys.count(b':')} unknown keys"] = head(len(keys)) + keys
        sent[f"{label}: nested arrays"] = head(len(nesting)) + nesting
        sent[f"{label}: one number"] = head(len(digits)) + digits
    ten_mb = b'{"name": "' + b"x" * 10_000_000 + b'"}'
    sent["10 MB, Content-Length"] = head(len(ten_mb)) + ten_mb
    sent["10 MB, chunked"] = head(None) + chunked(ten_mb)
    return sent


def read_response(connection: socket.socket) -> bytes:
    """One response: its head, then as many bytes as its Content-Length says."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(MIB)
        if not chunk:
            return received
        received += chunk
    head_part, _, body = received.partition(b"\r\n\r\n")
    length = re.search(rb"(?i)content-length: (\d+)", head_part)
    while length is not None and len(body) < int(length.group(1)):
        chunk = connection.recv(MIB)
        if not chunk:
            break
        body += chunk
    return head_part + b"\r\n\r\n" + body


def exchange(port: int, request: bytes, wait: float) -> dict[str, Any]:
    """Sends `request` and reads its response, within `wait` seconds."""
    started = time.perf_counter()
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as connection:
        try:
            connection.sendall(request)
            received = read_response(connection)
        except TimeoutError:
            pass
        except ConnectionResetError:
            received = b"reset"
    seconds = time.perf_counter() - started
    status = received[9:12].decode() if received.startswith(b"HTTP/1.1 ") else "no answer"
    body = received.partition(b"\r\n\r\n")[2]
    return {"status": status, "seconds": seconds, "response_bytes": len(body)}


def with_probe(base_url: str, send: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Runs `send` in a thread; meanwhile /health/live, every 5 ms: its worst latency."""
    result: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: result.update(send()))
    latencies = []
    with httpx.Client(base_url=base_url, timeout=SOCKET_TIMEOUT) as probe:
        thread.start()
        deadline = time.monotonic() + SOCKET_TIMEOUT
        while thread.is_alive() and time.monotonic() < deadline:
            started = time.perf_counter()
            probe.get("/health/live").raise_for_status()
            latencies.append(time.perf_counter() - started)
            time.sleep(0.005)
        thread.join(SOCKET_TIMEOUT)
    return {**result, "health_worst_seconds": max(latencies, default=0.0)}


async def measure(rounds: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="edge-") as scratch:
        url = make_url(f"sqlite+aiosqlite:///{scratch}/edge.db")
        await migrate(url)
        async with serve_app(url, Path(scratch) / "server.log") as server:
            port = int(server.base_url.rsplit(":", 1)[1])
            for name, request in requests().items():
                samples = [
                    await asyncio.to_thread(
                        with_probe,
                        server.base_url,
                        functools.partial(exchange, port, request, SOCKET_TIMEOUT),
                    )
                    for _ in range(rounds)
                ]
                figures[name] = {
                    "status": samples[0]["status"],
                    "response_bytes": samples[0]["response_bytes"],
                    "seconds": statistics.median(s["seconds"] for s in samples),
                    "health_worst_seconds": statistics.median(
                        s["health_worst_seconds"] for s in samples
                    ),
                }
            for declared in (10**12, 1000):
                lying = head(declared) + b"{}"
                answer = await asyncio.to_thread(exchange, port, lying, LYING_WAIT)
                figures[f"Content-Length {declared}, 2 bytes sent"] = answer
    return figures


if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    print(json.dumps(asyncio.run(measure(spec["rounds"]))))
