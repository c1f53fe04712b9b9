"""The cleaning stage reading the coded data from a REFI-QDA project instead of CSV files.

The synthetic generator writes the coded data in both forms (CSV files + ``transcripts/``, and
``SYNTHETIC_project.qdpx`` + ``qda_map.csv``). Cleaning a folder through either form must give
byte-identical derived tables; a broken project must stop the stage with an error naming file,
XML element and line, leaving the output folder as it was.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import yaml

from analysis.clean.run import MANIFEST_FILE, build_tables, owned_files, run_cleaning
from analysis.core.errors import DataValidationError
from analysis.synthetic.folder import (
    CODEBOOK_FILE, DICTIONARY_FILE, PRO_SEGMENTS_FILE, QDA_MAP_FILE, QDPX_FILE, SEGMENTS_FILE,
)
from analysis.synthetic.sources import sources_yaml

QDE = f"{QDPX_FILE}!project.qde"


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``folder``: (sha256, mtime_ns)."""
    return {p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(),
                                               p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def table_files() -> list[str]:
    """The derived files that must not depend on the form of the raw data (all but manifest)."""
    return [name for name in owned_files() if name != MANIFEST_FILE]


def use_project(raw: Path, *, drop_csv: bool) -> Path:
    """Point ``raw``'s sources.yml at the .qdpx; optionally remove the CSV form altogether."""
    (raw / "sources.yml").write_text(sources_yaml("qdpx"), encoding="utf-8")
    if drop_csv:
        for name in (CODEBOOK_FILE, SEGMENTS_FILE, PRO_SEGMENTS_FILE):
            (raw / name).unlink()
        # the project carries the interview and focus-group transcripts; audio diaries are coded
        # in their own file against their own transcripts (not part of the REFI-QDA project)
        for path in (raw / "transcripts").glob("*.txt"):
            if not re.search(r"_D[0-9]+$", path.stem):
                path.unlink()
    return raw


def rewrite_qde(raw: Path, change: Callable[[list[str]], None]) -> list[str]:
    """Apply ``change`` to the lines of the project's ``project.qde`` (in place); return them."""
    path = raw / QDPX_FILE
    with zipfile.ZipFile(path) as archive:
        entries = {info.filename: archive.read(info.filename) for info in archive.infolist()}
    lines = entries["project.qde"].decode("utf-8").split("\n")
    change(lines)
    entries["project.qde"] = "\n".join(lines).encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return lines


def line_of(lines: list[str], needle: str, after: int = 0) -> int:
    """1-based number of the first line after line ``after`` that contains ``needle``."""
    return next(n for n, line in enumerate(lines, 1) if n > after and needle in line)


@pytest.fixture()
def raw_copy(generated: Path, tmp_path: Path) -> Path:
    target = tmp_path / "raw"
    shutil.copytree(generated, target)
    return target


@pytest.fixture()
def derived_copy(csv_cleaned: Path, tmp_path: Path) -> Path:
    """A private copy of a cleaned output folder (modification times kept)."""
    target = tmp_path / "derived"
    shutil.copytree(csv_cleaned, target)
    return target


# ------------------------------------------------------------------------------------------
# The generator writes the project
# ------------------------------------------------------------------------------------------


def test_generator_lists_project_and_map_in_manifest(generated: Path) -> None:
    manifest = json.loads((generated / "manifest.json").read_text(encoding="utf-8"))
    for name in (QDPX_FILE, QDA_MAP_FILE):
        digest = hashlib.sha256((generated / name).read_bytes()).hexdigest()
        assert manifest["files"][name] == digest, name
    with zipfile.ZipFile(generated / QDPX_FILE) as archive:
        qde = archive.read("project.qde").decode("utf-8")
        sources = [n for n in archive.namelist() if n.startswith("sources/")]
    assert "SYNTHETIC" in qde[:400]  # the project's name says so
    # every interview and focus-group transcript; audio diary transcripts (<study_id>_D<nn>) are
    # coded in their own CSV (issue 13) and are not part of the project
    interviews = [p for p in (generated / "transcripts").glob("*.txt") if not re.search(r"_D[0-9]+$", p.stem)]
    assert len(sources) == len(interviews)
    readme = (generated / "README.md").read_text(encoding="utf-8")
    assert QDPX_FILE in readme and QDA_MAP_FILE in readme


# ------------------------------------------------------------------------------------------
# Same tables from either form
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("drop_csv", [False, True], ids=["both_forms_present", "project_only"])
def test_project_gives_byte_identical_tables(drop_csv: bool, raw_copy: Path, csv_cleaned: Path,
                                             tmp_path: Path) -> None:
    raw = use_project(raw_copy, drop_csv=drop_csv)
    out = tmp_path / "derived"
    result = run_cleaning(raw, out)
    assert len(result.tables["segments"]) > 100 and len(result.tables["professional_segments"])
    for name in table_files():
        assert (out / name).read_bytes() == (csv_cleaned / name).read_bytes(), name
    manifest = json.loads((out / MANIFEST_FILE).read_text(encoding="utf-8"))
    expected = json.loads((csv_cleaned / MANIFEST_FILE).read_text(encoding="utf-8"))
    for key in ("row_counts", "site_fingerprints", "synthetic"):
        assert manifest[key] == expected[key], key
    # the manifest names what was really read
    assert {QDPX_FILE, QDA_MAP_FILE} <= set(manifest["inputs"])
    assert not {CODEBOOK_FILE, SEGMENTS_FILE, PRO_SEGMENTS_FILE} & set(manifest["inputs"])


def test_declared_map_decides_which_sources_are_read(raw_copy: Path,
                                                     csv_cleaned: Path) -> None:
    raw = use_project(raw_copy, drop_csv=True)
    qda_map = pd.read_csv(raw / QDA_MAP_FILE, dtype=str, keep_default_na=False)
    dropped = qda_map.loc[qda_map["role"] == "professional", "document"].iloc[0]
    qda_map.loc[qda_map["document"] == dropped, "role"] = "exclude"
    qda_map.to_csv(raw / QDA_MAP_FILE, index=False)
    tables, _ = build_tables(raw)
    before = pd.read_parquet(csv_cleaned / "professional_segments.parquet")
    assert dropped in set(before["document"])
    assert set(tables["professional_segments"]["document"]) == set(before["document"]) - {dropped}
    assert len(tables["segments"]) == len(pd.read_parquet(csv_cleaned / "segments.parquet"))


def test_tolerated_deviation_is_logged_and_changes_nothing_else(raw_copy: Path,
                                                                csv_cleaned: Path,
                                                                tmp_path: Path) -> None:
    raw = use_project(raw_copy, drop_csv=True)

    def empty_selection(lines: list[str]) -> None:
        at = line_of(lines, "<TextSource")
        lines.insert(at, '      <PlainTextSelection guid="11111111-2222-4333-8444-555555555555"'
                         ' startPosition="3" endPosition="3"/>')

    rewrite_qde(raw, empty_selection)
    out = tmp_path / "derived"
    run_cleaning(raw, out)
    for name in table_files():
        if not name.startswith("cleaning_log."):
            assert (out / name).read_bytes() == (csv_cleaned / name).read_bytes(), name
    log = pd.read_csv(out / "cleaning_log.csv")
    extra = log.loc[log["file"] == QDPX_FILE]
    assert len(extra) == 1 and "empty selection" in extra["detail"].item()
    assert len(log) == len(pd.read_csv(csv_cleaned / "cleaning_log.csv")) + 1


# ------------------------------------------------------------------------------------------
# A broken project stops the stage with file, element and line, output untouched
# ------------------------------------------------------------------------------------------


def break_unknown_code(raw: Path) -> tuple:
    found: dict[str, int] = {}

    def change(lines: list[str]) -> None:
        n = line_of(lines, "<CodeRef", after=line_of(lines, "<Sources>"))
        found["line"] = n
        lines[n - 1] = '          <CodeRef targetGUID="00000000-0000-4000-8000-000000000000"/>'

    rewrite_qde(raw, change)
    return QDE, found["line"], "CodeRef", "unknown code"


def break_selection_outside_text(raw: Path) -> tuple:
    found: dict[str, int] = {}

    def change(lines: list[str]) -> None:
        n = line_of(lines, "<PlainTextSelection")
        found["line"] = n
        start = lines[n - 1].index('endPosition="') + len('endPosition="')
        end = lines[n - 1].index('"', start)
        lines[n - 1] = lines[n - 1][:start] + "99999999" + lines[n - 1][end:]

    rewrite_qde(raw, change)
    return QDE, found["line"], "PlainTextSelection", "selection outside the text"


def break_not_a_zip(raw: Path) -> tuple:
    (raw / QDPX_FILE).write_bytes(b"not a zip archive")
    return QDPX_FILE, None, None, "not a zip archive"


def break_source_of_missed_interview(raw: Path) -> tuple:
    """Map one woman's source to a wave she has no completed interview for."""
    qda_map = pd.read_csv(raw / QDA_MAP_FILE, dtype=str, keep_default_na=False)
    women = qda_map.loc[qda_map["role"] == "woman"]
    have = set(women["document"])
    row = next(i for i, study_id in zip(women.index, women["study_id"])
               if any(f"{study_id}_W{w}" not in have for w in range(1, 6)))
    study_id, source = qda_map.at[row, "study_id"], qda_map.at[row, "qda_name"]
    wave = next(w for w in range(1, 6) if f"{study_id}_W{w}" not in have)
    qda_map.loc[row, ["document", "wave"]] = [f"{study_id}_W{wave}", str(wave)]
    qda_map.to_csv(raw / QDA_MAP_FILE, index=False)
    with zipfile.ZipFile(raw / QDPX_FILE) as archive:
        lines = archive.read("project.qde").decode("utf-8").split("\n")
    return (QDE, line_of(lines, f'name="{source}"'), "TextSource",
            "document maps to a completed interview")


def break_map_value(raw: Path) -> tuple:
    lines = (raw / QDA_MAP_FILE).read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].rstrip("\n").rsplit(",", 1)[0] + ",nurse\n"
    (raw / QDA_MAP_FILE).write_text("".join(lines), encoding="utf-8")
    return QDA_MAP_FILE, 3, "role", "allowed values"


