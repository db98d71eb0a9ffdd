"""What the generated project pulls in and runs outside its own code: its CI workflow, its
Dependabot configuration and its image. Checked by linters no one here wrote (zizmor, the
GitHub Actions security linter, offline and with its default settings; actionlint; hadolint at
warning level), and by reading the files for what the linters do not require."""

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.project_files import answers_of, stages

TOOLS = Path(sys.executable).parent
FULL_COMMIT_HASH = re.compile(r"[0-9a-f]{40}")
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def run_tool(project: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TOOLS / command[0]), *command[1:]],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )


def github_dir(project: Path) -> Path:
    if answers_of(project)["ci"] != "github":
        pytest.skip("no GitHub workflow in this variant")
    return project / ".github"


def workflow(project: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(
        (github_dir(project) / "workflows/ci.yml").read_text(encoding="utf-8")
    )
    return loaded


def test_zizmor_finds_nothing(project: Path) -> None:
    github = github_dir(project)

    outcome = run_tool(project, "zizmor", "--offline", str(github))

    assert outcome.returncode == 0, outcome.stdout + outcome.stderr
    assert "No findings to report" in outcome.stdout, outcome.stdout + outcome.stderr


def test_actionlint_finds_nothing(project: Path) -> None:
    github = github_dir(project)

    outcome = run_tool(project, "actionlint", str(github / "workflows/ci.yml"))

    assert outcome.returncode == 0, outcome.stdout + outcome.stderr


def test_hadolint_finds_nothing_at_warning_level(project: Path) -> None:
    outcome = run_tool(project, "hadolint", "--failure-threshold", "warning", "Dockerfile")

    assert outcome.returncode == 0, outcome.stdout + outcome.stderr


def test_actions_are_pinned_to_commits_and_keep_no_token(project: Path) -> None:
    jobs = workflow(project)["jobs"]
    steps = [step for job in jobs.values() for step in job["steps"]]
    actions = [step for step in steps if "uses" in step]

    assert workflow(project)["permissions"] == {"contents": "read"}
    for step in actions:
        _, _, ref = step["uses"].partition("@")
        assert FULL_COMMIT_HASH.fullmatch(ref), step
    checkouts = [step for step in actions if step["uses"].startswith("actions/checkout@")]
    assert len(checkouts) == len(jobs)
    assert all(step["with"]["persist-credentials"] is False for step in checkouts)
    text = (github_dir(project) / "workflows/ci.yml").read_text(encoding="utf-8")
    assert all(
        re.search(r"@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line)
        for line in text.splitlines()
        if "uses:" in line
    )


def test_an_audit_job_checks_the_locked_dependencies(project: Path) -> None:
    audit = workflow(project)["jobs"]["audit"]

    commands = [step["run"] for step in audit["steps"] if "run" in step]
    assert commands == ["uv audit --locked"]


def test_dependabot_keeps_every_ecosystem_current_a_few_times_a_month(project: Path) -> None:
    config = yaml.safe_load((github_dir(project) / "dependabot.yml").read_text("utf-8"))
    updates = {update["package-ecosystem"]: update for update in config["updates"]}

    expected = {"uv", "github-actions", "docker"}
    if answers_of(project)["database"] == "postgresql":
        expected.add("docker-compose")
    assert set(updates) == expected
    for update in updates.values():
        assert update["schedule"]["interval"] == "monthly"
        assert update["cooldown"]["default-days"] >= 7
        assert [group["patterns"] for group in update["groups"].values()] == [["*"]]


def test_base_images_are_pinned_by_version_and_digest(project: Path) -> None:
    python_version = answers_of(project)["python_version"]
    images = [
        arguments.split()[0]
        for stage in stages(project)
        for keyword, arguments in stage
        if keyword == "FROM"
    ]

    assert len(images) == 2
    for image in images:
        assert image.startswith(f"python:{python_version}."), image
        assert DIGEST.search(image), image
    if answers_of(project)["database"] == "postgresql":
        compose = yaml.safe_load((project / "compose.yaml").read_text(encoding="utf-8"))
        assert DIGEST.search(compose["services"]["db"]["image"])
        assert compose["services"]["app"]["read_only"] is True


def test_zizmor_flags_the_workflow_as_it_was(tmp_path: Path) -> None:
    # The gate can fail: the generated workflow before 2.1.0 had these three kinds of finding.
    workflows = tmp_path / ".github/workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text(
        "name: CI\non: [push]\njobs:\n  lint:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v5\n      - run: echo lint\n",
        encoding="utf-8",
    )

    outcome = run_tool(tmp_path, "zizmor", "--offline", str(tmp_path / ".github"))

    assert outcome.returncode != 0
    for audit in ("unpinned-uses", "artipacked", "excessive-permissions"):
        assert audit in outcome.stdout, outcome.stdout
