"""Times the test loop (every test's setup, call and teardown) and writes it as JSON.

Wall-clock time is what a developer waits; CPU time of the process (all its threads) is what
the work costs, and is far less disturbed by other load on a shared machine.
"""

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Iterator[None]:
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        return (yield)
    finally:
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        result = {
            "cpu_seconds": cpu,
            "tests": session.testscollected,
            "failed": session.testsfailed,
            "seconds": elapsed,
        }
        Path(os.environ["BENCH_RESULT"]).write_text(json.dumps(result), encoding="utf-8")
