"""Tests of the cleaning stage's identifier screening (analysis.clean.run + analysis.protect.identifiers).

Each kind of direct identifier is planted in a copy of the SYNTHETIC raw study, in a woman's
quote (kept consistent with its transcript) and in a free-text field; cleaning must stop with a
DataValidationError naming the file, row, column and rule, show the value only masked, and leave
the output folder exactly as it was. The planted values are invented.
"""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
from pathlib import Path

import pytest

from analysis.clean.run import run_cleaning
from analysis.core import paths
from analysis.core.errors import DataValidationError
from analysis.protect.identifiers import chi_date_valid, mod11_valid
from analysis.protect.screening import screen_transcript

SEGMENTS = "SYNTHETIC_coded_segments.csv"
PRO_SEGMENTS = "SYNTHETIC_professional_segments.csv"
EVENTS = "SYNTHETIC_key_events.csv"
EAST = "SYNTHETIC_contacts_east_london.csv"
PROFESSIONALS = "SYNTHETIC_professionals.csv"

# (rule name, sentence holding the identifier, the identifier as planted)
IDENTIFIERS = {
    "name": ("name", "I told Shanice Tolley everything.", "Shanice Tolley"),
    "nhs_number": ("NHS number", "My NHS number is 943 476 5919 on the letter.", "943 476 5919"),
    "chi_number": ("CHI number", "The CHI on the form was 1203910002 I think.", "1203910002"),
    "postcode": ("postcode", "We got moved to G12 8QQ in the end.", "G12 8QQ"),
    "date_of_birth": ("date of birth", "I was born on 14/03/1991 so I was young.", "14/03/1991"),
    "phone": ("phone number", "They kept ringing 07700 900123 every day.", "07700 900123"),
    "email": ("email address", "Send it to shanice.t@example.org she said.", "shanice.t@example.org"),
    "street_address": ("street address", "The flat at 14 Larch Street was damp.", "14 Larch Street"),
}


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``folder``: (sha256, mtime_ns)."""
    return {p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(),
                                               p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def cleaned_once(tmp_path_factory) -> Path:
    """The shipped synthetic study cleaned once (it must pass the screening)."""
    out = tmp_path_factory.mktemp("screened") / "derived"
    run_cleaning(paths.SYNTHETIC_RAW, out)
    return out


@pytest.fixture()
def cleaned(tmp_path: Path, cleaned_once: Path) -> Path:
    """A private copy of the cleaned output (modification times kept)."""
    out = tmp_path / "derived"
    shutil.copytree(cleaned_once, out)
    return out


@pytest.fixture()
def raw_copy(tmp_path: Path) -> Path:
    target = tmp_path / "raw"
    shutil.copytree(paths.SYNTHETIC_RAW, target)
    return target


def csv_line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()


def edit_csv_row(path: Path, row: int, change) -> list[str]:
    """Rewrite 1-based line ``row`` of a one-line-per-row CSV with ``change(cells, header)``."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = next(csv.reader([lines[0]]))
    cells = next(csv.reader([lines[row - 1]]))
    change(cells, header)
    lines[row - 1] = csv_line(cells)
    path.write_text("".join(lines), encoding="utf-8")
    return header


def plant_in_quote(raw: Path, sentence: str, file: str = SEGMENTS) -> tuple[str, int, str]:
    """Make row 2's coded text ``sentence``, appended to its transcript so that
    ``transcript[Start:End] == Coded text`` still holds."""
    def change(cells: list[str], header: list[str]) -> None:
        transcript = raw / "transcripts" / f"{cells[header.index('Document')]}.txt"
        text = transcript.read_text(encoding="utf-8")
        start = len(text) + len("R: ")
        transcript.write_text(text + f"R: {sentence}\n", encoding="utf-8")
        cells[header.index("Start")] = str(start)
        cells[header.index("End")] = str(start + len(sentence))
        cells[header.index("Coded text")] = sentence
    edit_csv_row(raw / file, 2, change)
    return file, 2, "Coded text"


