"""The service's edge: one ASGI layer doing, for every HTTP request, what browsers.py,
request_context.py, limits.py and http_semantics.py (beside it) describe, in this order:

1. a CORS preflight request is answered (when origins are configured);
2. the request gets its id: the client's `X-Request-ID` if well-formed, a new one otherwise;
3. a declared body over the limit is answered 413 unread; a body otherwise is counted and
   timed as it arrives (413, 408);
4. OPTIONS on a path is answered 204 with `Allow`; HEAD is routed as GET;
5. the app answers. Its answer gets `Allow` if a 405, loses `Content-Type` if a 204, then
   gets `X-Request-ID`, `X-Content-Type-Options: nosniff` and the CORS headers. If the app
   raises instead, the answer is 503 or 500 in the shared error shape; every 5xx is logged
   once.

One layer instead of one per concern, doing as little as it can per request: on a request as
cheap as `/health/live`, four layers cost the service a third of its throughput
(docs/benchmarks.md). The request's headers are read in one pass; the headers added are bytes
made once; `receive` is wrapped only when the request has a body to count and time; nothing
is allocated for a status without rules.
"""

import functools
import re
from http import HTTPStatus

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from src._template.browsers import NOSNIFF
from src._template.database import is_database_unavailable
from src._template.http_semantics import allowed_methods, apply_status_rules
from src._template.limits import declared_too_large, within_limits
from src._template.logs import configure_logging
from src._template.request_context import (
    REQUEST_ID_HEADER,
    WELL_FORMED_REQUEST_ID,
    failure_answer,
    log_failure,
    new_request_id,
)

REQUEST_ID = REQUEST_ID_HEADER.lower().encode()
WELL_FORMED = re.compile(WELL_FORMED_REQUEST_ID.pattern.encode())
ADDED = frozenset({REQUEST_ID, NOSNIFF[0]})
# The statuses with rules of their own (http_semantics.py), and the first one logged.
RULED = frozenset({HTTPStatus.METHOD_NOT_ALLOWED.value, HTTPStatus.NO_CONTENT.value})
SERVER_ERROR = HTTPStatus.INTERNAL_SERVER_ERROR.value
# An HTTP/1 request has a body only if it says so with one of these (RFC 9112, section 6.3);
# HTTP/2 may send one unannounced.
HTTP_1 = frozenset({"1.0", "1.1"})


class EdgeMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        body_timeout: float,
        debug: bool = False,
        cors: CORSMiddleware | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout
        self.debug = debug
        self.cors = cors

    # Every step in one call, on purpose: a call per step is what this layer saves.
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: PLR0912
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The request's headers in one pass: the first of each, as Starlette's Headers reads.
        incoming_id: bytes | None = None
        declared = b""
        has_length = chunked = False
        for name, value in scope["headers"]:
            if name == REQUEST_ID and incoming_id is None:
                incoming_id = value
            elif name == b"content-length" and not has_length:
                declared, has_length = value, True
            elif name == b"transfer-encoding":
                chunked = True
        method = scope["method"]

        respond = send
        if self.cors is not None:
            request_headers = Headers(scope=scope)
            if method == "OPTIONS" and is_preflight(request_headers):
                await self.cors.preflight_response(request_headers)(scope, receive, send)
                return
            respond = functools.partial(self.cors.send, send=send, request_headers=request_headers)

        if incoming_id is not None and WELL_FORMED.fullmatch(incoming_id):
            request_id = incoming_id
        else:
            request_id = new_request_id()
        started = False

        async def send_at_the_edge(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                if status in RULED:
                    apply_status_rules(scope, message)
                if status >= SERVER_ERROR:
                    log_failure(scope, request_id.decode(), HTTPStatus(status), None)
                add_edge_headers(message, request_id)
            await respond(message)

        try:
            if has_length or chunked or scope.get("http_version", "1.1") not in HTTP_1:
                if declared.isdigit() and int(declared) > self.max_body_bytes:
                    await declared_too_large(self.max_body_bytes)(scope, receive, send_at_the_edge)
                    return
                receive = within_limits(
                    receive, max_body_bytes=self.max_body_bytes, body_timeout=self.body_timeout
                )
            if method == "OPTIONS" and (allowed := allowed_methods(scope)):
                await answer_options(allowed, send_at_the_edge)
                return
            # HEAD is routed as GET and keeps GET's headers, Content-Length included; the
            # server sends no body for it (uvicorn, as HTTP requires of every server).
            routed = {**scope, "method": "GET"} if method == "HEAD" else scope
            await self.app(routed, receive, send_at_the_edge)
        except Exception as error:
            # With DEBUG, Starlette's debug page shows the traceback instead; once a response
            # has started, nothing else can be sent: uvicorn logs and closes the connection.
            if self.debug or started:
                raise
            status = (
                HTTPStatus.SERVICE_UNAVAILABLE
                if is_database_unavailable(error)
                else HTTPStatus.INTERNAL_SERVER_ERROR
            )
            log_failure(scope, request_id.decode(), status, error)
            await failure_answer(status, request_id.decode())(scope, receive, nosniff(respond))


def is_preflight(request_headers: Headers) -> bool:
    return "origin" in request_headers and "access-control-request-method" in request_headers


def add_edge_headers(message: Message, request_id: bytes) -> None:
    """`X-Request-ID` and nosniff on a response's start message, replacing the app's own."""
    headers = message.get("headers", ())
    for name, _ in headers:
        if name in ADDED:
            replaced = MutableHeaders(scope=message)
            replaced[REQUEST_ID_HEADER] = request_id.decode()
            replaced[NOSNIFF[0].decode()] = NOSNIFF[1].decode()
            return
    message["headers"] = [*headers, (REQUEST_ID, request_id), NOSNIFF]


async def answer_options(allowed: list[str], send: Send) -> None:
    allow = (b"allow", ", ".join(allowed).encode())
    await send({"type": "http.response.start", "status": 204, "headers": [allow]})
    await send({"type": "http.response.body", "body": b""})


def nosniff(send: Send) -> Send:
    async def send_with_nosniff(message: Message) -> None:
        if message["type"] == "http.response.start":
            MutableHeaders(scope=message)[NOSNIFF[0].decode()] = NOSNIFF[1].decode()
        await send(message)

    return send_with_nosniff


def install(
    app: FastAPI,
    *,
    max_body_bytes: int,
    body_timeout: float,
    debug: bool,
    cors: CORSMiddleware | None,
) -> None:
    """The edge for every request of `app`, outside everything else it adds; `cors` from
    `browsers.cors_policy`."""
    configure_logging()
    app.add_middleware(
        EdgeMiddleware,
        max_body_bytes=max_body_bytes,
        body_timeout=body_timeout,
        debug=debug,
        cors=cors,
    )
