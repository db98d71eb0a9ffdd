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

src/_template/edge.py applies them to every request, with the pieces below: a request without a body
(no `Content-Length` or `Transfer-Encoding`) has nothing to count or wait for.
"""

import asyncio
from http import HTTPStatus

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive

from src._template.error_handlers import error_response


def body_too_large(max_body_bytes: int) -> HTTPException:
    detail = f"Request body too large: the limit is {max_body_bytes} bytes"
    return HTTPException(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, detail)


def body_too_slow(body_timeout: float) -> HTTPException:
    detail = f"Request body not received within {body_timeout:g} seconds"
    return HTTPException(HTTPStatus.REQUEST_TIMEOUT, detail, headers={"Connection": "close"})


def declared_too_large(max_body_bytes: int) -> ASGIApp:
    """The answer to a `Content-Length` over the limit, sent before any of the body is read."""
    refusal = body_too_large(max_body_bytes)
    return error_response(refusal.status_code, refusal.detail)


def within_limits(receive: Receive, *, max_body_bytes: int, body_timeout: float) -> Receive:
    """`receive` for a request with a body, refusing it once past `max_body_bytes` or past
    `body_timeout` seconds from now."""
    deadline = asyncio.get_running_loop().time() + body_timeout
    received = 0
    body_complete = False

    async def receive_within_limits() -> Message:
        # Raised as HTTPException, the refusals reach the app's own handler (src/errors.py)
        # from wherever the body is read; FastAPI would turn anything else into a 400.
        nonlocal received, body_complete
        if body_complete:  # later calls only wait for a disconnect: no deadline then
            return await receive()
        try:
            async with asyncio.timeout_at(deadline):
                message = await receive()
        except TimeoutError:
            raise body_too_slow(body_timeout) from None
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > max_body_bytes:
                raise body_too_large(max_body_bytes)
            body_complete = not message.get("more_body", False)
        return message

    return receive_within_limits
