"""Times the test loop (every test's setup, call and teardown) and writes it as JSON."""

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Iterator[None]:
    started = time.perf_counter()
    try:
        return (yield)
    finally:
        elapsed = time.perf_counter() - started
        result = {
            "tests": session.testscollected,
            "failed": session.testsfailed,
            "seconds": elapsed,
        }
        Path(os.environ["BENCH_RESULT"]).write_text(json.dumps(result), encoding="utf-8")
