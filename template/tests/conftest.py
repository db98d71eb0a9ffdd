"""Your fixtures go here (or in a conftest.py next to the tests that use them).

The integration-test harness (async_engine, async_session, override_get_session,
async_client, ...) lives in tests/harness/, which belongs to the project template and is
kept up to date by `copier update`. Loading it here makes its fixtures available to every test.
"""

pytest_plugins = ["tests.harness.fixtures"]
