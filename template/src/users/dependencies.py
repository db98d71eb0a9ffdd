from typing import Annotated

from fastapi import Depends

from src.database import SessionDep
from src.users.service import UserService


async def get_user_service(session: SessionDep) -> UserService:
    return UserService(session)


UserServiceDep = Annotated[UserService, Depends(get_user_service)]
