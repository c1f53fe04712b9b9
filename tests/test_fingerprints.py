"""Tests for analysis.core.fingerprints: content stamps that make compares instead of input timestamps."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analysis.core import fingerprints as fp
from analysis.core.paths import PROJECT_ROOT


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    raw = tmp_path / "exports"
    (raw / "transcripts").mkdir(parents=True)
    (raw / "contacts.csv").write_text("date,service\n22/04/2022,midwife\n", encoding="utf-8")
    (raw / "transcripts" / "W1.txt").write_text("Interviewer: hello\n", encoding="utf-8")
    (raw / ".DS_Store").write_bytes(b"\0")
    (raw / ".git").mkdir()
    (raw / ".git" / "HEAD").write_text("ref\n", encoding="utf-8")
    return raw


def _update(stamps: Path, raw: Path, *groups: list[str]) -> list[str]:
    return fp.update(stamps, [("raw", str(raw))], list(groups))


def _mtime_ns(path: Path) -> int:
    return path.stat().st_mtime_ns


def test_tree_lists_visible_files_only_sorted(tree: Path) -> None:
    assert fp.tree_files(tree) == ["contacts.csv", "transcripts/W1.txt"]


def test_stamp_is_rewritten_only_when_content_changes(tree: Path, tmp_path: Path) -> None:
    stamps = tmp_path / "stamps"
    assert _update(stamps, tree) == ["raw"]
    stamp = stamps / "raw.sha256"
    content = fp.read_stamp(stamp)
    assert content is not None
    assert content["root"] == str(tree) and sorted(content["files"]) == ["contacts.csv", "transcripts/W1.txt"]
    first = _mtime_ns(stamp)
    os.utime(tree / "contacts.csv")  # touch
    assert _update(stamps, tree) == []
    assert _mtime_ns(stamp) == first
    (tree / ".DS_Store").write_bytes(b"\1")  # hidden files are not inputs
    assert _update(stamps, tree) == []


def test_restored_file_with_old_mtime_and_same_size_is_seen(tree: Path, tmp_path: Path) -> None:
    stamps, log = tmp_path / "stamps", tree / "contacts.csv"
    original = log.read_bytes()
    old = time.time() - 86400
    os.utime(log, (old, old))
    _update(stamps, tree)
    digest = (fp.read_stamp(stamps / "raw.sha256") or {})["digest"]
    log.write_bytes(original.replace(b"22/04", b"23/04"))  # same size
    os.utime(log, (old, old))  # and the same mtime: only ctime and content differ
    assert _update(stamps, tree) == ["raw"]
    log.write_bytes(original)
    os.utime(log, (old, old))
    assert _update(stamps, tree) == ["raw"]
    assert (fp.read_stamp(stamps / "raw.sha256") or {})["digest"] == digest


def test_added_removed_or_renamed_file_and_another_folder_change_the_fingerprint(tree: Path, tmp_path: Path) -> None:
    stamps = tmp_path / "stamps"
    _update(stamps, tree)
    (tree / "extra.csv").write_text("x\n", encoding="utf-8")
    assert _update(stamps, tree) == ["raw"]
    (tree / "extra.csv").rename(tree / "renamed.csv")
    assert _update(stamps, tree) == ["raw"]
    (tree / "renamed.csv").unlink()
    assert _update(stamps, tree) == ["raw"]
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(tree), str(copy)], check=True)
    assert _update(stamps, copy) == ["raw"]  # same files elsewhere: DATA_RAW now points there


def test_file_groups_cover_folders_and_name_missing_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "templates" / "html").mkdir(parents=True)
    (tmp_path / "templates" / "html" / "page.css").write_text("a {}\n", encoding="utf-8")
    (tmp_path / "code.py").write_text("x = 1\n", encoding="utf-8")
    cache = fp.HashCache()
    group = fp.fingerprint_files("render_code", ["templates", "code.py"], cache)
    assert sorted(group.files) == ["code.py", "templates/html/page.css"]
    with pytest.raises(fp.FingerprintError, match="cleaning code and configuration: gone.py does not exist"):
        fp.fingerprint_files("clean_code", ["code.py", "gone.py"], cache)
    with pytest.raises(fp.FingerprintError, match="declared twice"):
        fp.update(tmp_path / "stamps", [], [["a", "code.py"], ["a", "code.py"]])


def test_cache_is_used_until_the_file_changes(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stamps = tmp_path / "stamps"
    _update(stamps, tree)
    hashed: list[str] = []
    from analysis.core import atomic

    real = atomic.file_sha256
    monkeypatch.setattr(atomic, "file_sha256", lambda path: hashed.append(Path(path).name) or real(path))
    _update(stamps, tree)
    assert hashed == []
    os.utime(tree / "contacts.csv")
    _update(stamps, tree)
    assert hashed == ["contacts.csv"]
    fp.update(stamps, [("raw", str(tree))], [], verify=True)
    assert sorted(hashed) == ["W1.txt", "contacts.csv", "contacts.csv"]
    (stamps / fp.CACHE_NAME).write_text("not a cache", encoding="utf-8")  # a broken cache is rebuilt
    assert _update(stamps, tree) == []


def test_current_combines_raw_and_code(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text("a\n", encoding="utf-8")
    (tmp_path / "b.qmd").write_text("b\n", encoding="utf-8")
    stamps = tmp_path / "stamps"
    fp.update(stamps, [("raw", str(tree))], [["clean_code", "a.py"], ["report_src", "b.qmd"]])
    now = fp.current(stamps)
    assert set(now.groups) == {"raw", "clean_code", "report_src"} and now.raw == now.groups["raw"]
    assert fp.BuildFingerprints.parse_detail(now.detail()) == now.groups
    (tmp_path / "b.qmd").write_text("b, edited\n", encoding="utf-8")
    fp.update(stamps, [("raw", str(tree))], [["clean_code", "a.py"], ["report_src", "b.qmd"]])
    later = fp.current(stamps)
    assert later.raw == now.raw and later.code != now.code
    assert fp.current(tmp_path / "nowhere").raw == "unknown"


def test_cli_for_make_prints_changes_and_one_line_errors(tree: Path, tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
        return subprocess.run([sys.executable, "-S", "-m", "analysis.core.fingerprints", *args], cwd=PROJECT_ROOT,
                              env=env, capture_output=True, text=True, check=False)

    stamps = str(tmp_path / "stamps")
    first = run("update", "--dir", stamps, "--tree", "raw", str(tree), "--group", "check_code",
                "analysis/protect/output_check.py", "analysis/protect/identifiers.py")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "fingerprints: new content in raw data (DATA_RAW), output-check code"
    again = run("update", "--dir", stamps, "--tree", "raw", str(tree), "--group", "check_code",
                "analysis/protect/output_check.py", "analysis/protect/identifiers.py")
    assert again.returncode == 0 and again.stdout == "" and again.stderr == ""
    broken = run("update", "--dir", stamps, "--group", "clean_code", "analysis/no_such_module.py")
    assert broken.returncode == 1
    assert broken.stderr.strip() == ("fingerprints: cleaning code and configuration: "
                                     "analysis/no_such_module.py does not exist")
    assert run("update", "--tree", "raw").returncode == 1


def test_module_stays_light_for_every_make_start() -> None:
    """A no-op run imports neither pandas nor anything outside the standard library."""
    code = ("import sys, analysis.core.fingerprints; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'pandas', 'numpy', 'yaml', 'dataclasses', 'argparse', 'tempfile', 'shutil', 'pathlib', 'json'}))")
    out = subprocess.run([sys.executable, "-S", "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
