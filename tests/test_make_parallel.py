"""Plain ``make`` is parallel by default with whole-job output; ``make -jN`` and ``JOBS=N`` win.

Reads the flags make settles on (``make -pn``: print the database, run nothing) in a scratch
folder holding only the Makefile, so nothing of the project is built or touched.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from analysis.core.paths import PROJECT_ROOT


def _makeflags(folder: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS", "JOBS"}}
    result = subprocess.run(["make", "-pn", *args], cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    # Every MAKEFLAGS line of the printed databases: the makefile's own value and the flags the
    # recursive make was really given (a command-line -j shows only there).
    found = re.findall(r"^MAKEFLAGS = (.*)$", result.stdout, flags=re.MULTILINE)
    assert found, result.stderr[-2000:]
    return " ".join(found)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    scratch = tmp_path_factory.mktemp("make-flags")
    shutil.copy2(PROJECT_ROOT / "Makefile", scratch / "Makefile")
    return scratch


def test_plain_make_uses_every_core_and_syncs_output(folder: Path) -> None:
    flags = _makeflags(folder, "-o", ".venv/.setup-complete", "data")
    assert f"-j{os.cpu_count()}" in flags.split()
    assert "--output-sync=target" in flags.split() or "-Otarget" in flags.split()


def test_command_line_and_jobs_variable_win(folder: Path) -> None:
    # a command-line -j is not shown to the makefile, which then adds no -j of its own
    assert not [f for f in _makeflags(folder, "-j1", "-o", ".venv/.setup-complete", "data").split() if f.startswith("-j")]
    assert "-j3" in _makeflags(folder, "JOBS=3", "-o", ".venv/.setup-complete", "data").split()


def test_interactive_goals_print_as_they_go(folder: Path) -> None:
    for goal in ("lab", "test", "bench"):
        assert "output-sync" not in _makeflags(folder, goal) and "-Otarget" not in _makeflags(folder, goal)
