"""The ``python -m analysis.sources.qda`` command line: summary, codebook and export, exit statuses."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import xmlschema

from analysis.sources.qda import write_qdpx
from analysis.sources.qda.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "qda"
TEXT = "SYNTHETIC interview.\nI felt judged.\n"
CODEBOOK = pd.DataFrame({"Code": ["Stigma", "Stigma\\Judged", "Stigma\\Judged\\By staff"],
                         "Description": ["SYNTHETIC", "", ""],
                         "Colour": ["#801650", "#801650", "#801650"]})
SEGMENTS = pd.DataFrame({"Document": ["SS-EL-001_W1"], "Code": ["Stigma\\Judged\\By staff"],
                         "Start": [21], "End": [35], "Coded text": ["I felt judged."],
                         "Coder": ["Coder A"]})


def write_project(path: Path) -> Path:
    write_qdpx(CODEBOOK, SEGMENTS, {"SS-EL-001_W1": TEXT}, path)
    return path


def quirky_project(path: Path) -> Path:
    """The quirks fixture with plain LF sources (positions then need no correction)."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("Stepping Test.qde", (FIXTURES / "quirks_project.qde").read_bytes())
        archive.writestr("Sources/s1.txt",
                         "SYNTHETIC interview.\nI felt judged.\nThe midwife was kind.\n")
        archive.writestr("Sources/s3.txt", "SYNTHETIC interview.\nThey took her at birth.\n")
        archive.writestr("Sources/n2.txt", "SYNTHETIC memo.")
    return path


def test_summary_of_our_project(tmp_path, capsys):
    assert main(["summary", str(write_project(tmp_path / "p.qdpx"))]) == 0
    out = capsys.readouterr().out
    assert "Exported by (origin): Stepping Stones synthetic generator" in out
    assert "Codes: 3 (1 top-level, depth 3)" in out
    assert "Text sources: 1" in out and "1 women's interviews" in out
    assert "Coded selections: 1; whole-document codings: 0; codings: 1" in out
    assert "Coders: 1 (Coder A)" in out
    assert "Tolerated deviations: none" in out


def test_summary_lists_tolerated_deviations(tmp_path, capsys):
    assert main(["summary", str(quirky_project(tmp_path / "q.qdpx"))]) == 0
    out = capsys.readouterr().out
    assert "Exported by (origin): MAXQDA 2022 (imitated)" in out
    assert "Codes: 5 (2 top-level, depth 3)" in out
    assert "Text sources: 3 (+ 1 non-text, ignored)" in out
    assert "1 need a qda_map.csv row" in out
    assert "Cases: 2 (1 without a name)" in out
    assert "Coded selections: 4; whole-document codings: 1; codings: 5" in out
    assert "Coders: 2 (Coder One, Coder Two)" in out
    assert "Memos: 4" in out
    assert "Tolerated deviations (" in out and "empty <Sets/>" in out


def test_summary_of_a_codebook(capsys):
    assert main(["summary", str(FIXTURES / "nested_codebook.qdc")]) == 0
    out = capsys.readouterr().out
    assert "REFI-QDA codebook (.qdc)" in out and "ATLAS.ti 23 (imitated)" in out
    assert "Codes: 5 (2 top-level, depth 4)" in out


def test_summary_of_an_unreadable_file_exits_non_zero(tmp_path, capsys):
    bad = tmp_path / "bad.qdpx"
    bad.write_text("SYNTHETIC: not a zip", encoding="utf-8")
    assert main(["summary", str(bad)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ") and "not a zip archive" in captured.err


def test_codebook_command_writes_a_valid_qdc(tmp_path, capsys):
    out = tmp_path / "updated.qdc"
    assert main(["codebook", str(quirky_project(tmp_path / "q.qdpx")), "--out", str(out)]) == 0
    xmlschema.XMLSchema(str(ROOT / "analysis/sources/qda/schemas/Codebook.xsd")).validate(str(out))
    text = out.read_text(encoding="utf-8")
    assert 'name="Services" isCodable="false"' in text
    assert "warning: tolerated deviation" in capsys.readouterr().err


def test_export_writes_the_raw_csv_form(tmp_path):
    out = tmp_path / "raw"
    assert main(["export", str(write_project(tmp_path / "p.qdpx")), "--out", str(out)]) == 0
    segments = pd.read_csv(out / "coded_segments.csv")
    assert segments.to_dict("records") == SEGMENTS.to_dict("records")
    assert (out / "transcripts" / "SS-EL-001_W1.txt").read_text(encoding="utf-8") == TEXT


def test_module_runs_as_a_program_with_exit_status(tmp_path):
    command = [sys.executable, "-m", "analysis.sources.qda", "summary"]
    ok = subprocess.run([*command, str(write_project(tmp_path / "p.qdpx"))], cwd=ROOT,
                        capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and "Codes: 3" in ok.stdout
    missing = subprocess.run([*command, str(tmp_path / "absent.qdpx")], cwd=ROOT,
                             capture_output=True, text=True, check=False)
    assert missing.returncode == 1 and "file not found" in missing.stderr
    usage = subprocess.run([sys.executable, "-m", "analysis.sources.qda"], cwd=ROOT,
                           capture_output=True, text=True, check=False)
    assert usage.returncode == 2
