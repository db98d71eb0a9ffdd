"""9.0.0 moved the template's modules from src/ into src/_template/. A service generated before
keeps a stub at each old path (copier.yml's moved_module_stubs), so that an owner's edit to a
moved module conflicts with the stub instead of being deleted, and code written against the
old import paths keeps working; a new service gets no stub, on its first update or any later.
"""

from pathlib import Path

import pytest
import yaml

from tests.support.edits import Edit, apply_edits
from tests.support.rendering import (
    DEFAULT_ANSWERS,
    IN_FILE_ORDER,
    assert_suite_passed,
    run_project_pytest,
)
from tests.update.repository import (
    RELEASES,
    TemplateRepository,
    commit_all,
    find_conflicts,
    generate,
    git,
    update,
)

MOVED_MODULES = (
    "browsers",
    "discovery",
    "health",
    "http_semantics",
    "limits",
    "logs",
    "request_context",
    "sqlite_inline",
    "text",
)

# An owner's change to a module that moved, written where 7.2.0 kept it: a longer message.
EDITED_MOVED_MODULE = Edit(
    "src/limits.py",
    'detail = f"Request body too large for us: the limit is {max_body_bytes} bytes"',
    old='detail = f"Request body too large: the limit is {max_body_bytes} bytes"',
)
# An owner's change to the sample domain, which 9.0.0 rebuilt on src/api_types.py: pages of
# up to 200 users.
EDITED_USERS = Edit("src/users/router.py", "MAX_PAGE_SIZE = 200", old="MAX_PAGE_SIZE = 100")

# A domain written against 7.2.0's import paths, each of them used.
TAGS_DOMAIN = (
    Edit("src/tags/__init__.py", ""),
    Edit(
        "src/tags/models.py",
        """from datetime import datetime

from sqlalchemy import DateTime
from sqlalchemy.orm import Mapped, mapped_column

from src.database import Base, utc_now


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
""",
    ),
    Edit(
        "src/tags/router.py",
        """from http import HTTPStatus
from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from src.api_types import RowId
from src.database import SessionDep, app_database
from src.errors import DomainError, error_responses
from src.tags.models import Tag
from src.text import LINE_PATTERN, in_nfc

router = APIRouter(prefix="/tags", tags=["tags"])


class TagNotFoundError(DomainError):
    status_code = HTTPStatus.NOT_FOUND


class TagRead(BaseModel):
    id: int
    label: Annotated[str, Field(pattern=LINE_PATTERN, max_length=40), in_nfc(40)]


@router.get("/count")
async def count_tags(request: Request) -> int:
    async with app_database(request.app).sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Tag)) or 0)


@router.get("/{tag_id}", responses=error_responses(404))
async def get_tag(tag_id: RowId, session: SessionDep) -> TagRead:
    tag = await session.get(Tag, tag_id)
    if tag is None:
        raise TagNotFoundError(f"Tag {tag_id} not found")
    return TagRead(id=tag.id, label=tag.label)
""",
    ),
    Edit(
        "migrations/versions/0002_create_tags.py",
        '''"""create tags

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
    )


def downgrade() -> None:
    op.drop_table("tags")
''',
    ),
    Edit(
        "tests/integration/test_tags.py",
        """from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from src.tags.models import Tag


async def test_a_tag_is_read_and_counted(
    async_client: AsyncClient, async_session: AsyncSession
) -> None:
    tag = Tag(label="urgent")
    async_session.add(tag)
    await async_session.commit()

    read = await async_client.get(f"/api/v1/tags/{tag.id}")
    count = await async_client.get("/api/v1/tags/count")
    missing = await async_client.get(f"/api/v1/tags/{tag.id + 1}")

    assert read.json() == {"id": tag.id, "label": "urgent"}
    assert count.json() == 1
    assert missing.status_code == 404
""",
    ),
)


def stored_answer(project: Path, name: str) -> object:
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    return answers.get(name)


@pytest.fixture
def template(tmp_path: Path) -> TemplateRepository:
    return TemplateRepository(tmp_path / "template")


@pytest.mark.update_chain
def test_a_service_from_7_2_keeps_its_edits_to_moved_modules_and_its_old_imports(
    template: TemplateRepository, tmp_path: Path
) -> None:
    template.replace_with_commit(RELEASES["7.2.0"])
    template.release("7.2.0", "Release 7.2.0")
    template.replace_with_working_tree()
    current = template.release("9.0.0.post1", "The working tree")
    project = generate(template, "7.2.0", tmp_path / "service", DEFAULT_ANSWERS)
    apply_edits(project, (EDITED_MOVED_MODULE, EDITED_USERS, *TAGS_DOMAIN))
    commit_all(project, "A larger body limit, longer pages, and a tags domain")

    update(project, current)

    assert stored_answer(project, "moved_module_stubs") is True
    # What the update costs this owner: one conflict per edited file that 9.0.0 rewrote,
    # each holding the owner's line; nothing else.
    conflicts = find_conflicts(project)
    assert conflicts.unmerged == ["src/limits.py", "src/users/router.py"], conflicts
    assert EDITED_MOVED_MODULE.new in (project / "src/limits.py").read_text(encoding="utf-8")
    assert EDITED_USERS.new in (project / "src/users/router.py").read_text(encoding="utf-8")

    # Resolved by taking the template's side (stage 3), as the CHANGELOG's steps say, the
    # service passes its suite with the domain written against the old paths.
    git(project, "checkout", "--theirs", "--", "src/limits.py", "src/users/router.py")
    git(project, "add", "--all")
    for module in MOVED_MODULES:
        assert (project / "src" / f"{module}.py").is_file(), module
    assert_suite_passed(run_project_pytest(project, IN_FILE_ORDER))


@pytest.mark.update_chain
def test_a_new_service_never_gets_the_stubs(template: TemplateRepository, tmp_path: Path) -> None:
    template.replace_with_working_tree()
    first = template.release("9.0.0", "The working tree")
    apply_edits(template.path / "template", (Edit("src/_template/logs.py", "\n# A change.\n"),))
    second = template.release("9.0.1", "A change to a template-owned module")
    project = generate(template, first, tmp_path / "service", DEFAULT_ANSWERS)

    update(project, second)

    assert stored_answer(project, "moved_module_stubs") is False
    modules = sorted(path.name for path in (project / "src").glob("*.py"))
    assert modules == [
        "__init__.py",
        "api_types.py",
        "config.py",
        "create_database.py",
        "database.py",
        "errors.py",
        "main.py",
    ]
    assert "# A change." in (project / "src/_template/logs.py").read_text(encoding="utf-8")
