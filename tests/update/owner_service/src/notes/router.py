from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, status

from src.config import get_settings
from src.database import SessionDep
from src.errors import error_responses
from src.notes.schemas import NoteCreate, NoteRead
from src.notes.service import NoteService

router = APIRouter(prefix="/notes", tags=["notes"])


def get_note_service(session: SessionDep) -> NoteService:
    return NoteService(session)


NoteServiceDep = Annotated[NoteService, Depends(get_note_service)]
NoteId = Annotated[int, Path(ge=1, le=2**63 - 1)]  # the database's integer range


@router.post("/", status_code=status.HTTP_201_CREATED)
async def create_note(data: NoteCreate, service: NoteServiceDep) -> NoteRead:
    return NoteRead.model_validate(await service.create(data))


@router.get("/")
async def list_notes(service: NoteServiceDep) -> list[NoteRead]:
    notes = await service.list(limit=get_settings().notes_page_size)
    return [NoteRead.model_validate(note) for note in notes]


@router.get("/{note_id}", responses=error_responses(status.HTTP_404_NOT_FOUND))
async def get_note(note_id: NoteId, service: NoteServiceDep) -> NoteRead:
    note = await service.get(note_id)
    if note is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"Note {note_id} not found")
    return NoteRead.model_validate(note)
