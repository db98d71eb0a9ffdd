"""Routes an owner adds to the generated service, as FastAPI's docs and public issues write
them: included into `src.main.app` when conftest.py loads, before the first request, and left
out of the OpenAPI schema (the project's own schema and contract tests never see them)."""

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Header, HTTPException, Request, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from src._template.database import create_engine
from src.config import get_settings
from src.database import SessionDep, app_database
from src.users.models import User
from tests.owner_patterns.tables import REFERENCE_PROBE, accounts, audit_log

router = APIRouter(prefix="/patterns", include_in_schema=False)

# Tasks the app starts with asyncio.create_task, kept as asyncio's docs say (the loop keeps
# only weak references), one set per kind of job; a test that waits for its jobs awaits them.
CREATED_USER_TASKS: set[asyncio.Task[None]] = set()
SLOW_JOBS: set[asyncio.Task[None]] = set()
REMINDERS: set[asyncio.Task[None]] = set()
# How long the slow job holds the database, and a withdrawal "calls the payment provider".
SLOW_JOB_SECONDS = 0.3
PROVIDER_CALL_SECONDS = 0.02
# How long a reminder waits before it is written: far beyond any test.
REMINDER_DELAY_SECONDS = 60.0
# How long /patterns/hold waits for /patterns/signal before giving up.
HOLD_SECONDS = 1.0
SIGNAL = asyncio.Event()
# Set by /patterns/hold once it holds the database and waits.
WAITING = asyncio.Event()


class NewUser(BaseModel):
    email: str
    name: str


class Withdrawal(BaseModel):
    amount: int


def keep(task: asyncio.Task[None], tasks: set[asyncio.Task[None]]) -> None:
    tasks.add(task)
    task.add_done_callback(tasks.discard)


# BackgroundTasks: https://fastapi.tiangolo.com/tutorial/background-tasks/ ; since FastAPI
# 0.106 a background task opens its own session (the request's is closed by then).
async def record_welcome(request: Request, email: str) -> None:
    async with app_database(request.app).sessionmaker() as session:
        session.add(User(email=email, name="welcomed in the background"))
        await session.commit()


@router.post("/welcome", status_code=status.HTTP_202_ACCEPTED)
async def welcome(data: NewUser, request: Request, tasks: BackgroundTasks) -> dict[str, str]:
    tasks.add_task(record_welcome, request, data.email)
    return {"queued": data.email}


async def create_user_later(request: Request, email: str) -> None:
    await asyncio.sleep(0)  # the request has answered by now
    async with app_database(request.app).sessionmaker() as session:
        session.add(User(email=email, name="created by a task"))
        await session.commit()


@router.post("/tasks/create-user", status_code=status.HTTP_202_ACCEPTED)
async def start_task(data: NewUser, request: Request) -> dict[str, str]:
    keep(asyncio.create_task(create_user_later(request, data.email)), CREATED_USER_TASKS)
    return {"started": data.email}


async def slow_job(request: Request, email: str) -> None:
    async with app_database(request.app).sessionmaker() as session:
        session.add(User(email=email, name="slow job"))
        await session.flush()  # holds the connection from here...
        await asyncio.sleep(SLOW_JOB_SECONDS)
        await session.commit()  # ...to here


@router.post("/tasks/slow", status_code=status.HTTP_202_ACCEPTED)
async def start_slow_job(data: NewUser, request: Request) -> dict[str, str]:
    keep(asyncio.create_task(slow_job(request, data.email)), SLOW_JOBS)
    return {"started": data.email}


async def remind_later(request: Request, email: str) -> None:
    await asyncio.sleep(REMINDER_DELAY_SECONDS)
    async with app_database(request.app).sessionmaker() as session:
        session.add(User(email=email, name="reminded"))
        await session.commit()


@router.post("/tasks/remind", status_code=status.HTTP_202_ACCEPTED)
async def start_reminder(data: NewUser, request: Request) -> dict[str, str]:
    keep(asyncio.create_task(remind_later(request, data.email)), REMINDERS)
    return {"reminder": data.email}


async def audit(request: Request, event: str) -> None:
    """An audit row in a transaction of its own on the app's engine, beside the request's."""
    async with app_database(request.app).engine.begin() as connection:
        await connection.execute(insert(audit_log).values(event=event))


@router.post("/audited-users", status_code=status.HTTP_201_CREATED)
async def create_audited_user(
    data: NewUser, session: SessionDep, request: Request
) -> dict[str, Any]:
    user = User(email=data.email, name=data.name)
    session.add(user)
    await session.flush()
    await audit(request, f"created {data.email}")
    return {"id": user.id}


@router.post("/audited-users/refused", status_code=status.HTTP_201_CREATED)
async def refuse_audited_user(data: NewUser, session: SessionDep, request: Request) -> None:
    """Writes the user, audits the attempt, then refuses: the request's session rolls back,
    the audit row (its own transaction, committed) stays, as in production."""
    session.add(User(email=data.email, name=data.name))
    await session.flush()
    await audit(request, f"refused {data.email}")
    raise HTTPException(status.HTTP_409_CONFLICT, "refused after review")


