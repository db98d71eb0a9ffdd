"""Integration tests for /api/v1/users/: real app, real transactions, isolated per test."""

import re

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from src.users.models import User
from tests.integration.users_api import USERS, create_user


class TestUserEndpoints:
    """Test suite for user API endpoints."""

    async def test_get_users_empty_list(self, async_client: AsyncClient) -> None:
        response = await async_client.get(USERS)

        assert response.status_code == 200
        assert response.json() == []

    async def test_create_user(self, async_client: AsyncClient) -> None:
        payload = {"email": "test@example.com", "name": "Test User"}
        response = await async_client.post(USERS, json=payload)

        assert response.status_code == 201
        data = response.json()
        assert data["email"] == payload["email"]
        assert data["name"] == payload["name"]
        assert isinstance(data["id"], int)

    async def test_timestamps_have_microseconds_on_every_database(
        self, async_client: AsyncClient
    ) -> None:
        # Taken by the app (src.database.utc_now), not the server: SQLite's own clock has whole
        # seconds only. Three users: one of them lands on a whole second once in 10**18 runs.
        stamps = []
        for number in range(3):
            user_id = await create_user(async_client, f"stamp{number}@example.com")
            stamps.append((await async_client.get(f"{USERS}{user_id}")).json()["created_at"])

        assert any(re.search(r"T\d\d:\d\d:\d\d\.\d{6}Z$", stamp) for stamp in stamps), stamps

    async def test_created_user_is_persisted(
        self, async_client: AsyncClient, async_session: AsyncSession
    ) -> None:
        user_id = await create_user(async_client, "persisted@example.com")

        response = await async_client.get(f"{USERS}{user_id}")
        assert response.status_code == 200
        assert response.json()["email"] == "persisted@example.com"
        stored = await async_session.scalar(select(User).where(User.id == user_id))
        assert stored is not None
        assert stored.email == "persisted@example.com"

    async def test_user_not_found(self, async_client: AsyncClient) -> None:
        response = await async_client.get(f"{USERS}999999")

        assert response.status_code == 404
        assert "detail" in response.json()

    async def test_create_user_invalid_email(self, async_client: AsyncClient) -> None:
        payload = {"email": "not-an-email", "name": "Test"}
        response = await async_client.post(USERS, json=payload)

        assert response.status_code == 422
        assert "detail" in response.json()

    async def test_create_user_missing_name(self, async_client: AsyncClient) -> None:
        response = await async_client.post(USERS, json={"email": "a@example.com"})

        assert response.status_code == 422

    async def test_duplicate_email_conflicts(
        self, async_client: AsyncClient, async_session: AsyncSession
    ) -> None:
        await create_user(async_client, "taken@example.com")

        response = await async_client.post(
            USERS, json={"email": "taken@example.com", "name": "Someone Else"}
        )

        assert response.status_code == 409
        assert "detail" in response.json()
        count = await async_session.scalar(select(func.count()).select_from(User))
        assert count == 1

    async def test_database_still_usable_after_conflict(self, async_client: AsyncClient) -> None:
        await create_user(async_client, "first@example.com")
        conflict = await async_client.post(USERS, json={"email": "first@example.com", "name": "X"})
        assert conflict.status_code == 409

        await create_user(async_client, "second@example.com")
        response = await async_client.get(USERS)
        assert [user["email"] for user in response.json()] == [
            "first@example.com",
            "second@example.com",
        ]

    async def test_update_existing_user(
        self, async_client: AsyncClient, async_session: AsyncSession
    ) -> None:
        # Setup through the session; commit() makes the row visible to the app.
        user = User(email="old@example.com", name="Old Name")
        async_session.add(user)
        await async_session.commit()
        await async_session.refresh(user)

        response = await async_client.patch(f"{USERS}{user.id}", json={"name": "New Name"})

        assert response.status_code == 200
        assert response.json()["name"] == "New Name"
        await async_session.refresh(user)
        assert user.name == "New Name"

    async def test_update_to_taken_email_conflicts(self, async_client: AsyncClient) -> None:
        await create_user(async_client, "one@example.com")
        second_id = await create_user(async_client, "two@example.com")

        response = await async_client.patch(
            f"{USERS}{second_id}", json={"email": "one@example.com"}
        )

        assert response.status_code == 409
        unchanged = await async_client.get(f"{USERS}{second_id}")
        assert unchanged.json()["email"] == "two@example.com"

    async def test_update_missing_user(self, async_client: AsyncClient) -> None:
        response = await async_client.patch(f"{USERS}999999", json={"name": "Nobody"})

        assert response.status_code == 404

    async def test_update_invalid_email(self, async_client: AsyncClient) -> None:
        user_id = await create_user(async_client, "valid@example.com")

        response = await async_client.patch(f"{USERS}{user_id}", json={"email": "nope"})

        assert response.status_code == 422

    async def test_delete_user(self, async_client: AsyncClient) -> None:
        user_id = await create_user(async_client, "gone@example.com")

        response = await async_client.delete(f"{USERS}{user_id}")
        assert response.status_code == 204

        assert (await async_client.get(f"{USERS}{user_id}")).status_code == 404
        assert (await async_client.delete(f"{USERS}{user_id}")).status_code == 404

    async def test_a_deleted_users_id_is_never_given_again(self, async_client: AsyncClient) -> None:
        deleted_id = await create_user(async_client, "deleted@example.com")
        assert (await async_client.delete(f"{USERS}{deleted_id}")).status_code == 204

        new_id = await create_user(async_client, "newcomer@example.com")

        assert new_id > deleted_id
        assert (await async_client.get(f"{USERS}{deleted_id}")).status_code == 404

    async def test_list_pagination(self, async_client: AsyncClient) -> None:
        ids = [await create_user(async_client, f"user{i}@example.com") for i in range(5)]

        first_page = await async_client.get(USERS, params={"limit": 2})
        second_page = await async_client.get(USERS, params={"limit": 2, "offset": 2})
        last_page = await async_client.get(USERS, params={"limit": 2, "offset": 4})

        assert [user["id"] for user in first_page.json()] == ids[:2]
        assert [user["id"] for user in second_page.json()] == ids[2:4]
        assert [user["id"] for user in last_page.json()] == ids[4:]

    @pytest.mark.parametrize(
        "params", [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "many"}]
    )
    async def test_list_rejects_out_of_range_pagination(
        self, async_client: AsyncClient, params: dict[str, str | int]
    ) -> None:
        response = await async_client.get(USERS, params=params)

        assert response.status_code == 422


async def test_health_touches_database(async_client: AsyncClient) -> None:
    response = await async_client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
