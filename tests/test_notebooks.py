"""Execute the issue-3 notebooks with papermill on the hand-written fixture (SYNTHETIC test data).

Checks the contract of analysis/CONTRACTS.md: every labelled figure cell displays one bundle with
the vega-lite, PNG and alt-text mime types and ``fig-alt`` metadata; every labelled table cell one
html/markdown/plain bundle; figure files are written; ``_variables.yml`` says ``synthetic: true``.
The three notebooks run in parallel subprocesses to keep the test short, through the stage runner
``make`` uses (its kernels cannot lose a TCP port to another process starting at the same time).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "analysis"))
import analysis_fixture  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
FIGURE_MIME = {"application/vnd.vegalite.v5+json", "image/png", "text/plain"}
TABLE_MIME = {"text/html", "text/markdown", "text/plain"}


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("notebooks")
    derived = analysis_fixture.write_parquet_folder(work / "derived")
    env = {**os.environ, "DISCLOSURE_REGISTER": "off", "PYTHONPATH": str(ROOT)}
    papermill = [sys.executable, "-m", "analysis.tools.stage", "run", "--cwd", str(ROOT)]
    runs = {
        "site": [
            *papermill, str(NOTEBOOKS / "02_site_profile.ipynb"), str(work / "site.ipynb"),
            "-p", "site", "east_london", "-p", "data_derived", str(derived), "-p", "figures_dir", str(work / "fig_site"),
            "-p", "max_journey_maps", "1",
        ],
        "synthesis": [
            *papermill, str(NOTEBOOKS / "03_synthesis.ipynb"), str(work / "synthesis.ipynb"),
            "-p", "data_derived", str(derived), "-p", "figures_dir", str(work / "fig_syn"),
            "-p", "variables_path", str(work / "_variables.yml"), "-p", "framework_xlsx", str(work / "fm.xlsx"),
        ],
        "explore": [*papermill, str(NOTEBOOKS / "explore.ipynb"), str(work / "explore.ipynb"), "-p", "data_derived", str(derived)],
    }
    procs = {k: subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for k, cmd in runs.items()}
    for key, proc in procs.items():
        output, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"{key} notebook failed:\n{output[-4000:]}"
    return {"work": work, "site": work / "site.ipynb", "synthesis": work / "synthesis.ipynb", "explore": work / "explore.ipynb"}


def _labelled_cells(path: Path) -> dict[str, dict]:
    book = json.loads(path.read_text())
    cells = {}
    for cell in book["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        for line in source.splitlines():
            if line.startswith("#| label: "):
                label = line.removeprefix("#| label: ").strip()
                assert label not in cells, f"duplicate label {label} in {path.name}"
                cells[label] = cell
    return cells


def test_source_notebooks_are_stored_without_outputs() -> None:
    for name in ("02_site_profile", "03_synthesis", "explore"):
        book = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())
        for cell in book["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, name
        tagged = [c for c in book["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, name


@pytest.mark.parametrize("notebook", ["site", "synthesis"])
def test_labelled_cells_follow_the_contract(executed, notebook) -> None:
    cells = _labelled_cells(executed[notebook])
    assert cells, "no labelled cells"
    for label, cell in cells.items():
        source = "".join(cell["source"])
        bundles = [o for o in cell["outputs"] if o["output_type"] in ("display_data", "execute_result")]
        assert len(bundles) == 1, f"{label}: {len(bundles)} bundles"
        if label.startswith("fig-"):
            assert "#| fig-cap: " in source and "#| fig-alt: " in source, label
            assert set(bundles[0]["data"]) == FIGURE_MIME, label
            assert len(bundles[0]["metadata"]["fig-alt"]) > 20, label
            folder = executed["work"] / ("fig_site" if notebook == "site" else "fig_syn")
            for suffix in ("png", "svg", "vl.json", "alt.txt"):
                assert (folder / f"{label}.{suffix}").is_file(), f"{label}.{suffix}"
            spec = bundles[0]["data"]["application/vnd.vegalite.v5+json"]
            assert "SYNTHETIC DATA" in json.dumps(spec["title"]), label
        else:
            assert label.startswith("tbl-") and "#| tbl-cap: " in source, label
            assert set(bundles[0]["data"]) == TABLE_MIME, label


def test_expected_labels(executed) -> None:
    assert set(_labelled_cells(executed["site"])) == {
        "tbl-characteristics", "tbl-retention", "fig-interview-flow", "tbl-contacts-per-woman",
        "fig-contacts-by-phase", "tbl-postnatal-gap", "fig-postnatal-gap", "fig-site-overview", "fig-pathway",
        "fig-theme-wave", "tbl-professional-themes",
    }
    assert set(_labelled_cells(executed["synthesis"])) == {
        "tbl-models-of-care", "tbl-retention-all", "fig-contacts-by-site", "tbl-placements-birth",
        "tbl-placements-18m", "fig-placements", "tbl-framework-matrix", "fig-theme-site", "fig-theme-wave-all",
        "tbl-trajectory-definitions", "fig-trajectories", "tbl-cooccurrence", "fig-cooccurrence", "fig-cooccurrence-interviews", "fig-pathways",
        "tbl-accounts", "tbl-accounts-examples", "tbl-diary-summary", "fig-themes-by-source", "tbl-diary-quotes", "fig-life-events",
        "fig-diary-gallery", "fig-model-of-care", "tbl-model-findings", "tbl-eacg-shaped", "tbl-gripp2",
    }


def test_synthesis_shows_only_consented_visual_items(executed) -> None:
    """The fixture has one photo with image consent and one with none: only the first is shown."""
    gallery = (executed["work"] / "fig_syn" / "fig-diary-gallery.alt.txt").read_text(encoding="utf-8")
    assert "Gallery of 1 de-identified" in gallery and "Photo of a cot" in gallery and "pram" not in gallery


def test_synthesis_writes_variables_and_matrix(executed) -> None:
    variables = yaml.safe_load((executed["work"] / "_variables.yml").read_text())
    assert variables["synthetic"] is True
    assert variables["contacts"]["total"] == "21"
    assert (executed["work"] / "fm.xlsx").is_file()


def test_journey_maps_respect_the_cap_and_the_browser_holds_every_woman(executed) -> None:
    folder = executed["work"] / "fig_site" / "journeys"
    maps = sorted(p.name for p in folder.glob("journey-SS-*.vl.json"))
    assert maps == ["journey-SS-EL-001.vl.json"]
    assert not list(folder.glob("journey-*.png")), "participant-level pictures are interactive only"
    browser = json.loads((folder / "journey-browser.vl.json").read_text())
    assert browser["params"][0]["bind"]["options"] == ["SS-EL-001", "SS-EL-002"]
    cells = json.loads(executed["site"].read_text())["cells"]
    unlabelled = [o for c in cells if c["cell_type"] == "code" and "#| label:" not in "".join(c["source"])
                  for o in c.get("outputs", []) if "application/vnd.vegalite.v5+json" in o.get("data", {})]
    assert len(unlabelled) == 3  # the browser, one capped map, the woman-by-week strip
    assert all("image/png" not in o["data"] for o in unlabelled)


def test_explore_runs(executed) -> None:
    book = json.loads(executed["explore"].read_text())
    errors = [o for c in book["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert not errors
