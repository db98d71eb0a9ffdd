from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from src.notes.models import Note
from src.notes.schemas import NoteCreate


class NoteService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, data: NoteCreate) -> Note:
        note = Note(title=data.title, body=data.body)
        self.session.add(note)
        await self.session.flush()
        return note

    async def get(self, note_id: int) -> Note | None:
        return await self.session.get(Note, note_id)

    async def list(self, *, limit: int) -> Sequence[Note]:
        return (await self.session.scalars(select(Note).order_by(Note.id).limit(limit))).all()
