"""Reading REFI-QDA exports (analysis.sources.qda.read / mapping) on small hand-written SYNTHETIC fixtures.

``tests/fixtures/qda/quirks_project.qde`` imitates a real tool's export: the ``.qde`` is named after
the project, the folder is ``Sources/``, GUIDs are upper case and braced, one case has no name,
``<Sets/>`` is empty, one source has a BOM and ``\\r\\n`` line ends with positions counting the BOM
and each ``\\r\\n`` as one character, another has ``\\r\\n`` with REFI positions, there is a
whole-document coding, an inline source, a picture source and memos. Expected offsets below were
counted by hand on the texts defined here.
"""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from analysis.core.errors import DataValidationError
from analysis.sources.qda import (
    QdaError, QdaWarning, SEGMENT_COLUMNS, read_codebook, read_coded_data, read_project,
)
from analysis.sources.qda.mapping import read_qda_map

FIXTURES = Path(__file__).parent / "fixtures" / "qda"

S1_STORED = "\ufeffSYNTHETIC interview.\r\nI felt judged.\r\nThe midwife was kind.\r\n"
S1_CANONICAL = "SYNTHETIC interview.\nI felt judged.\nThe midwife was kind.\n"  # 58 characters
S3_STORED = "SYNTHETIC interview.\r\nThey took her at birth.\r\n"
FG_TEXT = "SYNTHETIC focus group.\nWe share a building with the drug service.\n"
CASE_MAP = pd.DataFrame({"qda_name": ["Participant 7"], "study_id": ["SS-EL-002"],
                         "role": ["woman"]})


