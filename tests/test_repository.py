"""Guards on the repository itself: real exports cannot be committed, notebooks carry no outputs."""

from __future__ import annotations

import json
import subprocess

import pytest

from analysis.core.paths import PROJECT_ROOT


def _ignored(path: str) -> bool:
    result = subprocess.run(["git", "check-ignore", "-q", "--no-index", path], cwd=PROJECT_ROOT, check=False)
    return result.returncode == 0


@pytest.mark.parametrize(
    "path",
    [
        "data_raw/east_london_contacts_2024.csv",
        "data_raw/exports-2024-06/redcap_export.csv",
        "data_derived/participants.parquet",
        "data_derived/notebooks/01_clean.ipynb",
        "reports/_output/report.docx",
        "_variables.yml",
        "analysis/stepping_stones.nvpx",
        "notes/export.sav",
    ],
)
def test_real_exports_and_build_products_are_ignored(path: str) -> None:
    assert _ignored(path), f"{path} would be committable"


@pytest.mark.parametrize(
    "path",
    ["data_raw/synthetic/SYNTHETIC_redcap_participants_raw.csv", "data_raw/synthetic/README.md", "analysis/clean/run.py"],
)
def test_synthetic_study_and_code_are_not_ignored(path: str) -> None:
    assert not _ignored(path), f"{path} is ignored but belongs in git"


def test_committed_notebooks_have_no_outputs() -> None:
    for notebook in sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        for index, cell in enumerate(cells):
            assert not cell.get("outputs"), f"{notebook.name} cell {index} stores outputs"
            assert cell.get("execution_count") is None, f"{notebook.name} cell {index} has an execution count"


def test_every_shipped_raw_file_says_it_is_synthetic() -> None:
    allowed = {"README.md", "manifest.json", "sources.yml", "service_map.csv", "qda_map.csv"}
    folder = PROJECT_ROOT / "data_raw" / "synthetic"
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files, "the synthetic study is missing"
    for path in files:
        assert path.name in allowed or path.name.startswith("SYNTHETIC_") or path.parent.name == "transcripts", path
        if path.parent.name == "transcripts":
            assert path.read_text(encoding="utf-8").lstrip().upper().startswith("SYNTHETIC"), path


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (PROJECT_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [line.strip() for line in ci.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert commands[-1] == "make test"
    assert "make test" in (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def test_quarto_pin_is_the_same_everywhere() -> None:
    from analysis.publish.render.quarto import QUARTO_VERSION

    assert f"quarto={QUARTO_VERSION}" in (PROJECT_ROOT / "environment.yml").read_text(encoding="utf-8")
