"""The notes domain, tested with the harness's fixtures and the team's own `note` fixture."""

from typing import Any

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from src.notes.models import Note

NOTES = "/api/v1/notes/"


async def test_create_note(async_client: AsyncClient, async_session: AsyncSession) -> None:
    response = await async_client.post(NOTES, json={"title": "Standup", "body": "Ship it"})

    assert response.status_code == 201
    stored = await async_session.scalar(select(Note).where(Note.id == response.json()["id"]))
    assert stored is not None
    assert (stored.title, stored.body) == ("Standup", "Ship it")


async def test_get_note(async_client: AsyncClient, note: dict[str, Any]) -> None:
    response = await async_client.get(f"{NOTES}{note['id']}")

    assert response.status_code == 200
    assert response.json() == note


async def test_note_not_found(async_client: AsyncClient) -> None:
    assert (await async_client.get(f"{NOTES}999999")).status_code == 404


async def test_notes_start_empty(async_client: AsyncClient) -> None:
    assert (await async_client.get(NOTES)).json() == []
