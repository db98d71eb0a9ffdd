"""Domains are found, not listed: a package under src/ is a domain, and

- its `models.py` is imported wherever every table must be known (migrations, the tests);
- the `router` of its `router.py` is served under /api/v1, unless that module sets
  `AUTO_INCLUDE = False` (the one way to opt out: include it yourself, as you like).

So a new domain is served, migrated and tested without editing a shared file. Packages whose
name starts with an underscore are not domains.
"""

import importlib
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI

SRC = Path(__file__).resolve().parents[1]
API_PREFIX = "/api/v1"


def domains() -> list[str]:
    """The domain packages under src/, by name, in alphabetical order."""
    return sorted(
        path.parent.name
        for path in SRC.glob("*/__init__.py")
        if not path.parent.name.startswith(("_", "."))
    )


def import_models() -> None:
    """Import every domain's models.py, so that Base.metadata lists every table."""
    for domain in domains():
        if (SRC / domain / "models.py").is_file():
            importlib.import_module(f"src.{domain}.models")


def domain_routers() -> list[APIRouter]:
    """The router of every domain that has one and does not opt out."""
    routers = []
    for domain in domains():
        if not (SRC / domain / "router.py").is_file():
            continue
        module = importlib.import_module(f"src.{domain}.router")
        if not getattr(module, "AUTO_INCLUDE", True):
            continue
        router = getattr(module, "router", None)
        if not isinstance(router, APIRouter):
            raise TypeError(
                f"src/{domain}/router.py must define `router = APIRouter(...)` to be served; "
                "set AUTO_INCLUDE = False in it to include its routes yourself."
            )
        routers.append(router)
    return routers


class ServiceApp(FastAPI):
    """FastAPI, with every domain's router included once.

    `create_app` includes the discovered routers. Including one of them again the same way
    changes nothing (services generated before discovery include theirs by hand in
    src/main.py); including it with other options is refused, since the router would be
    served twice: set AUTO_INCLUDE = False in its module instead.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.discovered_routers: set[int] = set()

    def include_discovered_routers(self) -> None:
        for router in domain_routers():
            super().include_router(router, prefix=API_PREFIX)
            self.discovered_routers.add(id(router))

    def include_router(self, router: APIRouter, *args: Any, **options: Any) -> None:
        if id(router) in self.discovered_routers:
            if args or options != {"prefix": API_PREFIX}:
                raise ValueError(
                    f"The router with prefix {router.prefix!r} is discovered and already served "
                    f"under {API_PREFIX}; to include it yourself with other options, set "
                    "AUTO_INCLUDE = False in its router.py."
                )
            return
        super().include_router(router, *args, **options)