def make_qdpx(path: Path, entries: dict[str, str | bytes]) -> Path:
    """Zip *entries* (name -> text or bytes) into *path*."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data.encode("utf-8") if isinstance(data, str) else data)
    return path


def quirks_entries() -> dict[str, str | bytes]:
    """Entries of the quirky export: '<project>.qde' and a 'Sources/' folder."""
    return {
        "Stepping Test.qde": (FIXTURES / "quirks_project.qde").read_bytes(),
        "Sources/s1.txt": S1_STORED,
        "Sources/s3.txt": S3_STORED,
        "Sources/n2.txt": "SYNTHETIC memo on hospital social workers.",
    }


@pytest.fixture
def quirks_qdpx(tmp_path: Path) -> Path:
    return make_qdpx(tmp_path / "quirks.qdpx", quirks_entries())


def read_quietly(path: Path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QdaWarning)
        return read_coded_data(path, **kwargs)


def test_quirks_give_the_raw_frames_counted_by_hand(quirks_qdpx):
    data = read_quietly(quirks_qdpx, qda_map=CASE_MAP)
    expected_women = pd.DataFrame(
        [
            ("SS-EL-001_W1", "Services", 0, 58, S1_CANONICAL, "Coder One"),
            ("SS-EL-001_W1", "Fear of removal", 21, 35, "I felt judged.", "Coder Two"),
            ("SS-EL-001_W1", "Services\\Midwife", 36, 57, "The midwife was kind.", "Coder One"),
            ("SS-EL-002_W2", "Fear of removal\\At birth\\Hospital social worker", 21, 44,
             "They took her at birth.", "Coder Two"),
        ],
        columns=SEGMENT_COLUMNS,
    )
    pd.testing.assert_frame_equal(data.women_segments, expected_women)
    expected_professional = pd.DataFrame(
        [("FG-EL-01", "Services", 26, 65, "share a building with the drug service.",
          "Coder Two")], columns=SEGMENT_COLUMNS)
    pd.testing.assert_frame_equal(data.professional_segments, expected_professional)
    assert data.transcripts == {
        "FG-EL-01": FG_TEXT,
        "SS-EL-001_W1": S1_CANONICAL,
        "SS-EL-002_W2": "SYNTHETIC interview.\nThey took her at birth.\n",
    }
    for frame in (data.women_segments, data.professional_segments):
        for row in frame.itertuples(index=False):
            assert data.transcripts[row.Document][row.Start:row.End] == row[4]
    assert data.origin == "MAXQDA 2022 (imitated)"


def test_codebook_paths_descriptions_and_colours(quirks_qdpx):
    data = read_quietly(quirks_qdpx, qda_map=CASE_MAP)
    expected = pd.DataFrame({
        "Code": ["Fear of removal", "Fear of removal\\At birth",
                 "Fear of removal\\At birth\\Hospital social worker", "Services",
                 "Services\\Midwife"],
        "Description": ["SYNTHETIC: worry that the baby will be taken", "", "", "", ""],
        "Colour": ["#801650", "#f46a25", "", "#12436D", "#2288AA"],
    })
    pd.testing.assert_frame_equal(data.codebook, expected)


def test_each_quirk_is_tolerated_with_one_warning(quirks_qdpx):
    with pytest.warns(QdaWarning) as record:
        project = read_project(quirks_qdpx)
    messages = [str(w.message) for w in record]
    assert len(messages) == len(set(messages)) == len(project.deviations)
    expected_fragments = [
        "named 'Stepping Test.qde'",
        "named 'Sources/'",
        "empty <Sets/>",
        "upper case and braces",
        "case(s) without a name",
        "picture/PDF/audio/video",
    ]
    for fragment in expected_fragments:
        assert sum(fragment in m for m in messages) == 1, fragment
    shifted = [m for m in messages if "'SS-EL-001_W1'" in m]
    assert len(shifted) == 1
    assert "byte-order mark counted" in shifted[0] and "counted as one" in shifted[0]
    assert "2 of 2" in shifted[0]
    normalised = [m for m in messages if "'Interview 3.docx'" in m]
    assert len(normalised) == 1 and "non-standard" not in normalised[0]


def test_project_frames_users_cases_variables(quirks_qdpx):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QdaWarning)
        project = read_project(quirks_qdpx)
    assert sorted(project.users["name"]) == ["Coder One", "Coder Two"]
    assert list(project.cases["name"]) == ["Participant 7", ""]
    assert list(project.case_variables["value"]) == ["East London", "East London"]
    assert set(project.case_sources["source_name"]) == {"Interview 3.docx", "SS-EL-001_W1"}
    assert project.source_variables[["variable", "value"]].values.tolist() == [["wave", "2"]]
    assert list(project.codes["level"]) == [1, 2, 3, 1, 2]
    assert list(project.codes["is_codable"]) == [True, True, True, False, True]
    assert project.non_text_sources == 1
    whole = project.codings[project.codings["whole_document"]]
    assert len(whole) == 1 and whole["selection_guid"].isna().all()


def test_memos_are_kept_in_their_own_frame(quirks_qdpx):
    data = read_quietly(quirks_qdpx, qda_map=CASE_MAP)
    memos = data.memos.set_index("memo_name")
    assert memos.loc["Project memo", "target_kind"] == "project"
    assert memos.loc["Code memo", "target_kind"] == "code"
    assert memos.loc["Code memo", "code"] == "Fear of removal\\At birth\\Hospital social worker"
    assert memos.loc["Code memo", "memo_text"] == "SYNTHETIC memo on hospital social workers."
    assert memos.loc["Code memo", "author"] == "Coder Two"
    selection = memos.loc["Selection memo"]
    assert (selection["target_kind"], selection["document"]) == ("selection", "SS-EL-001_W1")
    assert (selection["start"], selection["end"]) == (36, 57)
    assert memos.loc["Loose memo", "target_kind"] == "none"
    assert len(memos) == 4


def test_mapping_by_source_name_with_extension_and_exclusion(tmp_path):
    path = make_qdpx(tmp_path / "p.qdpx", quirks_entries())
    mapping = pd.DataFrame({
        "qda_name": ["Interview 3", "FG-EL-01"],
        "document": ["SS-EL-009_W4", ""],
        "role": ["", "exclude"],
    })
    data = read_quietly(path, qda_map=mapping)
    assert data.transcripts.keys() == {"SS-EL-001_W1", "SS-EL-009_W4"}
    assert data.professional_segments.empty
    assert list(data.professional_segments.columns) == SEGMENT_COLUMNS
    documents = data.documents.set_index("qda_source")
    assert documents.loc["Interview 3.docx", "matched_by"] == "qda_map: source name"


def test_qda_map_next_to_the_file_is_used(tmp_path):
    path = make_qdpx(tmp_path / "p.qdpx", quirks_entries())
    (tmp_path / "qda_map.csv").write_text(
        "qda_name,study_id,wave,role\nParticipant 7,SS-EL-005,3,woman\n", encoding="utf-8")
    data = read_quietly(path)
    assert "SS-EL-005_W3" in data.transcripts  # the mapping's wave wins over the variable


def test_unmapped_source_is_a_clear_error(quirks_qdpx):
    with pytest.raises(QdaError) as caught:
        read_quietly(quirks_qdpx)
    error = caught.value
    assert error.rule == "unmapped source" and error.element == "TextSource"
    assert error.line == 71 and "Interview 3.docx" in str(error)
    assert isinstance(error, DataValidationError)


@pytest.mark.parametrize(
    ("csv", "row", "column"),
    [
        ("qda_name,document\nA,FG-EL-01\nA,FG-EL-02\n", 3, "qda_name"),
        ("qda_name,role\nA,woman\n", 2, "study_id"),
        ("qda_name,role\nA,patient\n", 2, "role"),
        ("qda_name,document,role\nA,FG-EL-01,woman\n", 2, "role"),
        ("qda_name,study_id,wave\nA,SS-EL-001,7\n", 2, "wave"),
        ("qda_name,document\nA,Interview 3\n", 2, "document"),
        ("qda_name,role\nA,professional\n", 2, "document"),
        ("name,role\nA,woman\n", None, "qda_name"),
    ],
)
def test_bad_mapping_rows_name_row_and_column(tmp_path, csv, row, column):
    path = tmp_path / "qda_map.csv"
    path.write_text(csv, encoding="utf-8")
    with pytest.raises(DataValidationError) as caught:
        read_qda_map(path)
    assert (caught.value.row, caught.value.column) == (row, column)


def test_codebook_only_project(tmp_path):
    qde = """<?xml version="1.0" encoding="UTF-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="Codebook only" origin="QualCoder 3.5 (imitated)">
  <CodeBook><Codes>
    <Code guid="11111111-1111-1111-1111-111111111111" name="Housing" isCodable="true"
          color="#3D3D3D"><Description>SYNTHETIC</Description></Code>
  </Codes></CodeBook>
