"""What the harness needs from the project's own code, in one place.

The harness (and the template's tests outside tests/harness/) import these names and nothing
else from the files you own or share (src/main.py, src/config.py, src/database.py); the rest
they take from the template's own src/_template/. Rename or
move one and the test run stops before any test with one line naming it and what it must be,
instead of an ImportError deep in a plugin: keep the name, or import the new one under it.

`check_project` runs before any test module is imported (`pytest_configure` in
tests/harness/_plugin.py).
"""

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI


class ContractError(Exception):
    """A name the harness needs is missing or is not what it must be."""


@dataclass(frozen=True)
class Requirement:
    module: str
    name: str
    must_be: str
    accepts: Callable[[object], bool] = callable

    @property
    def path(self) -> str:
        return self.module.replace(".", "/") + ".py"


def _is_fastapi_app(value: object) -> bool:
    return isinstance(value, FastAPI)


def _has_metadata(value: object) -> bool:
    return hasattr(value, "metadata")


# In import order: a module is checked before the modules that import it, so a rename is
# reported where it happened, not where it is used.
REQUIREMENTS = (
    Requirement(
        "src.config",
        "DEFAULT_DATABASE_URL",
        "the app's database URL when DATABASE_URL is not set, a string: the test database's "
        "default is derived from it",
        lambda value: isinstance(value, str),
    ),
    Requirement(
        "src.config",
        "ASYNC_SCHEMES",
        "the database URL schemes without an async driver, each with the URL to write instead "
        "(a dict): the harness refuses them in TEST_DATABASE_URL as the settings do in "
        "DATABASE_URL",
        lambda value: isinstance(value, dict),
    ),
    Requirement("src.config", "Settings", "the app's settings class", inspect.isclass),
    Requirement(
        "src.config",
        "get_settings",
        "get_settings() -> Settings, cached (functools.cache or lru_cache): the settings the "
        "app runs with; the harness points their `database_url` at the test database",
        lambda value: callable(value) and hasattr(value, "cache_clear"),
    ),
    Requirement(
        "src.database", "get_session_db", "the request's session dependency, which routes depend on"
    ),
    Requirement(
        "src.database",
        "Base",
        "the declarative base whose metadata lists every table (the migrations' drift test)",
        _has_metadata,
    ),
    Requirement(
        "src.main",
        "create_app",
        "create_app(settings) -> FastAPI, the app factory: harness tests build apps with "
        "other settings",
    ),
    Requirement(
        "src.main",
        "app",
        "the FastAPI application under test (`from src.main import app`)",
        _is_fastapi_app,
    ),
)


def check_project(requirements: tuple[Requirement, ...] = REQUIREMENTS) -> None:
    """Raise ContractError naming the first requirement the project does not meet.

    Any other error raised while importing the project's modules is the project's own and is
    left alone, with its traceback.
    """
    for requirement in requirements:
        try:
            module = importlib.import_module(requirement.module)
        except ModuleNotFoundError as error:
            if error.name != requirement.module:
                raise
            raise ContractError(
                f"The test harness needs {requirement.path}, which does not exist. "
                f"It must define `{requirement.name}`: {requirement.must_be}."
            ) from None
        if not hasattr(module, requirement.name):
            problem = "is missing"
        elif not requirement.accepts(getattr(module, requirement.name)):
            problem = "is not what the harness expects"
        else:
            continue
        raise ContractError(
            f"The test harness needs `{requirement.name}` in {requirement.path}, and it "
            f"{problem}. It must be {requirement.must_be}. If you renamed it, import the new "
            f"name under the old one there (tests/harness/contract.py lists every name)."
        )
