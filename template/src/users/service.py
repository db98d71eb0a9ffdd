from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from src.users.exceptions import EmailAlreadyRegisteredError, UserNotFoundError
from src.users.models import User
from src.users.schemas import UserCreate, UserUpdate


class UserService:
    """User use cases. Transactions belong to the caller (`get_session_db`); this only flushes."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list(self, *, limit: int, offset: int) -> Sequence[User]:
        result = await self.session.scalars(
            select(User).order_by(User.id).limit(limit).offset(offset)
        )
        return result.all()

    async def get(self, user_id: int) -> User:
        user = await self.session.get(User, user_id)
        if user is None:
            raise UserNotFoundError(user_id)
        return user

    async def create(self, data: UserCreate) -> User:
        user = User(email=data.email, name=data.name)
        self.session.add(user)
        await self._flush_unique_email(data.email)
        await self.session.refresh(user)
        return user

    async def update(self, user_id: int, data: UserUpdate) -> User:
        user = await self.get(user_id)
        changes = data.changes()
        for field, value in changes.items():
            setattr(user, field, value)
        if "email" in changes:
            await self._flush_unique_email(changes["email"])
        return user

    async def delete(self, user_id: int) -> None:
        user = await self.get(user_id)
        await self.session.delete(user)
        await self.session.flush()

    async def _flush_unique_email(self, email: str) -> None:
        # The unique constraint is the source of truth (no check-then-insert race); a savepoint
        # keeps the request's transaction usable after the violation.
        try:
            async with self.session.begin_nested():
                await self.session.flush()
        except IntegrityError as exc:
            raise EmailAlreadyRegisteredError(email) from exc
