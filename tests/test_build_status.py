"""Tests for analysis.tools.build_status (``make status``) on small logs and stamp folders."""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path

import pytest

from analysis.core import fingerprints as fp
from analysis.tools import build_status


@pytest.fixture()
def build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, Path]:
    """Stamps for a raw folder and a report source, and an output folder checked from them."""
    monkeypatch.chdir(tmp_path)
    raw = tmp_path / "exports"
    raw.mkdir()
    (raw / "log.csv").write_text("a\n1\n", encoding="utf-8")
    (tmp_path / "report.qmd").write_text("# Report\n", encoding="utf-8")
    stamps, outputs = tmp_path / "stamps", tmp_path / "_output"
    refresh(stamps, raw)
    outputs.mkdir()
    (outputs / "report.html").write_text("report", encoding="utf-8")
    write_log(outputs, fp.current(stamps))
    return stamps, raw, outputs


def refresh(stamps: Path, raw: Path) -> None:
    fp.update(stamps, [("raw", str(raw))], [["report_src", "report.qmd"]])


def write_log(outputs: Path, built_from: fp.BuildFingerprints, result: str = "pass") -> None:
    with open(outputs / "output-check.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "table", "check", "result", "detail", "checked_at", "raw_fingerprint",
                         "code_fingerprint"])
        writer.writerow(["report.html", "", "identifier_scan", result, "", "2024-06-30T10:00:00+00:00",
                         built_from.raw, built_from.code])
        writer.writerow([".briefings-build/tmp/overall.qmd", "", "identifier_scan", "pass", "",
                         "2024-06-30T10:00:00+00:00", built_from.raw, built_from.code])
        writer.writerow([fp.LOG_BUILD_FILE, "", fp.LOG_BUILD_CHECK, "n/a", built_from.detail(),
                         "2024-06-30T10:00:00+00:00", built_from.raw, built_from.code])


def test_current_build_says_so_in_a_few_lines(build: tuple[Path, Path, Path]) -> None:
    stamps, _, outputs = build
    result = build_status.status(stamps, outputs / "output-check.csv")
    assert result.current, result.lines
    assert len(result.lines) == 4
    assert result.lines[1].startswith("raw data: current: exports (1 files)")
    assert result.lines[-1].startswith("CURRENT")


def test_changed_raw_data_or_code_is_named(build: tuple[Path, Path, Path], tmp_path: Path) -> None:
    stamps, raw, outputs = build
    log = outputs / "output-check.csv"
    (raw / "log.csv").write_text("a\n2\n", encoding="utf-8")
    (tmp_path / "report.qmd").write_text("# Report, edited\n", encoding="utf-8")
    refresh(stamps, raw)
    result = build_status.status(stamps, log)
    assert not result.current
    text = "\n".join(result.lines)
    assert "raw data: CHANGED since the outputs were built" in text
    assert "code:     CHANGED since the outputs were built: report sources" in text
    assert result.lines[-1].startswith("NOT CURRENT")
    assert build_status.main(["--dir", str(stamps), "--log", str(log)]) == 1


def test_failed_checks_missing_or_later_outputs_are_not_current(build: tuple[Path, Path, Path]) -> None:
    stamps, _, outputs = build
    log = outputs / "output-check.csv"
    write_log(outputs, fp.current(stamps), result="fail")
    assert not build_status.status(stamps, log).current
    assert "1 failed: see output-check.csv" in build_status.status(stamps, log).lines[0]
    write_log(outputs, fp.current(stamps))
    later = time.time() + 5
    os.utime(outputs / "report.html", (later, later))
    result = build_status.status(stamps, log)
    assert not result.current and "changed after the output check: report.html" in result.lines
    (outputs / "report.html").unlink()
    result = build_status.status(stamps, log)
    assert not result.current and "missing:  report.html" in result.lines


def test_no_log_or_a_log_without_fingerprints(build: tuple[Path, Path, Path]) -> None:
    stamps, _, outputs = build
    log = outputs / "output-check.csv"
    log.write_text("file,check,result\nreport.html,identifier_scan,pass\n", encoding="utf-8")
    result = build_status.status(stamps, log)
    assert not result.current and "records no input fingerprints" in result.lines[1]
    log.unlink()
    result = build_status.status(stamps, log)
    assert not result.current and "nothing has been built and checked yet" in result.lines[0]
