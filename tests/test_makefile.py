"""The Makefile's dependency graph: no-op rebuilds, one-site changes, one-source changes.

Runs real ``make`` in a scratch copy of the project with the stage commands swapped for fast
stand-ins (tests/fake_stage.py) that log what ran; the cleaning stage is the real one, because it
decides which sites' fingerprints change. Which stages ran is read from that log, not timed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analysis.paths import PROJECT_ROOT

pytestmark = pytest.mark.xdist_group("makefile")

SITES = ("east_london", "huddersfield", "glasgow", "ayrshire")


def _copy_project(dest: Path) -> None:
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=PROJECT_ROOT, capture_output=True, check=True).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        src = PROJECT_ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    (dest / ".venv").mkdir()
    (dest / ".venv" / "bin").symlink_to(Path(sys.executable).parent)
    (dest / ".venv" / ".setup-complete").touch()


class Project:
    """A scratch copy of the project whose make runs log their stages."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.log = root / "stages.log"
        fake = f"{sys.executable} {PROJECT_ROOT / 'tests' / 'fake_stage.py'}"
        self.overrides = [
            f"PAPERMILL={fake} papermill",
            f"RENDER={fake} render --out reports/_output",
            f"BRIEFING={fake} briefing",
            f"OUTPUT_CHECK={fake} check",
        ]

    def make(self, *args: str) -> list[str]:
        """Run make; return the stages that ran, in order."""
        self.log.write_text("", encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "DATA_RAW", "DATA_DERIVED", "MFLAGS"}}
        env.update(FAKE_STAGE_LOG=str(self.log), PYTHONPATH=str(self.root))
        result = subprocess.run(["make", "--no-print-directory", *args, *self.overrides], cwd=self.root, env=env,
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return self.log.read_text(encoding="utf-8").split("\n")[:-1]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("makefile-project")
    _copy_project(root)
    project = Project(root)
    stages = project.make("-j2")
    assert "papermill 01_clean" in stages
    assert sorted(s for s in stages if s.startswith("papermill 02")) == sorted(
        f"papermill 02_site_profile:{site}" for site in SITES)
    assert {"render report.docx", "render report.html", "render report.pdf", "render slides.html",
            "render slides.pptx", "output_check"} <= set(stages)
    assert {f"briefing {s}.{f}" for s in (*SITES, "overall") for f in ("docx", "pdf")} <= set(stages)
    return project


def test_make_after_make_does_nothing(built: Project) -> None:
    assert built.make() == []
    assert built.make("-j2") == []


def test_changing_one_sites_contact_log_reruns_only_that_site(built: Project) -> None:
    log = built.root / "data_raw" / "synthetic" / "SYNTHETIC_contacts_huddersfield.csv"
    lines = log.read_bytes().split(b"\n")
    row = next(i for i, line in enumerate(lines) if line.startswith(b"22/04/2022"))
    lines[row] = lines[row].replace(b"22/04/2022", b"23/04/2022", 1)
    time.sleep(1.1)  # make compares whole-second mtimes on some file systems
    log.write_bytes(b"\n".join(lines))
    stages = built.make("-j2")
    site_runs = [s for s in stages if s.startswith("papermill 02")]
    assert site_runs == ["papermill 02_site_profile:huddersfield"], stages
    assert "papermill 01_clean" in stages and "papermill 03_synthesis" in stages
    assert "output_check" in stages
    assert built.make() == []


def test_editing_one_report_source_rerenders_only_that_output(built: Project) -> None:
    time.sleep(1.1)
    (built.root / "reports" / "slides.qmd").touch()
    stages = built.make("-j2")
    assert sorted(stages) == ["output_check", "render slides.html", "render slides.pptx"]


def test_pointing_data_raw_elsewhere_reruns_cleaning(built: Project, tmp_path: Path) -> None:
    other = tmp_path / "exports"
    shutil.copytree(built.root / "data_raw" / "synthetic", other)
    old = time.time() - 10 * 86400
    for path in other.rglob("*"):
        os.utime(path, (old, old))  # older than every derived file: only the path changed
    stages = built.make(f"DATA_RAW={other}")
    assert stages[0] == "papermill 01_clean"
    assert built.make(f"DATA_RAW={other}") == []
