"""Garbage collection is off while the app and the tests are imported, and back on for the
tests themselves (pytest_configure and pytest_collection in tests/harness/_plugin.py)."""

import gc


def test_garbage_collection_is_on_while_tests_run() -> None:
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0  # what was loaded before the first test is left out
