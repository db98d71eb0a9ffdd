"""What a team does to its service after generating it: the changes an update must keep.

Everything here is owner territory: a new domain with its own tests (owner_service/, beside
this file), a fixture in tests/conftest.py, and small edits to the app, a setting and the
README. The edits anchor on lines of the first released version that an owner would naturally
edit next to.
"""

from pathlib import Path

from tests.support.edits import Edit

OWNER_SERVICE = Path(__file__).parent / "owner_service"

NOTE_FIXTURE = '''

@pytest.fixture
async def note(async_client: AsyncClient) -> dict[str, Any]:
    """A note created through the API."""
    response = await async_client.post("/api/v1/notes/", json={"title": "Todo", "body": "Tea"})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created
'''


def owner_files(under: str) -> tuple[Edit, ...]:
    root = OWNER_SERVICE / under
    return tuple(
        Edit(path.relative_to(OWNER_SERVICE).as_posix(), path.read_text(encoding="utf-8"))
        for path in sorted(root.rglob("*.py"))
    )


OWNER_EDITS = (
    *owner_files("src"),
    *owner_files("tests"),
    Edit(
        "src/main.py",
        "from src.notes.router import router as notes_router\n",
        old="from src.users.router import",
        position="before",
    ),
    Edit(
        "src/main.py",
        '\napp.include_router(notes_router, prefix="/api/v1")',
        old='app.include_router(users_router, prefix="/api/v1")',
        position="after",
    ),
    Edit(
        "tests/conftest.py",
        "from typing import Any\n\nimport pytest\nfrom httpx import AsyncClient\n\n",
        old="pytest_plugins =",
        position="before",
    ),
    Edit("tests/conftest.py", NOTE_FIXTURE),
    Edit(
        "src/config.py",
        "    notes_page_size: int = 50\n",
        old="    app_name: str =",
        position="before",
    ),
    Edit(
        "README.md",
        "## Team\n\nThe notes team owns this service; on call: #notes-oncall.\n\n",
        old="## Setup\n",
        position="before",
    ),
    Edit(
        "README.md",
        "Shared notes for the support team, behind the help desk's sidebar.\n",
        old="An async [FastAPI](https://fastapi.tiangolo.com/) service on SQLAlchemy 2 (asyncio), "
        "with an\nintegration-test harness that runs every test against a real database inside a "
        "transaction\nthat is rolled back afterwards.\n",
    ),
    Edit(
        "README.md",
        "\n## Runbook\n\nRestart with `docker compose restart app`; page #notes-oncall.\n",
    ),
    Edit(
        "pyproject.toml",
        '    "structlog>=24.1",\n',
        old='    "uvicorn[standard]>=0.30",\n',
        position="after",
    ),
)

# Since 1.0.0 the schema comes from Alembic, so an owner's new table needs its model registered
# in src/models.py and a migration, and .env.example documents every setting. Projects
# generated before that do this once after updating (the manual steps of 1.0.0 in the CHANGELOG).
# 1.0.0 also rewrote pyproject.toml's one-line lint rules and mypy's last line, next to which an
# owner's lint ignore or appended tool table could not merge: those come after updating too.
EDITS_SINCE_1_0 = (
    Edit(
        "pyproject.toml",
        '    "PLR0911",  # our routers return early on purpose\n',
        old='    "TRY003",  # a message at the raise site is clearer than an exception class per '
        "message\n",
        position="after",
    ),
    Edit("pyproject.toml", '\n[tool.codespell]\nskip = "*.lock,migrations/versions/*"\n'),
    Edit(".env.example", "\n# Notes listed per page.\nNOTES_PAGE_SIZE=50\n"),
    *owner_files("migrations"),
    Edit(
        "src/models.py",
        "from src.notes.models import Note\n",
        old="from src.users.models import User",
        position="before",
    ),
    Edit("src/models.py", '__all__ = ["Note", "User"]', old='__all__ = ["User"]'),
)

# A service generated since 9.0.0 has no src/models.py and includes no router by hand (its
# domains are discovered): its owner's edit to src/main.py goes where the file says.
CURRENT_LAYOUT_EDITS = (
    *(
        edit
        for edit in OWNER_EDITS + EDITS_SINCE_1_0
        if edit.path not in {"src/main.py", "src/models.py"}
    ),
    Edit(
        "src/main.py",
        '    app.state.team = "notes"\n',
        old="discovery does not serve (AUTO_INCLUDE = False) go here.\n",
        position="after",
    ),
)
