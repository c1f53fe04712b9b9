"""Real make: changing a row of the EACG review log rebuilds only what depends on it.

Uses the scratch project of tests/test_makefile.py (real make, real cleaning stage, fast
stand-ins for notebooks and renders). The review log feeds the synthesis (EACG tables, the
model of care) and the outputs; it belongs to no site, so no site profile reruns.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from test_makefile import Project, _copy_project  # the same scratch-project machinery

pytestmark = pytest.mark.xdist_group("makefile")


def test_changing_an_eacg_row_does_not_rerun_site_profiles(tmp_path: Path) -> None:
    _copy_project(tmp_path)
    project = Project(tmp_path)
    first = project.make("-j2")
    assert "papermill 01_clean" in first
    log = tmp_path / "data_raw" / "synthetic" / "SYNTHETIC_eacg_review_log.csv"
    text = log.read_text(encoding="utf-8")
    assert ",Endorsed,No change.," in text
    time.sleep(1.1)  # make compares whole-second mtimes on some file systems
    log.write_text(text.replace(",Endorsed,No change.,", ",Refined,Wording changed at the meeting.,", 1),
                   encoding="utf-8")
    stages = project.make("-j2")
    assert "papermill 01_clean" in stages and "papermill 03_synthesis" in stages
    assert not [s for s in stages if s.startswith("papermill 02")], stages
    assert "render report.pdf" in stages and "render slides.html" in stages
    assert project.make() == []
