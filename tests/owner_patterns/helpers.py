"""What several patterns share: the sample domain's API, as an owner's tests call it."""

from httpx import AsyncClient

USERS = "/api/v1/users/"


def person(name: str) -> dict[str, str]:
    return {"email": f"{name.lower()}@example.com", "name": name}


async def emails(client: AsyncClient) -> list[str]:
    response = await client.get(USERS)
    assert response.status_code == 200, response.text
    return [user["email"] for user in response.json()]
