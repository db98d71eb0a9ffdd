"""What the report of a failed test shows beside its traceback: the app's 500s, and what the
harness noticed.

A test that fails after the app answered 500 shows why: the app's exception, in its report.
The app's edge (src/_template/edge.py) answers every exception itself, as it must in
production, so a client, and a test, only ever sees "Internal server error". It also logs each
one, traceback included (src/_template/request_context.py); `AppErrors` keeps those records for
the running test, and
the harness adds them to the report of a test that failed. A 503 (the database unavailable)
is not a bug and is not kept.

The app's engine under test notes what it saw that the test may not expect (work of the app
lost with a rollback it shares under the harness: tests/harness/db/shared_connection.py); a
failed test's report shows those notes too.
"""

import logging
from http import HTTPStatus

REQUEST_LOGGER = "src._template.request_context"
SECTION = "App exceptions (answered 500)"
NOTES_SECTION = "Harness notes"


class AppErrors(logging.Handler):
    """Keeps the 500s the app logs while a test runs."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self._formatter = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, "fields", {})
        if record.exc_info and fields.get("status") == HTTPStatus.INTERNAL_SERVER_ERROR:
            self.records.append(record)

    def install(self) -> None:
        logging.getLogger(REQUEST_LOGGER).addHandler(self)

    def take_report(self) -> str:
        """The kept exceptions, as tracebacks under their request's method and path; cleared."""
        parts = []
        for record in self.records:
            fields = getattr(record, "fields", {})
            assert record.exc_info is not None
            shown = self._formatter.formatException(record.exc_info)
            parts.append(f"{fields.get('method')} {fields.get('path')} -> 500\n{shown}")
        self.records.clear()
        return "\n".join(parts)


# The process's own: the plugin (tests/harness/_plugin.py) installs APP_ERRORS, clears both
# before each test and adds them to a failed test's report.
APP_ERRORS = AppErrors()
HARNESS_NOTES: list[str] = []
