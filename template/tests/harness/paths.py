"""Where the project and the harness are, for every module of the harness."""

from pathlib import Path

HARNESS_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = HARNESS_DIR.parents[1]
# The harness's own tests: project code as far as the harness is concerned (escapes.py).
SELF_TESTS_DIR = HARNESS_DIR / "self_tests"
