"""Coded audio diaries read from a REFI-QDA project give the same derived tables as their CSV.

The synthetic generator writes the diary codings as a CSV export beside ``transcripts/``. Here
the whole synthetic study (interviews, focus groups and audio diaries) is written as one
``.qdpx`` with :func:`analysis.sources.qda.write_qdpx`, checked against the REFI-QDA schema with
xmlschema (independent of the reader's lxml validation), declared in ``sources.yml``
(``qdpx:`` and ``diary_segments`` without a file), and cleaned: every derived table must be
byte-identical to the CSV form's, whether diary sources are named by their entry or tied to it
by a diary map. A diary source for an unknown woman or without a register entry (so without
consent) stops the stage with the file, element and line named, and nothing is written.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import xmlschema
import yaml

from analysis.clean.run import MANIFEST_FILE, owned_files, run_cleaning
from analysis.core.errors import DataValidationError
from analysis.sources.declared import read_source
from analysis.sources.qda import QdaError, SEGMENT_COLUMNS, write_qdpx
from analysis.sources.qda.diaries import diary_sources, validate_diary_map
from analysis.sources.qda.read import read_project
from analysis.synthetic.folder import (
    CODEBOOK_FILE, DIARY_FILE, DIARY_SEGMENTS_FILE, PRO_SEGMENTS_FILE, QDPX_FILE, SEGMENTS_FILE,
)
from analysis.synthetic.sources import sources_yaml

QDE = f"{QDPX_FILE}!project.qde"
SCHEMA = Path(__file__).resolve().parents[1] / "analysis" / "sources" / "qda" / "schemas" / "Project.xsd"
DIARY = re.compile(r"_D[0-9]+$")


@pytest.fixture()
def raw(generated: Path, tmp_path: Path) -> Path:
    target = tmp_path / "raw"
    shutil.copytree(generated, target)
    return target


def _segments(raw: Path, file: str) -> pd.DataFrame:
    frame = read_source(raw, {"file": file})
    return frame[SEGMENT_COLUMNS].astype({"Start": "int64", "End": "int64"})


def project_with_diaries(raw: Path, rename: dict[str, str] | None = None,
                         extra: dict[str, str] | None = None) -> None:
    """Write the study's interviews, focus groups and audio diaries as one ``.qdpx``, declare it
    (diary codings from the project), and remove the CSV form and every transcript file.

    ``rename`` gives diary sources other names (entry -> source name); ``extra`` adds uncoded
    diary sources (name -> text).
    """
    rename = rename or {}
    transcripts = {rename.get(p.stem, p.stem): p.read_text(encoding="utf-8")
                   for p in sorted((raw / "transcripts").glob("*.txt"))}
    transcripts.update(extra or {})
    diary = _segments(raw, DIARY_SEGMENTS_FILE)
    diary["Document"] = diary["Document"].map(lambda d: rename.get(d, d))
    codebook = read_source(raw, {"file": CODEBOOK_FILE}).drop(columns="_row")
    write_qdpx(codebook, [_segments(raw, SEGMENTS_FILE), _segments(raw, PRO_SEGMENTS_FILE), diary],
               transcripts, raw / QDPX_FILE)
    sources = yaml.safe_load(sources_yaml("qdpx"))
    sources["diary_segments"] = {"document_pattern": r"^(?P<study_id>.+)_D[0-9]+$"}
    if rename:
        sources["diary_segments"]["map"] = "diary_map.csv"
    (raw / "sources.yml").write_text(yaml.safe_dump(sources, sort_keys=False), encoding="utf-8")
    for name in (CODEBOOK_FILE, SEGMENTS_FILE, PRO_SEGMENTS_FILE, DIARY_SEGMENTS_FILE):
        (raw / name).unlink()
    shutil.rmtree(raw / "transcripts")


def qde_lines(raw: Path) -> list[str]:
    with zipfile.ZipFile(raw / QDPX_FILE) as archive:
        return archive.read("project.qde").decode("utf-8").split("\n")


def snapshot(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_written_project_holds_the_diaries_and_is_schema_valid(raw: Path) -> None:
    diary_documents = {p.stem for p in (raw / "transcripts").glob("*.txt") if DIARY.search(p.stem)}
    project_with_diaries(raw)
    with zipfile.ZipFile(raw / QDPX_FILE) as archive:
        xmlschema.XMLSchema(str(SCHEMA)).validate(archive.read("project.qde").decode("utf-8"))
    found = diary_sources(read_project(raw / QDPX_FILE))
    assert len(diary_documents) > 5 and set(found["entry_id"]) == diary_documents
    assert (found["matched_by"] == "source name").all()


@pytest.mark.parametrize("named_by", ["entry", "diary_map"])
def test_project_diaries_give_byte_identical_tables(named_by: str, raw: Path, csv_cleaned: Path,
                                                    tmp_path: Path) -> None:
    rename = {}
    if named_by == "diary_map":  # a QDA tool's own names, tied to entries by the map
        entries = sorted(p.stem for p in (raw / "transcripts").glob("*.txt") if DIARY.search(p.stem))
        rename = {entry: f"Audio recording {n:03d}.docx" for n, entry in enumerate(entries, 1)}
        pd.DataFrame({"qda_name": [Path(v).stem for v in rename.values()],
                      "entry_id": list(rename)}).to_csv(raw / "diary_map.csv", index=False)
    project_with_diaries(raw, rename)
    out = tmp_path / "derived"
    result = run_cleaning(raw, out)
    assert len(result.tables["diary_segments"]) > 10
    for name in owned_files():
        if name != MANIFEST_FILE:
            assert (out / name).read_bytes() == (csv_cleaned / name).read_bytes(), name
    inputs = set(pd.read_json(out / MANIFEST_FILE, typ="series")["inputs"])
    assert QDPX_FILE in inputs and DIARY_SEGMENTS_FILE not in inputs
    assert ("diary_map.csv" in inputs) == (named_by == "diary_map")


def _broken(raw: Path, extra: dict[str, str], csv_cleaned: Path, tmp_path: Path) -> QdaError:
    project_with_diaries(raw, extra=extra)
    out = tmp_path / "derived"
    shutil.copytree(csv_cleaned, out)
    before = snapshot(out)
    with pytest.raises(QdaError) as caught:
        run_cleaning(raw, out)
    assert snapshot(out) == before  # nothing half-written
    return caught.value


def test_diary_source_of_an_unknown_woman(raw: Path, csv_cleaned: Path, tmp_path: Path) -> None:
    error = _broken(raw, {"SS-EL-999_D01": "SYNTHETIC AUDIO DIARY\nA day.\n"}, csv_cleaned, tmp_path)
    lines = qde_lines(raw)
    line = next(n for n, text in enumerate(lines, 1) if 'name="SS-EL-999_D01"' in text)
    assert (error.file, error.element, error.line) == (QDE, "TextSource", line)
    assert error.rule == "diary of a recruited woman" and "SS-EL-999" in error.message


def test_diary_source_without_a_register_entry_lacks_consent(raw: Path, csv_cleaned: Path,
                                                            tmp_path: Path) -> None:
    woman = read_source(raw, {"file": DIARY_FILE})["Study ID"].iloc[0]
    error = _broken(raw, {f"{woman}_D77": "SYNTHETIC AUDIO DIARY\nA day.\n"}, csv_cleaned, tmp_path)
    line = next(n for n, text in enumerate(qde_lines(raw), 1) if f'name="{woman}_D77"' in text)
    assert (error.file, error.element, error.line) == (QDE, "TextSource", line)
    assert "consent" in error.rule and f"{woman}_D77" in error.message


def test_diary_map_rules() -> None:
    good = validate_diary_map(pd.DataFrame({"qda_name": ["Audio 1"], "entry_id": ["SS-EL-001_D01"]}),
                              "diary_map.csv")
    assert list(good.columns) == ["qda_name", "entry_id", "study_id"]
    with pytest.raises(DataValidationError) as caught:
        validate_diary_map(pd.DataFrame({"qda_name": ["Audio 1", "Audio 2"],
                                         "entry_id": ["SS-EL-001_D01", "SS-EL-001_D01"]}),
                           "diary_map.csv")
    assert (caught.value.file, caught.value.row, caught.value.column, caught.value.rule) == (
        "diary_map.csv", 3, "entry_id", "unique")


def test_diaries_in_project_and_csv_is_an_error(raw: Path, csv_cleaned: Path, tmp_path: Path) -> None:
    project_with_diaries(raw)
    sources = yaml.safe_load((raw / "sources.yml").read_text(encoding="utf-8"))
    sources["diary_segments"]["file"] = DIARY_SEGMENTS_FILE  # the CSV declared as well
    (raw / "sources.yml").write_text(yaml.safe_dump(sources, sort_keys=False), encoding="utf-8")
    out = tmp_path / "derived"
    shutil.copytree(csv_cleaned, out)
    before = snapshot(out)
    with pytest.raises(QdaError) as caught:
        run_cleaning(raw, out)
    assert (caught.value.file, caught.value.element) == (QDE, "TextSource")
    assert caught.value.rule == "diary codings declared once" and snapshot(out) == before
