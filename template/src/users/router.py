from fastapi import APIRouter, status

from src.api_types import PageLimit, PageOffset, RowId
from src.errors import error_responses
from src.users.dependencies import UserServiceDep
from src.users.schemas import UserCreate, UserRead, UserUpdate

router = APIRouter(prefix="/users", tags=["users"])

NOT_FOUND = error_responses(status.HTTP_404_NOT_FOUND)
CONFLICT = error_responses(status.HTTP_409_CONFLICT)


@router.get("/")
async def list_users(
    service: UserServiceDep,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> list[UserRead]:
    users = await service.list(limit=limit, offset=offset)
    return [UserRead.model_validate(user) for user in users]


@router.post("/", status_code=status.HTTP_201_CREATED, responses=CONFLICT)
async def create_user(data: UserCreate, service: UserServiceDep) -> UserRead:
    user = await service.create(data)
    return UserRead.model_validate(user)


@router.get("/{user_id}", responses=NOT_FOUND)
async def get_user(user_id: RowId, service: UserServiceDep) -> UserRead:
    user = await service.get(user_id)
    return UserRead.model_validate(user)


@router.patch("/{user_id}", responses=NOT_FOUND | CONFLICT)
async def update_user(user_id: RowId, data: UserUpdate, service: UserServiceDep) -> UserRead:
    user = await service.update(user_id, data)
    return UserRead.model_validate(user)


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_user(user_id: RowId, service: UserServiceDep) -> None:
    await service.delete(user_id)
