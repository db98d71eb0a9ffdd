"""What several patterns share: the sample domain's API, as an owner's tests call it."""

import asyncio

from httpx import AsyncClient
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.owner_patterns.tables import accounts

USERS = "/api/v1/users/"


def person(name: str) -> dict[str, str]:
    return {"email": f"{name.lower()}@example.com", "name": name}


async def emails(client: AsyncClient) -> list[str]:
    response = await client.get(USERS)
    assert response.status_code == 200, response.text
    return [user["email"] for user in response.json()]


async def withdraw_70_twice_from_100(client: AsyncClient, session: AsyncSession) -> None:
    """Two withdrawals of 70 at once from an account of 100: one is refused (409)."""
    await session.execute(insert(accounts).values(id=1, owner="ada", balance=100))
    await session.commit()

    responses = await asyncio.gather(
        *(client.post("/patterns/accounts/1/withdraw", json={"amount": 70}) for _ in "ab")
    )

    assert sorted(response.status_code for response in responses) == [200, 409]
    balance = await session.scalar(select(accounts.c.balance).where(accounts.c.id == 1))
    assert balance == 30
