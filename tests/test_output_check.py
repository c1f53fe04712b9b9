"""Tests for analysis.protect.output_check on small SYNTHETIC output folders."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.protect import output_check, register
from analysis.protect.outputs import release_table
from analysis.protect.person_level import release_participant_level


@pytest.fixture()
def build(tmp_path, monkeypatch):
    """A fake build: derived folder with manifest and register, and an output folder."""
    derived = tmp_path / "data_derived"
    derived.mkdir()
    monkeypatch.setenv("DATA_DERIVED", str(derived))
    monkeypatch.setenv("DISCLOSURE_REGISTER", str(derived / "disclosure_register.jsonl"))
    monkeypatch.delenv("DISCLOSURE_PROFILE", raising=False)
    register.reset_register()
    (derived / "manifest.json").write_text(json.dumps({"data_fingerprint": "abc123",
                                                       "data_raw": "data_raw/synthetic"}))
    outputs = tmp_path / "reports" / "_output"
    outputs.mkdir(parents=True)
    release_table(pd.DataFrame({"site": ["a", "b", "c"], "n": [6, 9, 12]}), name="tbl-sites",
                  count_columns=["n"])
    yield outputs
    register.reset_register()


def html(body: str) -> str:
    return f"<html><body><p>These results use SYNTHETIC data.</p>{body}</body></html>\n"


def read_log(outputs: Path) -> list[dict[str, str]]:
    with open(outputs / output_check.LOG_NAME, encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_clean_build_passes_and_log_written(build, capsys):
    (build / "report.html").write_text(html('<div id="tbl-sites"><table></table></div>'
                                            '<div id="fig-timeline"></div>'))
    (build / "figure.png").write_bytes(b"\x89PNG\r\n")
    assert output_check.main(["--outputs", str(build)]) == 0
    rows = read_log(build)
    assert set(rows[0]) == set(output_check.LOG_COLUMNS)
    checks = {(r["file"], r["table"], r["check"]): r["result"] for r in rows}
    assert checks[("report.html", "", "identifier_scan")] == "pass"
    assert checks[("report.html", "", "synthetic_notice")] == "pass"
    assert checks[("report.html", "", "shortcodes")] == "pass"
    assert checks[("report.html", "tbl-sites", "disclosure")] == "pass"
    assert checks[("report.html", "fig-timeline", "disclosure")] == "n/a"
    assert checks[("figure.png", "", "identifier_scan")] == "n/a"
    assert {r["data_fingerprint"] for r in rows} == {"abc123"}
    assert {r["profile"] for r in rows} == {"study"}
    assert not [p for p in build.iterdir() if p.name.startswith(".output-check-")]
    assert "0 failed" in capsys.readouterr().out


def test_identifier_fails_and_summary_is_masked(build, capsys):
    nine = "943476591"
    nhs = nine + str((11 - sum(int(d) * w for d, w in zip(nine, range(10, 1, -1))) % 11) % 11)
    (build / "report.html").write_text(html(f"<p>Notes: {nhs}</p>"))
    assert output_check.main(["--outputs", str(build)]) == 1
    printed = capsys.readouterr().out
    assert "FAIL report.html: identifier_scan" in printed and nhs not in printed
    assert nhs not in (build / output_check.LOG_NAME).read_text()


def _executed_notebook(folder, *labels):
    import nbformat

    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"#| label: {label}\nshow_table(t)") for label in labels]
    nbformat.write(nb, folder / "03_synthesis.ipynb")


def test_missing_notice_shortcode_and_unregistered_table_fail(build, tmp_path, capsys):
    _executed_notebook(tmp_path / "data_derived" / "notebooks", "tbl-unregistered")
    (build / "report.md").write_text("Results: {{< var n_women >}} women, see ?@tbl-missing.\n")
    (build / "other.html").write_text(html('<div id="tbl-unregistered"></div><div id="tbl-coreq"></div>'))
    assert output_check.main(["--outputs", str(build)]) == 1
    checks = {(r["file"], r["table"], r["check"]): r for r in read_log(build)}
    assert checks[("report.md", "", "synthetic_notice")]["result"] == "fail"
    assert "var n_women" in checks[("report.md", "", "shortcodes")]["detail"]
    # A notebook table that skipped analysis.protect.outputs fails; a table written in the source does not.
    assert checks[("other.html", "tbl-unregistered", "disclosure")]["result"] == "fail"
    assert checks[("other.html", "tbl-coreq", "disclosure")]["result"] != "fail"


def test_failed_register_entry_and_profile_mismatch_fail(build):
    release_participant_level(pd.DataFrame({"site": ["a", "b"], "parity": [0, 1]}),
                              name="tbl-framework", quasi_identifiers=["site", "parity"])
    (build / "report.html").write_text(html('<div id="tbl-framework"></div>'))
    rows = output_check.check_outputs(build)
    failed = {(r.file, r.table, r.check) for r in rows if r.result == "fail"}
    assert ("report.html", "tbl-framework", "disclosure") in failed
    assert ("(disclosure register)", "tbl-framework", "disclosure_register") in failed
    rows = output_check.check_outputs(build, profile="tre-release")
    assert any(r.table == "tbl-sites" and r.result == "fail" for r in rows)


def test_fingerprint_unknown_without_manifest(build, tmp_path):
    (tmp_path / "data_derived" / "manifest.json").unlink()
    assert output_check.data_fingerprint() == "unknown"
    (build / "report.html").write_text(html(""))
    rows = output_check.check_outputs(build, synthetic=True)
    assert {r.data_fingerprint for r in rows} == {"unknown"}


def test_docx_labels_are_read(build):
    import docx

    document = docx.Document()
    paragraph = document.add_paragraph("SYNTHETIC data: table follows")
    start = paragraph._p.makeelement(
        "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}bookmarkStart",
        {"{http://schemas.openxmlformats.org/wordprocessingml/2006/main}id": "0",
         "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}name": "tbl-sites"})
    paragraph._p.append(start)
    document.save(build / "report.docx")
    assert output_check.embedded_labels(build / "report.docx") == ["tbl-sites"]
    rows = output_check.check_outputs(build)
    assert any(r.file == "report.docx" and r.table == "tbl-sites" and r.result == "pass" for r in rows)


def test_log_records_the_input_fingerprints_the_outputs_were_built_from(build, tmp_path):
    from analysis.core import fingerprints
    from analysis.tools import build_status

    raw, code = tmp_path / "exports", tmp_path / "code.py"
    raw.mkdir()
    (raw / "log.csv").write_text("a,b\n1,2\n")
    code.write_text("x = 1\n")
    stamps = tmp_path / "data_derived" / fingerprints.STAMP_FOLDER
    fingerprints.update(stamps, [("raw", str(raw))], [["check_code", str(code)]])
    (build / "report.html").write_text(html(""))
    assert output_check.main(["--outputs", str(build)]) == 0
    rows = read_log(build)
    now = fingerprints.current(stamps)
    assert {r["raw_fingerprint"] for r in rows} == {now.raw} and len(now.raw) == 64
    assert {r["code_fingerprint"] for r in rows} == {now.code} and len(now.code) == 64
    [built_from] = [r for r in rows if r["check"] == fingerprints.LOG_BUILD_CHECK]
    assert fingerprints.BuildFingerprints.parse_detail(built_from["detail"]) == now.groups
    assert build_status.status(stamps, build / output_check.LOG_NAME).current
    (raw / "log.csv").write_text("a,b\n1,3\n")
    fingerprints.update(stamps, [("raw", str(raw))], [["check_code", str(code)]])
    assert not build_status.status(stamps, build / output_check.LOG_NAME).current
