"""A domain package dropped into src/ is served, migrated by autogenerate and tested with no
edit to a shared file; a model outside a domain's models.py fails a test naming it."""

import shutil
from pathlib import Path

from tests.support.edits import Edit, apply_edits
from tests.support.rendering import (
    IN_FILE_ORDER,
    assert_suite_passed,
    project_env,
    run_in,
    run_project_pytest,
    with_few_schema_examples,
)
from tests.update.owner import NOTE_FIXTURE, OWNER_SERVICE

SHARED_FILES = ("src/main.py", "src/config.py", "src/database.py")
CONFTEST_IMPORTS = Edit(
    "tests/conftest.py",
    "from typing import Any\n\nimport pytest\nfrom httpx import AsyncClient\n\n",
    old="pytest_plugins =",
    position="before",
)
UNDISCOVERED_MODEL = """from sqlalchemy.orm import Mapped, mapped_column

from src.database import Base


class AuditRecord(Base):
    __tablename__ = "audit_records"

    id: Mapped[int] = mapped_column(primary_key=True)
"""


def drop_in_notes(project: Path) -> None:
    """The owner's notes domain and its tests, copied in; its page size written in place of
    the setting it reads (settings are a shared file, src/config.py)."""
    shutil.copytree(OWNER_SERVICE / "src" / "notes", project / "src" / "notes")
    router = project / "src" / "notes" / "router.py"
    router.write_text(
        router.read_text(encoding="utf-8").replace("get_settings().notes_page_size", "50"),
        encoding="utf-8",
    )
    tests = OWNER_SERVICE / "tests" / "integration" / "test_note_endpoints.py"
    shutil.copy(tests, project / "tests" / "integration" / tests.name)
    apply_edits(project, (CONFTEST_IMPORTS, Edit("tests/conftest.py", NOTE_FIXTURE)))


def test_a_dropped_in_domain_is_served_migrated_and_tested(
    default_project: Path, tmp_path: Path
) -> None:
    project = shutil.copytree(default_project, tmp_path / "service")
    drop_in_notes(project)
    env = with_few_schema_examples(
        project_env(DATABASE_URL=f"sqlite+inline:///{tmp_path / 'app.db'}")
    )

    for command in (("upgrade", "head"), ("revision", "--autogenerate", "-m", "create notes")):
        outcome = run_in(project, "alembic", *command, env=env)
        assert outcome.returncode == 0, outcome
    (migration,) = (project / "migrations" / "versions").glob("*_create_notes.py")
    assert 'op.create_table(\n        "notes"' in migration.read_text(encoding="utf-8"), migration

    (project / "tests" / "openapi.json").unlink(missing_ok=True)  # the API changed: refreshed
    outcome = run_project_pytest(project, IN_FILE_ORDER, "-vv")  # -q -vv: verbose
    assert_suite_passed(outcome)
    assert "test_note_endpoints.py::test_create_note PASSED" in outcome.output, outcome
    for shared in SHARED_FILES:
        assert (project / shared).read_bytes() == (default_project / shared).read_bytes()


def test_a_model_outside_a_models_module_fails_a_test_naming_it(
    default_project: Path, tmp_path: Path
) -> None:
    project = shutil.copytree(default_project, tmp_path / "service")
    audit = project / "src" / "audit"
    audit.mkdir()
    (audit / "__init__.py").write_text("", encoding="utf-8")
    (audit / "records.py").write_text(UNDISCOVERED_MODEL, encoding="utf-8")

    outcome = run_project_pytest(
        project, "tests/harness/self_tests/test_discovery.py", IN_FILE_ORDER
    )

    assert outcome.returncode == 1, outcome
    assert "table 'audit_records' (src.audit.records.AuditRecord)" in outcome.output, outcome
