"""The integration-test harness. Owned by the project template: `copier update` keeps these
files current, so put your own fixtures in tests/conftest.py rather than editing them here."""