</Project>"""
    path = make_qdpx(tmp_path / "cb.qdpx", {"project.qde": qde})
    with warnings.catch_warnings():
        warnings.simplefilter("error", QdaWarning)  # nothing to tolerate here
        data = read_coded_data(path)
    assert data.codebook.to_dict("records") == [
        {"Code": "Housing", "Description": "SYNTHETIC", "Colour": "#3D3D3D"}]
    for frame in (data.women_segments, data.professional_segments):
        assert frame.empty and list(frame.columns) == SEGMENT_COLUMNS
    assert data.transcripts == {} and data.deviations == []


def test_nested_codebook_qdc_with_empty_sets():
    with pytest.warns(QdaWarning) as record:
        codebook = read_codebook(FIXTURES / "nested_codebook.qdc")
    assert sum("empty <Sets/>" in str(w.message) for w in record) == 1
    assert list(codebook["Code"]) == [
        "Relationships",
        "Relationships\\Continuity",
        "Relationships\\Continuity\\Midwife",
        "Relationships\\Continuity\\Midwife\\Named midwife",
        "Stigma",
    ]
    assert codebook.loc[3, "Colour"] == "#aabbcc"
    assert codebook.loc[1, "Description"] == "Same professional over time"


def test_coder_falls_back_from_coding_to_selection_to_source(quirks_qdpx):
    data = read_quietly(quirks_qdpx, qda_map=CASE_MAP)
    coders = dict(zip(data.women_segments["Code"], data.women_segments["Coder"], strict=True))
    assert coders["Fear of removal"] == "Coder Two"  # coding's creatingUser beats selection's
    assert coders["Services\\Midwife"] == "Coder One"  # no coding user: the selection's


def test_labels_that_match_under_no_convention_give_one_warning_per_source(tmp_path):
    entries = quirks_entries()
    entries["Sources/s1.txt"] = "SYNTHETIC interview.\nI felt judged.\nThe midwife was kind.\n"
    path = make_qdpx(tmp_path / "p.qdpx", entries)
    with pytest.warns(QdaWarning) as record:
        project = read_project(path)
    about_s1 = [str(w.message) for w in record if "'SS-EL-001_W1'" in str(w.message)]
    assert len(about_s1) == 1 and "2 of 2 selection labels do not match" in about_s1[0]
    row = project.sources.set_index("name").loc["SS-EL-001_W1"]
    assert (row["labels_checked"], row["labels_matched"]) == (2, 0)
