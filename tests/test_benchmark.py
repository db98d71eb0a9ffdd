"""Smoke test of the harness benchmark (bench/harness_benchmark.py) with a tiny workload."""

import json
from pathlib import Path

import pytest

from bench.harness_benchmark import CLOCKS, VARIANTS, main, prepare_project
from bench.serving_benchmark import main as serving_main
from tests.support.rendering import run_snippet

COUNT_TABLES = "import src.main; from src.database import Base; print(len(Base.metadata.tables))"


def test_benchmark_project_has_the_extra_tables(template_dir: Path, tmp_path: Path) -> None:
    project = prepare_project(template_dir, tmp_path / "bench", tables=3, tests=2)

    completed = run_snippet(project, COUNT_TABLES)

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "4"  # users + 3


@pytest.mark.live_server
def test_benchmark_runs_every_variant_and_writes_the_table(tmp_path: Path) -> None:
    output = tmp_path / "results"

    main(["--tests", "3", "--runs", "1", "--tables", "0", "--no-plot", "--output", str(output)])

    results = json.loads((output / "results.json").read_text(encoding="utf-8"))
    for clock in CLOCKS:
        by_variant = results["ms_per_test"][clock]
        assert set(by_variant) == {variant.key for variant in VARIANTS}
        assert all(set(by_tables) == {"0"} for by_tables in by_variant.values())
        assert all(ms > 0 for by_tables in by_variant.values() for ms in by_tables.values())
    table = (output / "results.md").read_text(encoding="utf-8")
    assert table.count("| K extra tables | a ms/test | b ms/test | c ms/test |") == len(CLOCKS)
    assert table.count("\n| 0 | ") == len(CLOCKS)


@pytest.mark.live_server
def test_serving_benchmark_measures_every_cell_before_and_after(tmp_path: Path) -> None:
    output = tmp_path / "serving"

    serving_main(
        [
            *("--clients", "4", "--seconds", "1", "--rounds", "1", "--databases", "sqlite"),
            *("--no-plot", "--output", str(output)),
        ]
    )

    results = json.loads((output / "results.json").read_text(encoding="utf-8"))
    assert results["configs"] == ["sqlite w1", "sqlite w2"]
    for config in results["configs"]:
        after = results["medians"][f"after {config} c4"]
        assert results["medians"][f"before {config} c4"]["requests"] > 0
        assert after["requests"] > 0
        assert after["server_errors"] == after["dropped"] == after["ledger_problems"] == 0
    assert "| sqlite w1 | 4 |" in (output / "results.md").read_text(encoding="utf-8")