def plant_in_event_detail(raw: Path, sentence: str) -> tuple[str, int, str]:
    """Put ``sentence`` in the Detail of the first event that is not a placement change."""
    lines = (raw / EVENTS).read_text(encoding="utf-8").splitlines()
    row = next(i for i, line in enumerate(lines[1:], 2) if ",Placement change," not in line)

    def change(cells: list[str], header: list[str]) -> None:
        cells[header.index("Detail")] = sentence
    edit_csv_row(raw / EVENTS, row, change)
    return EVENTS, row, "Detail"


def assert_stopped(raw: Path, out: Path, where: tuple[str, int, str], kind: str) -> None:
    """Cleaning stops naming file, row, column and rule, masks the value, writes nothing."""
    rule_name, _, value = IDENTIFIERS[kind]
    before = snapshot(out)
    with pytest.raises(DataValidationError) as info:
        run_cleaning(raw, out)
    error = info.value
    assert (error.file, error.row, error.column) == where
    assert error.rule == f"no identifiers: {rule_name}"
    text = str(error)
    for part in (where[0], f"row {where[1]}", where[2], error.rule):
        assert part in text
    compact = "".join(value.split())
    for shown in {value, compact, *value.split()}:
        if len(shown) > 3:
            assert shown not in text, f"identifier part {shown!r} shown unmasked"
    assert "***" in error.message
    assert snapshot(out) == before
    assert not list(out.parent.glob(".derived.staging-*"))


def test_planted_numbers_are_valid_identifiers() -> None:
    """The planted NHS and CHI numbers pass their check digits (else the test proves nothing)."""
    assert mod11_valid("9434765919")
    assert mod11_valid("1203910002") and chi_date_valid("1203910002")


def test_shipped_synthetic_study_passes_screening(cleaned_once: Path) -> None:
    """No false positives on the shipped synthetic study: it cleans, segments included."""
    manifest = (cleaned_once / "manifest.json").read_text(encoding="utf-8")
    assert '"synthetic": true' in manifest
    assert '"segments": 0' not in manifest and '"professional_segments": 0' not in manifest


@pytest.mark.parametrize("kind", list(IDENTIFIERS))
def test_identifier_in_womans_quote_stops_cleaning(kind: str, raw_copy: Path,
                                                   cleaned: Path) -> None:
    where = plant_in_quote(raw_copy, IDENTIFIERS[kind][1])
    assert_stopped(raw_copy, cleaned, where, kind)


@pytest.mark.parametrize("kind", list(IDENTIFIERS))
def test_identifier_in_event_detail_stops_cleaning(kind: str, raw_copy: Path,
                                                   cleaned: Path) -> None:
    where = plant_in_event_detail(raw_copy, IDENTIFIERS[kind][1])
    assert_stopped(raw_copy, cleaned, where, kind)


def test_identifier_in_professionals_quote_stops_cleaning(raw_copy: Path, cleaned: Path) -> None:
    where = plant_in_quote(raw_copy, IDENTIFIERS["name"][1], PRO_SEGMENTS)
    assert_stopped(raw_copy, cleaned, where, "name")


def test_identifier_in_professional_role_stops_cleaning(raw_copy: Path, cleaned: Path) -> None:
    def change(cells: list[str], header: list[str]) -> None:
        cells[header.index("role")] = "Midwife (ask for Shanice Tolley)"
    edit_csv_row(raw_copy / PROFESSIONALS, 3, change)
    assert_stopped(raw_copy, cleaned, (PROFESSIONALS, 3, "role"), "name")


