"""Garbage collection is off while the app and the tests are imported, and back on for the
tests themselves (tests/harness/__init__.py, fixtures.py's pytest_collection)."""

import gc


def test_garbage_collection_is_on_while_tests_run() -> None:
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0  # what was loaded before the first test is left out