@router.post("/audited-users/audit-first", status_code=status.HTTP_201_CREATED)
async def audit_first(data: NewUser, session: SessionDep, request: Request) -> dict[str, Any]:
    """The audit transaction is open when the request's session first reaches the database,
    and ends before it: two transactions of one task, overlapping, not nested."""
    async with app_database(request.app).engine.begin() as connection:
        await connection.execute(insert(audit_log).values(event=f"creating {data.email}"))
        user = User(email=data.email, name=data.name)
        session.add(user)
        await session.flush()
    return {"id": user.id}


@router.post("/connect-commit", status_code=status.HTTP_201_CREATED)
async def connect_and_commit(request: Request) -> dict[str, str]:
    """SQLAlchemy 2.0's "commit as you go" on a connection of the app's engine."""
    async with app_database(request.app).engine.connect() as connection:
        await connection.execute(insert(audit_log).values(event="connect and commit"))
        await connection.commit()
    return {"status": "written"}


@router.post("/accounts/{account_id}/withdraw")
async def withdraw(account_id: int, data: Withdrawal, session: SessionDep) -> dict[str, int]:
    row = (
        await session.execute(
            select(accounts.c.balance).where(accounts.c.id == account_id).with_for_update()
        )
    ).one()
    await asyncio.sleep(PROVIDER_CALL_SECONDS)  # the payment provider answers
    if row.balance < data.amount:
        raise HTTPException(status.HTTP_409_CONFLICT, "insufficient funds")
    balance = row.balance - data.amount
    await session.execute(
        update(accounts).where(accounts.c.id == account_id).values(balance=balance)
    )
    return {"balance": balance}


@router.post("/hold")
async def hold(session: SessionDep) -> dict[str, bool]:
    """Holds the database while it waits for /patterns/signal (a long poll, bounded)."""
    await session.execute(select(func.count()).select_from(User))
    WAITING.set()
    try:
        async with asyncio.timeout(HOLD_SECONDS):
            await SIGNAL.wait()
    except TimeoutError:
        return {"signalled": False}
    return {"signalled": True}


@router.post("/signal")
async def signal(session: SessionDep) -> dict[str, bool]:
    await session.execute(select(func.count()).select_from(User))
    SIGNAL.set()
    return {"signalled": True}


@router.post("/users/expire-on-commit", status_code=status.HTTP_201_CREATED)
async def create_with_default_sessionmaker(data: NewUser, request: Request) -> dict[str, str]:
    """An owner's own session factory with SQLAlchemy's default expire_on_commit=True: reading
    an attribute after the commit loads it lazily, outside an await (MissingGreenlet)."""
    sessionmaker = async_sessionmaker(app_database(request.app).engine)
    async with sessionmaker() as session:
        user = User(email=data.email, name=data.name)
        session.add(user)
        await session.commit()
        return {"name": user.name}


@router.post("/users/twice", status_code=status.HTTP_201_CREATED)
async def commit_twice(data: NewUser, session: SessionDep) -> dict[str, Any]:
    user = User(email=data.email, name=data.name)
    session.add(user)
    await session.commit()
    user.name = f"{data.name} (confirmed)"
    await session.commit()  # and get_session_db commits once more after the handler
    return {"id": user.id, "name": user.name}


@router.post("/users/import")
async def import_users(people: list[NewUser], session: SessionDep) -> dict[str, int]:
    """Each row in a SAVEPOINT of its own: a duplicate is skipped, the others are kept."""
    created = skipped = 0
    for person in people:
        try:
            async with session.begin_nested():
                session.add(User(email=person.email, name=person.name))
        except IntegrityError:
            skipped += 1
        else:
            created += 1
    return {"created": created, "skipped": skipped}


@router.get("/users.csv")
async def users_csv(request: Request) -> StreamingResponse:
    """Rows streamed from a session of the streaming generator's own (the request's session is
    closed before the body is sent)."""

    async def lines() -> AsyncIterator[str]:
        yield "id,email\n"
        async with app_database(request.app).sessionmaker() as session:
            rows = await session.stream(select(User.id, User.email).order_by(User.id))
            async for user_id, email in rows:
                yield f"{user_id},{email}\n"

    return StreamingResponse(lines(), media_type="text/csv")


async def get_current_user(
    session: SessionDep, authorization: Annotated[str | None, Header()] = None
) -> User:
    email = (authorization or "").removeprefix("Bearer ")
    user = await session.scalar(select(User).where(User.email == email))
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not authenticated")
    return user


@router.get("/me")
async def me(user: Annotated[User, Depends(get_current_user)]) -> dict[str, str]:
    return {"email": user.email, "name": user.name}


@router.get("/db-now")
async def database_now(session: SessionDep) -> dict[str, str]:
    now = await session.scalar(select(func.now()))
    return {"now": now.isoformat() if now is not None else ""}


@router.post("/escape", status_code=status.HTTP_201_CREATED)
async def write_through_an_engine_of_its_own(data: NewUser) -> dict[str, str]:
    """An owner's mistake: an engine built from the settings, in a request."""
    engine = create_engine(get_settings().database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(insert(User).values(email=data.email, name=data.name))
    finally:
        await engine.dispose()
    return {"status": "written"}


@router.get("/reference")
async def reference_data(session: SessionDep) -> dict[str, list[str]]:
    probes = await session.scalars(
        text("SELECT version_num FROM alembic_version WHERE version_num = :probe"),
        {"probe": REFERENCE_PROBE},
    )
    return {"reference": list(probes)}
