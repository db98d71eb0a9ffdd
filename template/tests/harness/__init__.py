"""The integration-test harness. Owned by the project template: `copier update` keeps these
files current, so put your own fixtures in tests/conftest.py rather than editing them here.

What tests use:

- fixtures.py: the fixtures (`__all__`), which tests/conftest.py loads, and the type of
  `override_dependency` (`OverrideDependency`);
- queries.py: the types of `count_queries` and `assert_max_queries` (`CountQueries`,
  `AssertMaxQueries`);
- factories.py: the base of the test-data factories of tests/factories/;
- live_server.py, traffic.py, outages.py: a real server, traffic and database outages for the
  tests marked `load`;
- new_migration.py: `uv run python -m tests.harness.new_migration "what changed"`.

The rest is the harness's own: _plugin.py (its hooks and guards), contract.py (what it needs
from your code), clients.py, network.py, reports.py, paths.py, db/ (the test database) and
self_tests/ (its tests). Importing any of it has no effect on its own: the plugin does its
work in pytest's hooks.
"""
