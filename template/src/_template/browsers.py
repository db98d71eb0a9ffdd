"""What the service tells browsers.

- **CORS**: pages of the origins in `CORS_ALLOWED_ORIGINS` may call the API from a browser;
  pages of any other origin may not (the browser refuses them the response). Empty by
  default: a frontend served from the API's own origin, and clients that are not browsers,
  need nothing here. `*` lets every site call the API, so it is refused together with
  `CORS_ALLOW_CREDENTIALS` (src/config.py): a page on any site could then act with the
  user's cookies.
- **X-Content-Type-Options: nosniff** on every response: a browser never reads an answer as
  another type (HTML, a script) than its `Content-Type` says.

Authentication and authorization are not done here: see docs/security.md for where they go.
"""

from collections.abc import Sequence

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from src._template.request_context import REQUEST_ID_HEADER

# What a page may send and read: JSON bodies, a bearer token once the service has one, the
# request id; and `Retry-After` of a 503, so that the page knows when to try again.
ALLOWED_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
ALLOWED_HEADERS = ["Authorization", "Content-Type", REQUEST_ID_HEADER]
EXPOSED_HEADERS = [REQUEST_ID_HEADER, "Retry-After"]
PREFLIGHT_CACHE_SECONDS = 600


class NoSniffMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_nosniff(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Content-Type-Options"] = "nosniff"
            await send(message)

        await self.app(scope, receive, send_with_nosniff)


def install(app: FastAPI, *, allowed_origins: Sequence[str], allow_credentials: bool) -> None:
    """Outermost, so that every answer gets these headers, errors and preflights included."""
    app.add_middleware(NoSniffMiddleware)
    if allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(allowed_origins),
            allow_credentials=allow_credentials,
            allow_methods=ALLOWED_METHODS,
            allow_headers=ALLOWED_HEADERS,
            expose_headers=EXPOSED_HEADERS,
            max_age=PREFLIGHT_CACHE_SECONDS,
        )
