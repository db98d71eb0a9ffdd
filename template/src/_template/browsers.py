"""What the service tells browsers.

- **CORS**: pages of the origins in `CORS_ALLOWED_ORIGINS` may call the API from a browser;
  pages of any other origin may not (the browser refuses them the response). Empty by
  default: a frontend served from the API's own origin, and clients that are not browsers,
  need nothing here. `*` lets every site call the API, so it is refused together with
  `CORS_ALLOW_CREDENTIALS` (src/config.py): a page on any site could then act with the
  user's cookies.
- **X-Content-Type-Options: nosniff** on every response: a browser never reads an answer as
  another type (HTML, a script) than its `Content-Type` says.

src/_template/edge.py tells them, for every request, with the pieces below: CORS preflight requests
are answered before anything else, and the CORS headers are added to every other answer, errors
included.

Authentication and authorization are not done here: see docs/security.md for where they go.
"""

from collections.abc import Sequence

from fastapi.middleware.cors import CORSMiddleware
from starlette.types import Receive, Scope, Send

from src._template.request_context import REQUEST_ID_HEADER

# What a page may send and read: JSON bodies, a bearer token once the service has one, the
# request id; and `Retry-After` of a 503, so that the page knows when to try again.
ALLOWED_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
ALLOWED_HEADERS = ["Authorization", "Content-Type", REQUEST_ID_HEADER]
EXPOSED_HEADERS = [REQUEST_ID_HEADER, "Retry-After"]
PREFLIGHT_CACHE_SECONDS = 600
NOSNIFF = (b"x-content-type-options", b"nosniff")


def cors_policy(
    allowed_origins: Sequence[str], *, allow_credentials: bool
) -> CORSMiddleware | None:
    """Starlette's CORS rules for the origins, None for none: edge.py asks them to answer
    preflight requests and to add their headers to every other answer."""
    if not allowed_origins:
        return None
    return CORSMiddleware(
        _no_app,
        allow_origins=list(allowed_origins),
        allow_credentials=allow_credentials,
        allow_methods=ALLOWED_METHODS,
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        max_age=PREFLIGHT_CACHE_SECONDS,
    )


async def _no_app(_scope: Scope, _receive: Receive, _send: Send) -> None:
    raise RuntimeError("the CORS rules only answer and add headers; edge.py calls the app")