FAULTS = [break_unknown_code, break_selection_outside_text, break_not_a_zip,
          break_source_of_missed_interview, break_map_value]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.__name__[6:] for f in FAULTS])
def test_broken_project_is_named_and_leaves_output_unchanged(fault, raw_copy: Path,
                                                            derived_copy: Path,
                                                            tmp_path: Path) -> None:
    raw = use_project(raw_copy, drop_csv=True)
    file, line, element, rule = fault(raw)
    before = snapshot(derived_copy)
    with pytest.raises(DataValidationError) as info:
        run_cleaning(raw, derived_copy)
    error = info.value
    assert (error.file, error.row, error.column) == (file, line, element)
    assert error.rule.startswith(rule)
    shown = str(error)
    assert file in shown and rule in shown
    if line is not None:
        assert str(line) in shown and element in shown
    assert snapshot(derived_copy) == before
    assert not list(derived_copy.parent.glob(".derived.staging-*"))
    with pytest.raises(DataValidationError):
        run_cleaning(raw, tmp_path / "never")
    assert not (tmp_path / "never").exists()


def test_coded_data_declared_twice_is_an_error(raw_copy: Path) -> None:
    sources = raw_copy / "sources.yml"
    sources.write_text(sources.read_text(encoding="utf-8")
                       + f"\nqdpx: {{file: {QDPX_FILE}, map: {QDA_MAP_FILE}}}\n",
                       encoding="utf-8")
    with pytest.raises(DataValidationError) as info:
        build_tables(raw_copy)
    assert (info.value.file, info.value.column) == ("sources.yml", "codebook.file")
    assert info.value.rule == "coded data declared once"


