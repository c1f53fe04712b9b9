"""Writing REFI-QDA files (analysis.sources.qda.write): round trips, reproducible bytes, schema validity.

What we write is checked against the REFI-QDA schemas with xmlschema, a validator independent of
the lxml one the package uses itself.
"""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import xmlschema

from analysis.core.errors import DataValidationError
from analysis.sources.qda import (
    QdaWarning, SEGMENT_COLUMNS, make_qda_map, read_codebook, read_coded_data, read_qda_map,
    write_qda_map, write_qdc, write_qdpx,
)

SCHEMAS = Path(__file__).resolve().parents[1] / "analysis" / "sources" / "qda" / "schemas"

TRANSCRIPTS = {
    "SS-EL-001_W1":
        "SYNTHETIC interview.\nI was scared they would take him.\nThe midwife helped.\n",
    "SS-EL-001_W2": "SYNTHETIC interview.\nNobody came after the birth.\n",
    "SS-GG-002_W1": "SYNTHETIC interview.\nThe hub had everything in one place. 😀\n",
    "FG-EL-01": "SYNTHETIC focus group.\nWe share a building with the drug service.\n",
    "PI-GG-01": "SYNTHETIC interview with a professional.\nUncoded so far.\n",
}
CODEBOOK = pd.DataFrame({
    "Code": ["Fear of removal", "Fear of removal\\At birth", "Fear of removal\\At birth\\Ward",
             "Services", "Services\\Co-location", "Postnatal gap"],
    "Description": ["SYNTHETIC theme", "", "On the ward", "Services met", "", "After birth"],
    "Colour": ["#801650", "#F46A25", "#F46A25", "#12436D", "#28A197", "#3D3D3D"],
})


def segment(document: str, code: str, phrase: str, coder: str) -> dict:
    start = TRANSCRIPTS[document].index(phrase)
    return {"Document": document, "Code": code, "Start": start, "End": start + len(phrase),
            "Coded text": phrase, "Coder": coder}


WOMEN = pd.DataFrame([
    segment("SS-EL-001_W1", "Fear of removal", "scared they would take him", "Coder A"),
    segment("SS-EL-001_W1", "Fear of removal\\At birth\\Ward", "scared they would take him",
            "Coder B"),  # same span, second coder
    segment("SS-EL-001_W1", "Services", "The midwife helped.", "Coder A"),
    segment("SS-EL-001_W1", "Services", "The midwife helped.", "Coder A"),  # exact duplicate
    segment("SS-EL-001_W2", "Postnatal gap", "Nobody came after the birth.", "Coder B"),
    segment("SS-GG-002_W1", "Services\\Co-location", "everything in one place. 😀", "Coder A"),
])
PROFESSIONALS = pd.DataFrame([
    segment("FG-EL-01", "Services\\Co-location", "share a building with the drug service",
            "Coder B"),
])


def sort(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["Document", "Start", "End", "Code"], kind="stable").reset_index(
        drop=True)


@pytest.fixture
def written(tmp_path: Path) -> Path:
    path = tmp_path / "SYNTHETIC_project.qdpx"
    write_qdpx(CODEBOOK, [WOMEN, PROFESSIONALS], TRANSCRIPTS, path)
    return path


def test_round_trip_gives_back_the_same_frames(written):
    with warnings.catch_warnings():
        warnings.simplefilter("error", QdaWarning)  # our own files need no tolerance
        data = read_coded_data(written)
    pd.testing.assert_frame_equal(data.women_segments, sort(WOMEN))
    pd.testing.assert_frame_equal(data.professional_segments, sort(PROFESSIONALS))
    pd.testing.assert_frame_equal(data.codebook, CODEBOOK)
    assert data.transcripts == TRANSCRIPTS
    assert data.origin == "Stepping Stones synthetic generator"
    assert list(data.women_segments.dtypes) == [object, object, "int64", "int64", object, object]


def test_bytes_are_reproducible_and_entries_sorted(written, tmp_path):
    again = tmp_path / "again.qdpx"
    write_qdpx(CODEBOOK, [PROFESSIONALS, WOMEN.iloc[::-1]], TRANSCRIPTS, again)
    assert again.read_bytes() == written.read_bytes()
    with zipfile.ZipFile(written) as archive:
        names = archive.namelist()
        assert names == sorted(names) and names[0] == "project.qde"
        assert len(names) == 1 + len(TRANSCRIPTS)
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_written_qde_is_valid_and_says_synthetic(written):
    with zipfile.ZipFile(written) as archive:
        qde = archive.read("project.qde")
    schema = xmlschema.XMLSchema(str(SCHEMAS / "Project.xsd"))
    schema.validate(qde.decode("utf-8"))
    text = qde.decode("utf-8")
    assert 'name="Stepping Stones (SYNTHETIC)"' in text and "SYNTHETIC data" in text


