"""Tests for analysis.tools.githooks: planted real-looking exports in a throwaway git repository.

Everything planted is invented (SYNTHETIC); identifiers are assembled at run time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from analysis.tools import githooks

PROJECT = Path(__file__).resolve().parent.parent


def _nhs() -> str:
    nine = "943476591"
    total = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1)))
    return nine + str((11 - total % 11) % 11)


@pytest.fixture()
def repo(tmp_path, monkeypatch) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path: str, content: str | bytes) -> str:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content, encoding="utf-8")
    subprocess.run(["git", "add", path], check=True)
    return path


def notebook(with_outputs: bool) -> str:
    cell = {"cell_type": "code", "id": "c1", "metadata": {}, "source": "1 + 1",
            "execution_count": 3 if with_outputs else None,
            "outputs": [{"output_type": "execute_result", "execution_count": 3, "metadata": {},
                         "data": {"text/plain": "2"}}] if with_outputs else []}
    return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1)


def test_forbidden_paths(repo):
    bad = [write("data_raw/site_export.csv", "record_id,name\n1,x\n"),
           write("data_derived/participants.csv", "study_id\nSS-EL-001\n"),
           write("project/coding.nvpx", b"\x00binary"),
           write("reports/_output/report.html", "<p>SYNTHETIC</p>")]
    good = [write("data_raw/synthetic/SYNTHETIC_key_events.csv", "study_id\n"),
            write("data_raw/README.md", "# raw data\n"),
            write("tests/fixtures/x/SYNTHETIC_project.qdpx", b"PK"),
            write("analysis/thing.py", "x = 1\n")]
    problems = githooks.check_forbidden_paths(bad + good)
    assert sorted(p.file for p in problems) == sorted(bad)
    assert githooks.main(["forbidden-paths", *bad]) == 1
    assert githooks.main(["forbidden-paths", *good]) == 0


def test_large_files(repo):
    big = write("notes/big.txt", "a" * (1024 * 1024 + 1))
    small = write("notes/small.txt", "a" * 100)
    allowed = write("data_raw/synthetic/SYNTHETIC_big.csv", "a" * (1024 * 1024 + 1))
    assert [p.file for p in githooks.check_large_files([big, small, allowed])] == [big]
    assert githooks.main(["large-files", "--max-kb", "1", small]) == 0
    assert githooks.main(["large-files", "--max-kb", "1", "--allow", "notes/*", big]) == 0


def test_notebook_with_outputs_rejected_and_stripped(repo):
    dirty = write("notebooks/01_clean.ipynb", notebook(with_outputs=True))
    clean = write("notebooks/02_site_profile.ipynb", notebook(with_outputs=False))
    assert [p.file for p in githooks.check_notebook_outputs([dirty, clean])] == [dirty, dirty]
    assert githooks.main(["strip-notebooks", dirty, clean]) == 1  # changed: re-stage
    assert githooks.check_notebook_outputs([dirty]) == []
    assert githooks.main(["strip-notebooks", dirty, clean]) == 0  # stable afterwards


def test_identifier_in_staged_file_rejected_and_masked(repo, capsys):
    nhs = _nhs()
    bad = write("notes/interview_summary.md", f"SYNTHETIC summary\nNHS {nhs} was mentioned.\n")
    ok = write("notes/clean.md", "SYNTHETIC summary with no identifiers.\n")
    problems = githooks.check_identifiers([bad, ok])
    assert [(p.file, p.check) for p in problems] == [(bad, "identifiers")]
    assert "line 2, col 5" in problems[0].message
    assert githooks.main(["identifiers", bad, ok]) == 1
    printed = capsys.readouterr().out
    assert nhs not in printed and "***" + nhs[-2:] in printed


def test_pre_commit_config_is_local_and_offline():
    config = yaml.safe_load((PROJECT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = [hook for repo_spec in config["repos"] for hook in repo_spec["hooks"]]
    assert all(repo_spec["repo"] == "local" for repo_spec in config["repos"])
    assert all(hook["language"] in {"system", "python", "unsupported"} for hook in hooks)
    checks = {hook["entry"].split("analysis.tools.githooks ")[1].split()[0] for hook in hooks}
    assert checks <= set(githooks.CHECKS)
    assert {"forbidden-paths", "large-files", "strip-notebooks", "identifiers"} <= checks


def test_project_sources_pass_the_identifier_hook():
    # This module and the other protection tests plant identifiers only at run time.
    mine = [PROJECT / "tests" / name for name in ("test_identifiers.py", "test_githooks.py",
                                                 "test_output_check.py", "test_outputs.py",
                                                 "test_disclosure.py")]
    mine += [PROJECT / "analysis" / name for name in ("protect/identifiers.py", "protect/disclosure.py",
                                                     "protect/outputs.py", "protect/output_check.py",
                                                     "tools/githooks.py")]
    problems = githooks.check_identifiers([p for p in mine if p.exists()])
    assert problems == [], [p.describe() for p in problems]


def test_cli_entry_point_runs(repo):
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    bad = write("data_raw/site_export.csv", "x\n")
    result = subprocess.run([sys.executable, "-m", "analysis.tools.githooks", "forbidden-paths", bad],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 1 and "data_raw/site_export.csv" in result.stdout
