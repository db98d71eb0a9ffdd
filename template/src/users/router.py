import re
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from pydantic import BeforeValidator

from src.errors import error_responses
from src.users.dependencies import UserServiceDep
from src.users.schemas import UserCreate, UserRead, UserUpdate

router = APIRouter(prefix="/users", tags=["users"])

MAX_PAGE_SIZE = 100
MAX_BIGINT = 2**63 - 1  # ids and offsets beyond a 64-bit integer are rejected with 422


def _plain_digits(value: object) -> object:
    # Python would also read " 6", "+6", "6_0" or non-ASCII digits as integers; the schema
    # says integer, so only what JSON Schema calls one gets through.
    if isinstance(value, str) and not re.fullmatch(r"-?[0-9]+", value):
        raise ValueError("must be a whole number written in plain digits")
    return value


# After Path/Query, or their bounds drop out of the OpenAPI schema.
PLAIN_DIGITS = BeforeValidator(_plain_digits)
UserId = Annotated[int, Path(ge=1, le=MAX_BIGINT), PLAIN_DIGITS]

NOT_FOUND = error_responses(status.HTTP_404_NOT_FOUND)
CONFLICT = error_responses(status.HTTP_409_CONFLICT)


@router.get("/")
async def list_users(
    service: UserServiceDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE), PLAIN_DIGITS] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_BIGINT), PLAIN_DIGITS] = 0,
) -> list[UserRead]:
    users = await service.list(limit=limit, offset=offset)
    return [UserRead.model_validate(user) for user in users]


@router.post("/", status_code=status.HTTP_201_CREATED, responses=CONFLICT)
async def create_user(data: UserCreate, service: UserServiceDep) -> UserRead:
    user = await service.create(data)
    return UserRead.model_validate(user)


@router.get("/{user_id}", responses=NOT_FOUND)
async def get_user(user_id: UserId, service: UserServiceDep) -> UserRead:
    user = await service.get(user_id)
    return UserRead.model_validate(user)


@router.patch("/{user_id}", responses=NOT_FOUND | CONFLICT)
async def update_user(user_id: UserId, data: UserUpdate, service: UserServiceDep) -> UserRead:
    user = await service.update(user_id, data)
    return UserRead.model_validate(user)


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_user(user_id: UserId, service: UserServiceDep) -> None:
    await service.delete(user_id)
