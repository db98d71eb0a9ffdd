"""Owner patterns: tests written the way an owner of a generated service writes them, from
FastAPI's docs and public issues (tests/test_owner_patterns.py of the template's repository
copies this folder into a rendered project and runs it).

Here: the routes the patterns call (routes.py, included into the app before the first
request) and the folder's isolation check (isolation.py). In the template's repository the
folder holds files to copy, not tests: nothing is collected there.
"""

from pathlib import Path

IN_A_RENDERED_PROJECT = (Path(__file__).resolve().parents[2] / "src" / "main.py").is_file()

if IN_A_RENDERED_PROJECT:
    from src.main import app
    from tests.owner_patterns.isolation import (  # noqa: F401 (pytest finds fixtures by name here)
        committed_reference_data,
        isolation_check,
        pattern_baseline,
        reference_data,
    )
    from tests.owner_patterns.routes import router

    app.include_router(router)
else:
    collect_ignore_glob = ["*"]
