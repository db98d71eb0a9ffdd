"""HEAD, OPTIONS, `Allow` and 204 as HTTP defines them (src/_template/http_semantics.py), for routes
of every router: tested on an app of its own with one collection and one item path."""

from collections.abc import AsyncIterator

import pytest
from fastapi import APIRouter, FastAPI, status
from httpx import ASGITransport, AsyncClient

from src.config import Settings
from src.main import create_app

COLLECTION_METHODS = "GET, HEAD, POST, OPTIONS"
ITEM_METHODS = "GET, HEAD, PATCH, DELETE, OPTIONS"


def app_with_routes() -> FastAPI:
    app = create_app(Settings())
    things = APIRouter(prefix="/things")

    @things.get("/")
    async def list_things() -> list[int]:
        return [1, 2]

    @things.post("/", status_code=status.HTTP_201_CREATED)
    async def create_thing() -> int:
        return 3

    @things.get("/{thing_id}")
    async def get_thing(thing_id: int) -> int:
        return thing_id

    @things.patch("/{thing_id}")
    async def update_thing(thing_id: int) -> int:
        return thing_id

    @things.delete("/{thing_id}", status_code=status.HTTP_204_NO_CONTENT)
    async def delete_thing(thing_id: int) -> None:
        del thing_id

    app.include_router(things, prefix="/api")
    return app


@pytest.fixture
async def client() -> AsyncIterator[AsyncClient]:
    transport = ASGITransport(app=app_with_routes())
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_head_is_answered_like_get_without_the_body(client: AsyncClient) -> None:
    get = await client.get("/api/things/")
    head = await client.head("/api/things/")

    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"] == str(len(get.content))
    assert head.headers["content-type"] == get.headers["content-type"]


@pytest.mark.parametrize(
    ("path", "allowed"),
    [("/api/things/", COLLECTION_METHODS), ("/api/things/7", ITEM_METHODS)],
)
async def test_options_lists_the_methods_of_the_path(
    client: AsyncClient, path: str, allowed: str
) -> None:
    response = await client.options(path)

    assert response.status_code == 204
    assert response.headers["allow"] == allowed
    assert response.content == b""


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/things/", COLLECTION_METHODS),
        ("DELETE", "/api/things/", COLLECTION_METHODS),
        ("POST", "/api/things/7", ITEM_METHODS),
        ("TRACE", "/api/things/7", ITEM_METHODS),
    ],
)
async def test_405_lists_every_method_of_the_path(
    client: AsyncClient, method: str, path: str, allowed: str
) -> None:
    response = await client.request(method, path)

    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    assert response.json()["detail"] == "Method Not Allowed"


async def test_head_where_get_is_not_allowed_is_405(client: AsyncClient) -> None:
    app = create_app(Settings())

    @app.post("/only-post")
    async def only_post() -> int:
        return 1

    transport = ASGITransport(app=app)
    async with AsyncClient(transport=transport, base_url="http://test") as only_post_client:
        response = await only_post_client.head("/only-post")

    assert response.status_code == 405
    assert response.headers["allow"] == "POST, OPTIONS"
    assert response.content == b""


async def test_unknown_paths_stay_404_for_every_method(client: AsyncClient) -> None:
    for method in ("GET", "HEAD", "OPTIONS", "DELETE"):
        response = await client.request(method, "/api/nothing-here")
        assert response.status_code == 404, method
        assert "allow" not in response.headers


async def test_204_has_no_body_and_no_content_type(client: AsyncClient) -> None:
    response = await client.delete("/api/things/7")

    assert response.status_code == 204
    assert response.content == b""
    assert "content-type" not in response.headers
    assert "content-length" not in response.headers