def test_written_qdc_is_valid_and_reads_back(tmp_path):
    path = tmp_path / "codebook.qdc"
    write_qdc(CODEBOOK, path, not_codable=["Services"])
    xmlschema.XMLSchema(str(SCHEMAS / "Codebook.xsd")).validate(str(path))
    pd.testing.assert_frame_equal(read_codebook(path), CODEBOOK)
    assert 'name="Services" isCodable="false"' in path.read_text(encoding="utf-8")


def test_missing_parent_codes_are_added_with_a_warning(tmp_path):
    leaves = pd.DataFrame({"Code": ["Theme\\Sub\\Leaf"], "Description": [None],
                           "Colour": [float("nan")]})
    path = tmp_path / "codebook.qdc"
    with pytest.warns(QdaWarning, match="parent code"):
        write_qdc(leaves, path)
    assert list(read_codebook(path)["Code"]) == ["Theme", "Theme\\Sub", "Theme\\Sub\\Leaf"]


@pytest.mark.parametrize(
    ("change", "column"),
    [
        (lambda w: w.assign(**{"Coded text": "SYNTHETIC other text"}), "Coded text"),
        (lambda w: w.assign(Code="No such code"), "Code"),
        (lambda w: w.assign(Document="SS-XX-999_W1"), "Document"),
        (lambda w: w.assign(End=10_000), "Start"),
        (lambda w: w.drop(columns="Coder"), "Coder"),
    ],
)
def test_bad_frames_are_refused_and_nothing_is_written(tmp_path, change, column):
    path = tmp_path / "out.qdpx"
    with pytest.raises(DataValidationError) as caught:
        write_qdpx(CODEBOOK, change(WOMEN.head(1)), TRANSCRIPTS, path)
    assert caught.value.column == column
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_bad_colour_is_refused(tmp_path):
    bad = CODEBOOK.assign(Colour=["red"] + list(CODEBOOK["Colour"][1:]))
    with pytest.raises(DataValidationError) as caught:
        write_qdc(bad, tmp_path / "x.qdc")
    assert (caught.value.row, caught.value.column) == (2, "Colour")  # header is row 1


def test_qda_map_for_the_written_project(tmp_path):
    mapping = make_qda_map(TRANSCRIPTS)
    assert list(mapping["qda_name"]) == sorted(TRANSCRIPTS)
    women = mapping[mapping["role"] == "woman"]
    assert women[["study_id", "wave"]].values.tolist() == [
        ["SS-EL-001", "1"], ["SS-EL-001", "2"], ["SS-GG-002", "1"]]
    path = tmp_path / "qda_map.csv"
    write_qda_map(mapping, path)
    pd.testing.assert_frame_equal(read_qda_map(path), mapping)


def test_empty_segments_still_write_sources(tmp_path):
    path = tmp_path / "p.qdpx"
    write_qdpx(CODEBOOK, pd.DataFrame(columns=SEGMENT_COLUMNS), TRANSCRIPTS, path)
    data = read_coded_data(path)
    assert data.women_segments.empty and data.transcripts == TRANSCRIPTS


def test_string_frames_match_what_the_cleaning_stage_reads_from_csv(written, tmp_path):
    from analysis.sources.declared import read_source

    data = read_coded_data(written)
    data.women_segments.to_csv(tmp_path / "segments.csv", index=False, lineterminator="\n")
    data.codebook.to_csv(tmp_path / "codebook.csv", index=False, lineterminator="\n")
    frames = data.string_frames()
    for key, file in (("segments", "segments.csv"), ("codebook", "codebook.csv")):
        from_csv = read_source(tmp_path, {"file": file})
        pd.testing.assert_frame_equal(frames[key], from_csv, check_dtype=False)
        assert all(isinstance(v, str) for v in frames[key].drop(columns="_row").to_numpy().ravel())
    assert list(frames["professional_segments"]["_row"]) == [2]
