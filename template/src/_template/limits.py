"""Limits on what a client may send, enforced before anything parses it.

- A body larger than `max_body_bytes` is answered 413. A declared `Content-Length` over the
  limit is answered at once, without reading a byte of the body; a body without one (chunked)
  is counted as it arrives and refused as soon as it passes the limit.
- A body not delivered within `body_timeout` seconds of the request's start is answered 408: a
  client that declares more than it sends (or trickles it) holds a connection for that long at
  most, not until it gives up.

Both answers are in the shared error shape. After a 413 the connection stays open and uvicorn
reads and drops the rest of the body, so that the client, still sending, gets the answer
instead of a reset connection; after a 408 it is closed. uvicorn bounds the rest
(concurrent connections, idle keep-alive, shutdown): see docs/serving.md for its options, and
for what is left to a reverse proxy (slow request headers, request rates).
"""

import asyncio
from http import HTTPStatus

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from src._template.error_handlers import error_response


def body_too_large(max_body_bytes: int) -> HTTPException:
    detail = f"Request body too large: the limit is {max_body_bytes} bytes"
    return HTTPException(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, detail)


def body_too_slow(body_timeout: float) -> HTTPException:
    detail = f"Request body not received within {body_timeout:g} seconds"
    return HTTPException(HTTPStatus.REQUEST_TIMEOUT, detail, headers={"Connection": "close"})


class RequestBodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, body_timeout: float) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            refusal = body_too_large(self.max_body_bytes)
            answer = error_response(refusal.status_code, refusal.detail)
            await answer(scope, receive, send)
            return

        deadline = asyncio.get_running_loop().time() + self.body_timeout
        received = 0
        body_complete = False

        async def receive_within_limits() -> Message:
            # Raised as HTTPException, the refusals reach the app's own handler
            # (src/_template/error_handlers.py) from wherever the body is read; FastAPI would
            # turn anything else into a 400.
            nonlocal received, body_complete
            if body_complete:  # later calls only wait for a disconnect: no deadline then
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise body_too_slow(self.body_timeout) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise body_too_large(self.max_body_bytes)
                body_complete = not message.get("more_body", False)
            return message

        await self.app(scope, receive_within_limits, send)


def install(app: FastAPI, *, max_body_bytes: int, body_timeout: float) -> None:
    app.add_middleware(
        RequestBodyLimitMiddleware, max_body_bytes=max_body_bytes, body_timeout=body_timeout
    )