# ------------------------------------------------------------------------------------------
# A REDCap dictionary change flows through the whole stage without code changes
# ------------------------------------------------------------------------------------------


def test_renamed_redcap_choice_labels_flow_through_cleaning(raw_copy: Path, csv_cleaned: Path,
                                                            tmp_path: Path) -> None:
    """A renamed substance label reaches the derived table as is; a renamed treatment label
    needs only its line in sources.yml (``redcap.values``), and the derived codes stay."""
    path = raw_copy / DICTIONARY_FILE
    text = path.read_bytes().decode("utf-8-sig")
    assert text.count("1, Heroin |") == 1 and text.count("1, Methadone |") == 1
    text = text.replace("1, Heroin |", "1, Diamorphine |").replace("1, Methadone |",
                                                                     "1, Methadone (oral) |")
    path.write_bytes(text.encode("utf-8-sig"))
    sources = yaml.safe_load((raw_copy / "sources.yml").read_text(encoding="utf-8"))
    treatment = sources["redcap"]["values"]["treatment"]
    treatment["Methadone (oral)"] = treatment.pop("Methadone")
    (raw_copy / "sources.yml").write_text(yaml.safe_dump(sources, sort_keys=False),
                                          encoding="utf-8")

    out = tmp_path / "derived"
    after = run_cleaning(raw_copy, out).tables["participant_substances"]
    before = pd.read_parquet(csv_cleaned / "participant_substances.parquet")
    assert (before["substance"] == "Heroin").sum() > 0
    assert (after["substance"] == "Diamorphine").sum() == (before["substance"] == "Heroin").sum()
    assert "Heroin" not in set(after["substance"])
    renamed = before.assign(substance=before["substance"].replace("Heroin", "Diamorphine"))
    assert sorted(map(tuple, after.to_numpy())) == sorted(map(tuple, renamed.to_numpy()))
    for name in table_files():  # everything else, treatment codes included, is unchanged
        if not name.startswith("participant_substances.") and not name.startswith("sites/"):
            assert (out / name).read_bytes() == (csv_cleaned / name).read_bytes(), name
