"""What the users tests share: where the API lives and how to create a user through it."""

from httpx import AsyncClient

USERS = "/api/v1/users/"


async def create_user(client: AsyncClient, email: str, name: str = "Test User") -> int:
    response = await client.post(USERS, json={"email": email, "name": name})
    assert response.status_code == 201, response.text
    user_id: int = response.json()["id"]
    return user_id
