# Template-owned (kept current by `copier update`), like everything in tests/harness/
"""Secure, documented settings: every setting in .env.example, docs switchable, no debug."""

from dotenv import dotenv_values
from httpx import ASGITransport, AsyncClient

from src.config import Settings
from src.main import create_app
from tests.harness.paths import PROJECT_ROOT

ENV_EXAMPLE = PROJECT_ROOT / ".env.example"


def documented_settings() -> dict[str, str]:
    # Read the way pydantic-settings reads a .env file (with python-dotenv): quotes and all.
    return {name: value or "" for name, value in dotenv_values(ENV_EXAMPLE).items()}


def test_env_example_documents_every_setting_with_its_default() -> None:
    # The declared defaults, not Settings(): the environment running the tests may set some.
    defaults = {name.upper(): field.default for name, field in Settings.model_fields.items()}

    documented = documented_settings()

    undocumented = sorted(defaults.keys() - documented.keys())
    assert not undocumented, f"Document these settings in .env.example: {undocumented}"
    assert documented.keys() <= defaults.keys(), ".env.example lists settings that do not exist"
    for name, value in documented.items():
        assert str(defaults[name]).lower() == value.lower(), name


def test_debug_is_off_by_default() -> None:
    assert Settings.model_fields["debug"].default is False
    assert Settings.model_fields["database_echo"].default is False


async def test_docs_can_be_switched_off() -> None:
    app = create_app(Settings(_env_file=None, docs_enabled=False))

    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        for path in ["/docs", "/redoc", "/openapi.json"]:
            assert (await client.get(path)).status_code == 404, path


async def test_docs_are_served_when_enabled() -> None:
    app = create_app(Settings(_env_file=None, docs_enabled=True))

    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        for path in ["/docs", "/redoc", "/openapi.json"]:
            assert (await client.get(path)).status_code == 200, path
