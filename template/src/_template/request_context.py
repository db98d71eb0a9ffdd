"""Every request gets an id, and every request that fails gets exactly one log line.

The id comes from the client's `X-Request-ID` when it is well-formed (a proxy or the caller
chose it: logs across services then share it), and is made here otherwise; every response
carries it back. A request that raises is answered in the shared error shape:

- 503 with `Retry-After` when the database is unavailable (`is_database_unavailable`): the
  client may retry, nothing is wrong with its request;
- 500 for anything else: a bug.

Every 5xx, raised or returned (a failed readiness check), is logged once, as one JSON line
(src/_template/logs.py) with the request id, method, path, status and the exception's class;
a 500 adds the traceback. Never the body or the query string, which may carry what the client sent.

src/_template/edge.py does this for every request, with the pieces below.
"""

import logging
import re
from http import HTTPStatus
from random import getrandbits

from starlette.types import ASGIApp, Scope

from src._template.error_handlers import DATABASE_UNAVAILABLE, error_response

REQUEST_ID_HEADER = "X-Request-ID"
# Letters, digits and a few separators (UUIDs, ULIDs, trace ids): nothing that could break a
# log line or a header.
WELL_FORMED_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
RETRY_AFTER_SECONDS = 2
# The bits uuid.uuid4() fixes: version 4, RFC 4122 variant.
_UUID4_FIXED = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_BITS = (4 << 76) | (0x8000 << 48)

logger = logging.getLogger(__name__)


def new_request_id() -> bytes:
    """A random UUID4 in hex, as `uuid.uuid4().hex` writes it, in a tenth of its time.

    A request id tells log lines apart, it guards nothing (a client may choose its own), so
    Python's fast generator does: seeded from the system's randomness, and again in every
    forked worker.
    """
    return b"%032x" % (getrandbits(128) & _UUID4_FIXED | _UUID4_BITS)


def failure_answer(status: HTTPStatus, request_id: str) -> ASGIApp:
    """The answer to a request that raised: 503 with `Retry-After`, or 500."""
    headers = {REQUEST_ID_HEADER: request_id}
    if status == HTTPStatus.SERVICE_UNAVAILABLE:
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return error_response(status, DATABASE_UNAVAILABLE, headers=headers)
    return error_response(status, "Internal server error", headers=headers)


def log_failure(
    scope: Scope, request_id: str, status: HTTPStatus, error: BaseException | None
) -> None:
    fields = {
        "request_id": request_id,
        "method": scope["method"],
        "path": scope["path"],
        "status": int(status),
        "error": type(error).__name__ if error is not None else None,
    }
    is_bug = error is not None and status == HTTPStatus.INTERNAL_SERVER_ERROR
    logger.error("request failed", extra={"fields": fields}, exc_info=error if is_bug else None)
