"""What browsers are told (src/_template/browsers.py): CORS for the configured origins only, and
`nosniff` on every answer; settings that would open the API to every site are refused."""

import pytest
from httpx import ASGITransport, AsyncClient
from pydantic import ValidationError

from src.config import Settings
from src.main import create_app

ALLOWED = "https://app.example.com"
OTHER = "https://elsewhere.example.net"


def client_for(settings: Settings) -> AsyncClient:
    return AsyncClient(transport=ASGITransport(app=create_app(settings)), base_url="http://test")


async def test_an_allowed_origin_gets_the_cors_headers() -> None:
    async with client_for(Settings(cors_allowed_origins=[ALLOWED])) as client:
        response = await client.get("/health/live", headers={"Origin": ALLOWED})

    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()


async def test_another_origin_gets_none() -> None:
    async with client_for(Settings(cors_allowed_origins=[ALLOWED])) as client:
        response = await client.get("/health/live", headers={"Origin": OTHER})
        preflight = await client.options(
            "/health/live", headers={"Origin": OTHER, "Access-Control-Request-Method": "GET"}
        )

    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-origin" not in preflight.headers


async def test_a_preflight_from_an_allowed_origin_is_answered() -> None:
    async with client_for(Settings(cors_allowed_origins=[ALLOWED])) as client:
        preflight = await client.options(
            "/health/live",
            headers={
                "Origin": ALLOWED,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )

    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in preflight.headers["access-control-allow-methods"]


async def test_by_default_no_origin_is_allowed() -> None:
    async with client_for(Settings()) as client:
        response = await client.get("/health/live", headers={"Origin": ALLOWED})

    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize("path", ["/health/live", "/nowhere"], ids=["200", "404"])
async def test_every_answer_says_nosniff(path: str) -> None:
    async with client_for(Settings()) as client:
        response = await client.get(path)

    assert response.headers["x-content-type-options"] == "nosniff"


def test_any_origin_with_credentials_is_refused() -> None:
    with pytest.raises(ValidationError, match="list the origins instead"):
        Settings(cors_allowed_origins=["*"], cors_allow_credentials=True)


def test_any_origin_without_credentials_is_allowed() -> None:
    assert Settings(cors_allowed_origins=["*"]).cors_allowed_origins == ["*"]


@pytest.mark.parametrize(
    "origin", ["https://app.example.com/", "app.example.com", "https://app.example.com/path"]
)
def test_what_is_not_an_origin_is_refused(origin: str) -> None:
    with pytest.raises(ValidationError, match="is not an origin"):
        Settings(cors_allowed_origins=[origin])
