"""Every request gets an id, and every request that fails gets exactly one log line.

The id comes from the client's `X-Request-ID` when it is well-formed (a proxy or the caller
chose it: logs across services then share it), and is made here otherwise; every response
carries it back. A request that raises is answered here, in the shared error shape:

- 503 with `Retry-After` when the database is unavailable (`is_database_unavailable`): the
  client may retry, nothing is wrong with its request;
- 500 for anything else: a bug.

Every 5xx, raised or returned (a failed readiness check), is logged once, as one JSON line
(src/_template/logs.py) with the request id, method, path, status and the exception's class; a
500 adds the traceback. Never the body or the query string, which may carry what the client sent.
"""

import logging
import re
import uuid
from http import HTTPStatus

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from src._template.database import is_database_unavailable
from src._template.error_handlers import DATABASE_UNAVAILABLE, error_response
from src._template.logs import configure_logging

REQUEST_ID_HEADER = "X-Request-ID"
# Letters, digits and a few separators (UUIDs, ULIDs, trace ids): nothing that could break a
# log line or a header.
WELL_FORMED_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
RETRY_AFTER_SECONDS = 2

logger = logging.getLogger(__name__)


def request_id_of(scope: Scope) -> str:
    incoming = Headers(scope=scope).get(REQUEST_ID_HEADER)
    if incoming is not None and WELL_FORMED_REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, debug: bool = False) -> None:
        self.app = app
        self.debug = debug

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        response_started = False

        async def send_with_request_id(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
                if message["status"] >= HTTPStatus.INTERNAL_SERVER_ERROR:
                    log_failure(scope, request_id, HTTPStatus(message["status"]), None)
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        except Exception as error:
            # With DEBUG, Starlette's debug page shows the traceback instead; once a response
            # has started, nothing else can be sent: uvicorn logs and closes the connection.
            if self.debug or response_started:
                raise
            status = (
                HTTPStatus.SERVICE_UNAVAILABLE
                if is_database_unavailable(error)
                else HTTPStatus.INTERNAL_SERVER_ERROR
            )
            log_failure(scope, request_id, status, error)
            await self._answer(status, request_id)(scope, receive, send)

    @staticmethod
    def _answer(status: HTTPStatus, request_id: str) -> ASGIApp:
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


def install(app: FastAPI, *, debug: bool) -> None:
    """Request ids, failure answers and their log lines for every request of `app`."""
    configure_logging()
    app.add_middleware(RequestContextMiddleware, debug=debug)
