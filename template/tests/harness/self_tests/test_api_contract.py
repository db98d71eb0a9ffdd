"""The API changes only on purpose: the app's OpenAPI document is compared with the snapshot you
commit, tests/openapi.json. The snapshot is yours: the template ships none, since FastAPI and
pydantic versions shape the document and only your lock file pins them.
"""

import difflib
import json

import pytest

from src.main import app
from tests.harness.paths import PROJECT_ROOT

SNAPSHOT = PROJECT_ROOT / "tests" / "openapi.json"
REFRESH = "rm tests/openapi.json && uv run pytest tests/harness/self_tests/test_api_contract.py"


def test_the_api_matches_its_committed_contract() -> None:
    current = json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if not SNAPSHOT.is_file():
        SNAPSHOT.write_text(current, encoding="utf-8")
        pytest.skip("created: commit it (tests/openapi.json is the API's contract from now on)")

    committed = SNAPSHOT.read_text(encoding="utf-8")
    if committed != current:
        diff = difflib.unified_diff(
            committed.splitlines(keepends=True),
            current.splitlines(keepends=True),
            "tests/openapi.json (committed)",
            "the API now",
        )
        pytest.fail(
            "The API differs from its committed contract. If that is intended, refresh the "
            f"snapshot and commit it: {REFRESH}\n{''.join(diff)}",
            pytrace=False,
        )
