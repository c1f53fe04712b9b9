"""Bad raw data through real ``make data DATA_RAW=...``, and two makes in one checkout.

In a scratch copy of the project: one good ``make data`` (the real cleaning notebook through
the stage runner), then a few damaged exports. Each must end with the short block (at most five
lines from ``ERROR`` on, before make's own two ``***`` lines), no Python traceback, a non-zero
exit, and ``data_derived/`` (tables and executed notebooks) byte-identical to the good build,
with the failed notebook kept beside it. A second make while one runs is refused at once with a
message naming the first.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_fault_injection import INPUTS, MUTATIONS, prepare
from test_makefile import _copy_project

pytestmark = pytest.mark.xdist_group("stage_make")

DROPPED_ENV = {"MAKEFLAGS", "MAKELEVEL", "DATA_RAW", "DATA_DERIVED", "MFLAGS", "BUILD_LOCK_HELD",
               "VERBOSE"}


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    env["PYTHONPATH"] = str(root)
    return env


def _make(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "--no-print-directory", *args], cwd=root, env=_env(root),
                          capture_output=True, text=True, timeout=900)


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.endswith(".failed.ipynb")
            # .fingerprints/: make's record of the inputs it saw (they did change), not build output
            and not any(part.startswith(".") for part in p.relative_to(folder).parts)}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("stage-project")
    _copy_project(root)
    # the real environment, so the stage runs real papermill: every entry of it linked, and a
    # setup stamp of the copy's own, newer than the copied requirements.txt, so make never
    # reruns setup here (it would install into, and point the .pth of, the shared environment)
    venv = root / ".venv"
    shutil.rmtree(venv)
    venv.mkdir()
    for entry in Path(sys.prefix).iterdir():
        if entry.name != ".setup-complete":
            (venv / entry.name).symlink_to(entry)
    (venv / ".setup-complete").touch()
    done = _make(root, "data")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (root / "data_derived" / "notebooks" / "01_clean.ipynb").is_file()
    return root


CASES = [("impossible date", "contacts_east_london"), ("binary garbage", "contacts_huddersfield"),
         ("password-protected xlsx", "contacts_glasgow"), ("binary garbage", "qdpx")]


@pytest.mark.parametrize(("mutation_name", "input_key"), CASES,
                         ids=[f"{m}-{k}".replace(" ", "_") for m, k in CASES])
def test_bad_export_through_make(project: Path, tmp_path: Path, mutation_name: str,
                                 input_key: str) -> None:
    mutation = next(m for m in MUTATIONS if m.name == mutation_name)
    spec = next(i for i in INPUTS if i.key == input_key)
    raw = tmp_path / "raw"
    prepare(raw, mutation, spec)
    derived = project / "data_derived"
    before = _snapshot(derived)
    result = _make(project, "data", f"DATA_RAW={raw}")
    console = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in console and "PapermillExecutionError" not in console, console
    lines = console.rstrip("\n").splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("ERROR 01_clean stopped"))
    block = [line for line in lines[start:] if not line.startswith("make")]
    assert len(block) <= 5, "\n".join(block)
    assert all(line.startswith("make") for line in lines[start + len(block):])
    text = "\n".join(block)
    assert Path(spec.file).name in text and "rule:" in text
    assert "01_clean.failed.ipynb" in text
    assert _snapshot(derived) == before, "a failed stage must leave the last good build as it was"
    assert (derived / "notebooks" / "01_clean.failed.ipynb").is_file()


def test_a_second_make_in_the_same_checkout_is_refused(project: Path) -> None:
    slow = f"PAPERMILL={sys.executable} -c 'import time; time.sleep(6)'"
    # cleaning is due, so the first make runs its (slow) stage command: the raw export's
    # fingerprint newer than the derived data (touching a raw file would not do: make compares
    # content fingerprints, and the file's content did not change)
    os.utime(project / "data_derived" / ".fingerprints" / "raw.sha256")
    first = subprocess.Popen(["make", "--no-print-directory", "data", slow], cwd=project,
                             env=_env(project), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    try:
        deadline = time.monotonic() + 60
        lock = project / ".build.lock"
        while time.monotonic() < deadline and not (lock.is_file() and lock.read_text().strip()):
            time.sleep(0.1)
        time.sleep(0.5)
        second = _make(project, "data")
        assert second.returncode != 0
        assert "another make is already running in this checkout" in second.stderr
        assert f"pid {first.pid}" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        first.wait(timeout=120)
    # the lock goes with the make that held it: the next make runs
    again = _make(project, "help")
    assert again.returncode == 0
    after = subprocess.run(["make", "--no-print-directory", "-q", "help"], cwd=project,
                           env=_env(project), capture_output=True, text=True)
    assert "another make" not in after.stderr
    nothing = _make(project, "data", f"PAPERMILL={sys.executable} -c pass")
    assert "another make" not in nothing.stderr, nothing.stderr
