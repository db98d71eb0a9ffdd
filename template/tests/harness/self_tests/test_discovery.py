"""Domains are found, not listed (src/_template/discovery.py): every model is migrated, every router
served, and served once."""

import json
import subprocess
import sys

import pytest

from src._template import discovery
from src.config import Settings
from src.main import create_app
from tests.harness.paths import PROJECT_ROOT

# In a fresh interpreter: the tables discovery finds, then those of every module under src/.
UNDISCOVERED_TABLES = """
import importlib, json, pkgutil
import src
from src._template import discovery
from src.database import Base

discovery.import_models()
discovered = set(Base.metadata.tables)
for module in pkgutil.walk_packages(src.__path__, "src."):
    importlib.import_module(module.name)
print(json.dumps(sorted(
    f"table {mapper.local_table.name!r} ({mapper.class_.__module__}.{mapper.class_.__name__})"
    for mapper in Base.registry.mappers
    if mapper.local_table is not None and mapper.local_table.name not in discovered
)))
"""


def test_every_model_is_in_a_domains_models_module() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", UNDISCOVERED_TABLES],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    undiscovered = json.loads(completed.stdout)
    assert undiscovered == [], (
        "Models that migrations and the tests do not see; define or import them in "
        f"src/<domain>/models.py: {', '.join(undiscovered)}"
    )


def test_every_domain_router_is_served() -> None:
    paths = create_app(Settings()).openapi()["paths"]
    for router in discovery.domain_routers():
        for route in router.routes:
            path = discovery.API_PREFIX + getattr(route, "path", "")
            assert path in paths, f"{path} of a discovered router is not served"


def test_a_router_included_again_the_same_way_is_served_once() -> None:
    app = create_app(Settings())
    served = len(app.openapi()["paths"])
    for router in discovery.domain_routers():
        app.include_router(router, prefix=discovery.API_PREFIX)
    app.openapi_schema = None

    assert len(app.openapi()["paths"]) == served


def test_a_router_included_again_otherwise_is_refused() -> None:
    app = create_app(Settings())
    router = discovery.domain_routers()[0]

    with pytest.raises(ValueError, match="AUTO_INCLUDE = False"):
        app.include_router(router, prefix="/api/v2")
