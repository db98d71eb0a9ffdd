"""Bounded concurrent HTTP traffic against a live server, and what it observed.

`drive_traffic` runs one coroutine per simulated client, each sending one request at a time on
its own keep-alive connection, until a deadline or its request budget runs out, whichever
comes first.
Every request goes through a `TrafficClient`, which records its status and latency; a request
that gets no response at all (connection refused, reset or closed, timeout) is recorded as a
dropped request with its cause, never retried, so the report shows exactly what clients saw.
"""

import asyncio
import ssl
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Collection
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import httpx

# Longer than any request should take under load; a request that waits this long is dropped.
REQUEST_TIMEOUT_SECONDS = 30.0
# Clients close idle connections before the server does (its keep-alive is longer), so a
# request is never sent on a connection the server is closing at that moment.
CLIENT_KEEP_ALIVE_SECONDS = 5.0


class ClientFinished(Exception):  # noqa: N818  (a signal, not an error)
    """Raised inside a scenario to end that client's traffic (also when its budget is spent)."""


@dataclass
class TrafficReport:
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    dropped: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    # Rounds each client finished, by client index: a round in progress at the deadline still
    # finishes, so every client that was served finishes at least one.
    rounds: Counter[int] = field(default_factory=Counter)
    elapsed: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies) + len(self.dropped)

    @property
    def server_errors(self) -> int:
        return sum(count for (_label, status), count in self.statuses.items() if status >= 500)

    def percentile(self, fraction: float) -> float:
        """Latency in seconds below which `fraction` of the answered requests finished."""
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else 0.0
        return statistics.quantiles(self.latencies, n=1000, method="inclusive")[
            round(fraction * 1000) - 1
        ]

    def summary(self) -> str:
        return (
            f"{self.requests} requests in {self.elapsed:.1f} s "
            f"({self.requests / max(self.elapsed, 1e-9):.0f}/s), "
            f"p50 {self.percentile(0.5) * 1000:.1f} ms, p99 {self.percentile(0.99) * 1000:.1f} ms, "
            f"{self.server_errors} 5xx, {len(self.dropped)} dropped, "
            f"{len(self.unexpected)} unexpected"
        )


class TrafficClient:
    """One simulated client: its requests are recorded in the report."""

    def __init__(self, http: httpx.AsyncClient, report: TrafficReport, budget: int) -> None:
        self.http = http
        self.report = report
        self.budget = budget

    async def request(
        self, method: str, url: str, label: str, expected: Collection[int], **kwargs: Any
    ) -> httpx.Response | None:
        """Send one request; None when it got no response (recorded as dropped)."""
        if self.budget <= 0:
            raise ClientFinished
        self.budget -= 1
        started = time.perf_counter()
        try:
            response = await self.http.request(method, url, **kwargs)
        except httpx.TransportError as error:
            self.report.dropped.append(f"{label}: {type(error).__name__}: {error}")
            return None
        self.report.latencies.append(time.perf_counter() - started)
        self.report.statuses[label, response.status_code] += 1
        if response.status_code not in expected:
            self.report.unexpected.append(f"{label}: {response.status_code} {response.text[:200]}")
        return response


# One round of a client's traffic: scenario(client, client_index, round_index).
Scenario = Callable[[TrafficClient, int, int], Awaitable[None]]


async def drive_traffic(
    base_url: str,
    scenario: Scenario,
    *,
    clients: int,
    seconds: float,
    requests_per_client: int = 10_000,
) -> TrafficReport:
    """Run rounds of `scenario` for `clients` clients at once, for `seconds`.

    Each client stops at the deadline or when its request budget is spent; a scenario that
    runs past the deadline by more than twice the request timeout is cancelled.
    """
    report = TrafficReport()
    deadline = time.monotonic() + seconds

    # Each client has a connection of its own: httpx's pool slows down badly with hundreds of
    # connections in one client. They share one TLS context, which costs milliseconds to make.
    tls = ssl.create_default_context()
    limits = httpx.Limits(max_connections=1, keepalive_expiry=CLIENT_KEEP_ALIVE_SECONDS)

    async def one_client(index: int) -> None:
        async with httpx.AsyncClient(
            base_url=base_url, verify=tls, limits=limits, timeout=REQUEST_TIMEOUT_SECONDS
        ) as http:
            client = TrafficClient(http, report, requests_per_client)
            round_index = 0
            with suppress(ClientFinished):
                while time.monotonic() < deadline:
                    await scenario(client, index, round_index)
                    report.rounds[index] += 1
                    round_index += 1

    started = time.perf_counter()
    async with asyncio.timeout(seconds + 2 * REQUEST_TIMEOUT_SECONDS):
        await asyncio.gather(*(one_client(index) for index in range(clients)))
    report.elapsed = time.perf_counter() - started
    return report
