"""HTTP's method and status rules (RFC 9110), for every route whichever router declares it.

FastAPI routes answer exactly the methods they declare, one route per method, which leaves
gaps that clients and proxies notice:

- HEAD is answered as GET would be, without the body (HTTP requires both of every server);
- OPTIONS on an existing path is answered 204 with `Allow`;
- a 405 lists in `Allow` every method its path takes, not only those of one of its routes;
- a 204 carries no `Content-Type`, since it has no content.

edge.py applies them to every request, with the pieces below. HEAD is routed as GET and
keeps GET's headers, `Content-Length` included; the server sends no body for it (uvicorn, as
HTTP requires of every server). CORS preflight requests, where origins are configured, are
answered before this (src/browsers.py).
"""

from http import HTTPStatus

from starlette.datastructures import MutableHeaders
from starlette.routing import Host, Match, Mount
from starlette.types import Message, Scope

# The methods an `Allow` header may list, in the order RFC 9110 defines them.
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(scope: Scope) -> list[str]:
    """The methods the app answers at the request's path; empty when no route has that path.

    Each method is tried against the app's routes as the router itself would (the only way
    that sees every route, whatever nests it). Mounted apps are left out: what they take is
    theirs to say.
    """
    routes = [
        route
        for route in scope["app"].router.routes
        if not isinstance(route, Mount | Host)  # they match a prefix, whatever the method
    ]

    def routed(method: str) -> bool:
        probe = {**scope, "method": method}
        return any(route.matches(probe)[0] is Match.FULL for route in routes)

    allowed = {method for method in METHODS if method != "OPTIONS" and routed(method)}
    if not allowed:
        return []
    if "GET" in allowed:
        allowed.add("HEAD")
    return [method for method in METHODS if method in allowed or method == "OPTIONS"]


def apply_status_rules(scope: Scope, message: Message) -> None:
    """The rules of a response's status, on its `http.response.start` message: `Allow` on a
    405, no `Content-Type` on a 204."""
    status = message["status"]
    if status == HTTPStatus.METHOD_NOT_ALLOWED and (allowed := allowed_methods(scope)):
        MutableHeaders(scope=message)["Allow"] = ", ".join(allowed)
    elif status == HTTPStatus.NO_CONTENT:
        del MutableHeaders(scope=message)["Content-Type"]
