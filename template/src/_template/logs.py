"""Log lines as JSON objects, one per line, for log collectors to parse without guessing.

    {"time": "2026-11-26T15:20:01.123Z", "level": "error",
     "logger": "src._template.request_context", "message": "request failed",
     "request_id": "...", "method": "GET", "path": "/...", "status": 503,
     "error": "OperationalError"}

Only the app's own loggers (`src.*`) are formatted here; uvicorn keeps its own format.
"""

import json
import logging
from datetime import UTC, datetime
from typing import Any

APP_LOGGER = "src"


class JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging() -> None:
    """JSON lines on stderr for the app's loggers; safe to call more than once."""
    logger = logging.getLogger(APP_LOGGER)
    if any(isinstance(handler.formatter, JsonLineFormatter) for handler in logger.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLineFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
