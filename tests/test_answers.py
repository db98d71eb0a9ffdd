"""Whatever a person types at the prompts is turned into a valid slug or clearly rejected."""

import re
from pathlib import Path

import pytest
import yaml

from tests.support.rendering import render

LONG_NAME = "Northwind Traders Regional Inventory Forecasting and Replenishment API"


@pytest.mark.parametrize(
    ("project_name", "slug"),
    [
        ("My Service", "my-service"),
        ("Acme Billing-Service 2", "acme-billing-service-2"),
        ("Zoë Café", "zoe-cafe"),
        ("Łódź Straße Œuvre", "lodz-strasse-oeuvre"),
        ("İstanbul Öğrenci Ünıversity", "istanbul-ogrenci-university"),  # noqa: RUF001 (on purpose)
        ("Café 🙂 Bar", "cafe-bar"),
        ("2fast 4you", "fast-4you"),
        ("  spaced   out  ", "spaced-out"),
        ("trailing dashes --", "trailing-dashes"),
        ("under_score.dot/slash", "under-score-dot-slash"),
        ("FastAPI", "fastapi-service"),
        ("Test", "test-service"),
        ("src", "src-service"),
        ("SQLAlchemy", "sqlalchemy-service"),
        ("pytest", "pytest-service"),
        ("class", "class-service"),
        (LONG_NAME, "northwind-traders-regional-inventory-forecasting-and"),
        ("A" + "b" * 70, "a" + "b" * 59),
    ],
)
def test_slug_derived_from_the_name(
    project_name: str, slug: str, template_dir: Path, tmp_path: Path
) -> None:
    answers = {"project_name": project_name}
    project = render(template_dir, tmp_path / "project", answers, only=["pyproject.toml"])

    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert recorded["project_slug"] == slug
    assert f'name = "{slug}"' in (project / "pyproject.toml").read_text(encoding="utf-8")


TERMINAL_COLUMNS = 80
GIVE_A_SLUG = "^project_slug must be given, starting with a letter and holding only a-z, 0-9"
SLUG_RULE = "^project_slug must start with a letter and hold only a-z, 0-9 and dashes"


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"project_name": "サービス"}, GIVE_A_SLUG),
        ({"project_name": "123 456"}, GIVE_A_SLUG),
        ({"project_name": "🙂"}, GIVE_A_SLUG),
        (
            {"project_name": "x" * 81},
            r"^project_name must be at most 80 characters \(this one has 81",
        ),
        ({"project_name": ""}, "project_name is required"),
        ({"project_name": "Ok", "project_slug": "fastapi"}, '^Use "fastapi-service" or another'),
        ({"project_name": "Ok", "project_slug": "test"}, '^Use "test-service" or another'),
        ({"project_name": "Ok", "project_slug": "import"}, '^Use "import-service" or another'),
        ({"project_name": "Ok", "project_slug": "café"}, SLUG_RULE),
        ({"project_name": "Ok", "project_slug": "my_service"}, SLUG_RULE),
        ({"project_name": "Ok", "project_slug": "-lead"}, SLUG_RULE),
        (
            {"project_name": "Ok", "project_slug": "trailing-"},
            "^project_slug must not end with a dash",
        ),
        ({"project_name": "Ok", "project_slug": "two--dashes"}, "or hold two in a row"),
        (
            {"project_name": "Ok", "project_slug": "a" * 61},
            r"^project_slug must be at most 60 \w+ \(this one has 61",
        ),
        ({"project_name": "   "}, "project_name is required"),
        ({"project_name": "Ok", "project_slug": "Bad Slug"}, SLUG_RULE),
        ({"project_name": "Ok", "author_email": "not-an-email"}, "must look like name@example.com"),
        ({"project_name": "Ok", "python_version": "3.9"}, r"'3.9' is not in \['3.11'"),
    ],
    ids=[
        "name-without-latin-letters",
        "name-of-digits",
        "name-of-emoji",
        "name-too-long",
        "name-empty",
        "slug-is-a-dependency",
        "slug-is-stdlib-test",
        "slug-is-a-keyword",
        "slug-with-accent",
        "slug-with-underscore",
        "slug-leading-dash",
        "slug-trailing-dash",
        "slug-double-dash",
        "slug-too-long",
        "name-blank",
        "slug-with-space",
        "bad-email",
        "old-python",
    ],
)
def test_unusable_answers_are_rejected_with_what_is_allowed(
    answers: dict[str, str], message: str, template_dir: Path, tmp_path: Path
) -> None:
    destination = tmp_path / "project"

    with pytest.raises(ValueError, match=r"\S") as refused:  # which message: below
        render(template_dir, destination, answers)

    # The rule comes first: the prompt's message line, cut at 80 columns, still says what is
    # allowed.
    shown = re.sub(r"^Validation error for question '\w+': ", "", str(refused.value).strip())
    assert re.search(message, shown[:TERMINAL_COLUMNS]), refused.value
    assert not destination.exists() or not any(destination.iterdir())