def test_identifier_in_undeclared_contact_notes_column_stops_cleaning(raw_copy: Path,
                                                                      cleaned: Path) -> None:
    path = raw_copy / EAST
    lines = path.read_text(encoding="utf-8").splitlines()
    note = IDENTIFIERS["email"][1]
    lines = [lines[0] + ",Notes"] + [
        line + "," + (csv_line([note]).strip() if number == 5 else "")
        for number, line in enumerate(lines[1:], 2)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert_stopped(raw_copy, cleaned, (EAST, 5, "Notes"), "email")


def test_identifier_in_transcript_outside_coded_text_stops_cleaning(raw_copy: Path,
                                                                    cleaned: Path) -> None:
    transcript = raw_copy / "transcripts" / "SS-EL-001_W1.txt"
    text = transcript.read_text(encoding="utf-8")
    transcript.write_text(text + "R: " + IDENTIFIERS["phone"][1] + "\n", encoding="utf-8")
    line = text.count("\n") + 1
    column = len("R: They kept ringing ") + 1
    assert_stopped(raw_copy, cleaned, ("transcripts/SS-EL-001_W1.txt", line,
                                       f"character {column}"), "phone")


def test_team_name_list_from_environment_is_used(raw_copy: Path, cleaned: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    own = tmp_path / "team_names.csv"
    own.write_text("term,kind\nZebedee Quarrington,participant\n", encoding="utf-8")
    monkeypatch.setenv("NAME_LISTS", str(own))
    where = plant_in_event_detail(raw_copy, "Baby stayed with Zebedee Quarrington.")
    with pytest.raises(DataValidationError) as info:
        run_cleaning(raw_copy, cleaned)
    assert (info.value.file, info.value.row, info.value.column) == where
    assert info.value.rule == "no identifiers: name"
    assert "Zebedee" not in str(info.value) and "Quarrington" not in str(info.value)


@pytest.mark.parametrize(("text", "row", "kind"), [
    ("Intro\nR: call me on 07700\n900123 any time\n", 2, "no identifiers: phone number"),
    ("Intro\nR: my date of birth is\n\n14/03/1991.\n", 4, "no identifiers: date of birth"),
    ("Intro\nR: I live at 14 Larch\nStreet now\n", 2, "no identifiers: street address"),
    ("Intro\nR: 2 times a week\nPR-EL-01 (GP): 3 visits\n", None, None),
])
def test_transcript_identifier_broken_over_lines(text: str, row: int | None,
                                                 kind: str | None) -> None:
    """Distinct lines are scanned once; identifiers broken over a line end are still found."""
    if row is None:
        screen_transcript(text, "t.txt", {})
        return
    with pytest.raises(DataValidationError) as info:
        screen_transcript(text, "t.txt", {})
    assert (info.value.row, info.value.rule) == (row, kind)


def test_identifier_in_refi_qda_project_is_named_by_xml_element(raw_copy: Path,
                                                                cleaned: Path) -> None:
    """With the coded data read from the .qdpx, a hit names the <Coding> and its XML line."""
    import zipfile

    from analysis.sources.qda import QdaError
    from analysis.synthetic.sources import sources_yaml

    (raw_copy / "sources.yml").write_text(sources_yaml("qdpx"), encoding="utf-8")
    project = raw_copy / "SYNTHETIC_project.qdpx"
    with zipfile.ZipFile(project) as archive:
        entries = {info.filename: archive.read(info.filename) for info in archive.infolist()}
    with (raw_copy / SEGMENTS).open(encoding="utf-8", newline="") as handle:
        quote = next(csv.DictReader(handle))["Coded text"]  # a coded passage of the project
    planted = ("Shanice Tolley " + quote)[:len(quote)]  # same length: offsets stay valid
    for name, data in entries.items():
        if name.startswith("sources/"):
            entries[name] = data.replace(quote.encode("utf-8"), planted.encode("utf-8"))
    with zipfile.ZipFile(project, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    before = snapshot(cleaned)
    with pytest.raises(QdaError) as info:
        run_cleaning(raw_copy, cleaned)
    assert info.value.file == "SYNTHETIC_project.qdpx!project.qde"
    assert info.value.rule == "no identifiers: name"
    assert info.value.element == "Coding"
    assert "Shanice" not in str(info.value) and "Tolley" not in str(info.value)
    assert snapshot(cleaned) == before
