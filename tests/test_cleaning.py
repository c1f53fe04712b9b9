"""Tests of the cleaning stage (analysis.clean.run, analysis.core.tables, analysis.core.atomic)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from analysis.clean.run import owned_files, run_cleaning
from analysis.core.tables import TABLE_NAMES, load_all, read_table
from analysis.core import paths
from analysis.core.errors import DataValidationError

FIXTURE = Path(__file__).parent / "fixtures" / "cleaning" / "three_women"
NOTEBOOK = paths.PROJECT_ROOT / "notebooks" / "01_clean.ipynb"


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``folder``: (sha256, mtime_ns)."""
    return {p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(),
                                               p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------------------------------
# Hand-computed expectations on the three-women fixture
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fixture_tables(tmp_path_factory) -> dict[str, pd.DataFrame]:
    out = tmp_path_factory.mktemp("fixture_out")
    run_cleaning(FIXTURE, out)
    return load_all(out)


def test_participants(fixture_tables) -> None:
    p = fixture_tables["participants"].set_index("study_id")
    assert list(p.index) == ["SS-AA-001", "SS-AA-002", "SS-EL-001", "SS-EL-002"]
    assert p["recruited"].tolist() == [True, False, True, True]
    assert p.loc["SS-EL-001", "previous_children_removed"] == False  # noqa: E712 (parity 0)
    assert p.loc["SS-EL-002", "treatment"] == "buprenorphine"
    assert p.loc["SS-EL-001", "status"] == "completed"
    assert p.loc["SS-EL-002", "status"] == "withdrawn"
    assert p.loc["SS-AA-001", "status"] == "lost_to_follow_up"
    assert (p.loc["SS-EL-001", "waves_completed"], p.loc["SS-EL-001", "last_wave"]) == (4, 5)
    assert p.loc["SS-EL-001", "placement_at_birth"] == "with_mother"
    assert p.loc["SS-EL-001", "placement_at_18m"] == "with_mother"  # back home at week 57
    assert p.loc["SS-EL-002", "placement_at_birth"] == "mother_baby_placement"
    assert pd.isna(p.loc["SS-EL-002", "placement_at_18m"])  # withdrawn: unknown at 18 months
    assert pd.isna(p.loc["SS-AA-002", "age_band"])  # declined: nothing kept
    substances = fixture_tables["participant_substances"]
    assert substances.loc[substances["study_id"] == "SS-EL-001", "substance"].tolist() == [
        "Crack cocaine", "Heroin"]


def test_interviews(fixture_tables) -> None:
    i = fixture_tables["interviews"]
    el1 = i.loc[i["study_id"] == "SS-EL-001"]
    assert el1["status"].tolist() == ["completed", "completed", "missed", "completed", "completed"]
    # birth 30/05/2022; interviews 17/01/2022, 18/07/2022, 29/05/2023, 27/11/2023
    assert el1["week_rel_birth"].dropna().tolist() == [-19.0, 7.0, 52.0, 78.0]
    assert i.loc[i["study_id"] == "SS-EL-002", "status"].tolist()[1:] == ["withdrawn"] * 4
    assert i.loc[i["study_id"] == "SS-AA-001", "status"].tolist()[1:] == ["lost"] * 4
    # SS-AA-001 has no birth: due date = consent 07/02/2022 + (40 - 12) weeks = 22/08/2022
    assert i.loc[(i["study_id"] == "SS-AA-001") & (i["wave"] == 1), "week_rel_birth"].item() == -26.0
    assert set(i["wave_label"]) == {"Pregnancy", "Birth / 6-8 weeks", "6 months", "12 months",
                                    "18 months"}


def test_placements_are_intervals(fixture_tables) -> None:
    pl = fixture_tables["placements"]
    el1 = pl.loc[pl["study_id"] == "SS-EL-001"]
    assert el1["placement"].tolist() == ["with_mother", "foster_care", "with_mother"]
    assert el1["from_week"].tolist() == [1.0, 27.0, 57.0]
    assert el1["to_week"].tolist()[:2] == [27.0, 57.0] and pd.isna(el1["to_week"].iloc[2])


def test_contacts(fixture_tables) -> None:
    c = fixture_tables["contacts"].set_index("contact_id")
    assert list(c.index) == ["SS-AA-001-C0001", "SS-AA-001-C0002", "SS-EL-001-C0001",
                             "SS-EL-001-C0002", "SS-EL-001-C0003", "SS-EL-002-C0001"]
    assert c["service"].tolist() == ["drug_service", "community_midwife", "specialist_midwife",
                                     "health_visitor", "drug_service", "drug_service"]
    assert c["week_rel_birth"].tolist() == [-24.0, -23.0, -2.0, 2.0, 8.0, 0.0]
    assert c["phase"].tolist() == ["antenatal", "antenatal", "antenatal", "birth", "postnatal",
                                   "birth"]
    assert c.loc["SS-EL-001-C0003", "source_row"] == 7  # after a duplicate and a blank line
    assert c.loc["SS-EL-001-C0002", "contact_mode"] == "home_visit"
    assert pd.isna(c.loc["SS-AA-001-C0001", "contact_mode"])  # Ayrshire logs no mode
    assert c.loc["SS-EL-001-C0001", "contact_date"] == pd.Timestamp("2022-05-16")


def test_events_codebook_and_segments(fixture_tables) -> None:
    e = fixture_tables["events"]
    assert e.loc[e["study_id"] == "SS-EL-001", "phase"].tolist() == [
        "antenatal", "birth", "birth", "postnatal", "postnatal"]
    cb = fixture_tables["codebook"].set_index("code")
    assert cb.loc["Fear\\Watched", ["code_id", "parent_id", "theme_id", "level"]].tolist() == [
        "T01.02", "T01", "T01", 2]
    assert cb.loc["Support", "code_id"] == "T02"
    s = fixture_tables["segments"]
    assert s["segment_id"].tolist() == ["SS-EL-001_W1-S001", "SS-EL-001_W1-S002",
                                        "SS-EL-001_W1-S003"]
    assert s["code_id"].tolist() == ["T01", "T01.01", "T02.01"]
    assert s[["study_id", "wave", "site"]].iloc[0].tolist() == ["SS-EL-001", 1, "east_london"]
    ps = fixture_tables["professional_segments"]
    assert ps[["prof_id", "site", "start", "end"]].iloc[0].tolist() == [
        "PR-EL-01", "east_london", 45, 65]


def test_cleaning_log(fixture_tables) -> None:
    log = fixture_tables["cleaning_log"]
    dropped = log.loc[log["action"] == "dropped"].set_index(["file", "rule"])["rows_affected"]
    assert dropped[("contacts_el.csv", "blank row")] == 1
    assert dropped[("contacts_el.csv", "exact duplicate row")] == 1
    assert dropped[("contacts_aa.csv", "junk row (first cell matches (?i)^\\s*total)")] == 1
    assert (log["rule"] == "birth not recorded").sum() == 1


def test_tables_have_contract_columns_and_dtypes(fixture_tables, tmp_path: Path) -> None:
    assert set(fixture_tables) == set(TABLE_NAMES)
    contacts = fixture_tables["contacts"]
    assert str(contacts["contact_date"].dtype) == "datetime64[ns]"
    assert str(fixture_tables["participants"]["parity"].dtype) == "Int64"


# ------------------------------------------------------------------------------------------
# The synthetic study: faults planted one at a time
# ------------------------------------------------------------------------------------------


@pytest.fixture()
def raw_copy(tmp_path: Path) -> Path:
    target = tmp_path / "raw"
    shutil.copytree(paths.SYNTHETIC_RAW, target)
    return target


@pytest.fixture(scope="module")
def cleaned_once(tmp_path_factory) -> Path:
    """The shipped synthetic study cleaned once, plus another stage's output beside it."""
    out = tmp_path_factory.mktemp("cleaned_once") / "derived"
    run_cleaning(paths.SYNTHETIC_RAW, out)
    (out / "notebooks").mkdir()
    (out / "notebooks" / "02_site_profile_glasgow.ipynb").write_text("{}", encoding="utf-8")
    return out


@pytest.fixture()
def cleaned(tmp_path: Path, cleaned_once: Path) -> Path:
    """A private copy of the cleaned output (modification times kept)."""
    out = tmp_path / "derived"
    shutil.copytree(cleaned_once, out)
    return out


def edit_line(path: Path, row: int, change: Callable[[str], str], encoding: str = "utf-8") -> None:
    """Apply ``change`` to 1-based line ``row`` of a text file (line ends kept)."""
    lines = path.read_bytes().decode(encoding).splitlines(keepends=True)
    lines[row - 1] = change(lines[row - 1])
    path.write_bytes("".join(lines).encode(encoding))


def first_row(path: Path, needle: str, encoding: str = "utf-8") -> int:
    lines = path.read_bytes().decode(encoding).splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


RECORDS = "SYNTHETIC_redcap_participants_raw.csv"
EAST = "SYNTHETIC_contacts_east_london.csv"
HUDD = "SYNTHETIC_contacts_huddersfield.csv"
AYR = "SYNTHETIC_contacts_ayrshire.csv"
GLA = "SYNTHETIC_contacts_glasgow.xlsx"


def break_missing_column(raw: Path) -> tuple:
    path = raw / AYR
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(",".join(l.rstrip("\n").split(",")[:2]) + "\n" for l in lines),
                    encoding="utf-8")
    return AYR, 1, "Agency", "required column present"


def break_unknown_site(raw: Path) -> tuple:
    row = first_row(raw / RECORDS, "SS-GG-003")
    edit_line(raw / RECORDS, row, lambda l: l.replace(",ggc,", ",manchester,"))
    return RECORDS, row, "redcap_data_access_group", "known site (sources.yml redcap.sites)"


def break_unparseable_date(raw: Path) -> tuple:
    edit_line(raw / EAST, 5, lambda l: ",".join([l.split(",")[0], "next Tuesday"] + l.split(",")[2:]))
    return EAST, 5, "Date", "date format %Y-%m-%d"


def break_impossible_date(raw: Path) -> tuple:
    edit_line(raw / HUDD, 4, lambda l: "31/02/2022" + l[10:], encoding="cp1252")
    return HUDD, 4, "Date of contact", "date format %d/%m/%Y"


def break_contact_years_after_birth(raw: Path) -> tuple:
    def later(line: str) -> str:
        cells = line.split(",")
        cells[1] = str(int(cells[1][:4]) + 5) + cells[1][4:]
        return ",".join(cells)
    edit_line(raw / EAST, 3, later)
    return EAST, 3, "Date", "contact weeks relative to birth within -52..104"


def break_duplicate_study_id(raw: Path) -> tuple:
    row = first_row(raw / RECORDS, "SS-EL-002,")
    edit_line(raw / RECORDS, row, lambda l: l.replace("SS-EL-002,", "SS-EL-001,", 1))
    return RECORDS, row, "record_id", "unique study_id"


def break_unknown_woman(raw: Path) -> tuple:
    edit_line(raw / AYR, 2, lambda l: l.replace(l.split(",")[0], "SS-AA-999", 1))
    return AYR, 2, "Participant", "contact belongs to a recruited woman"


def break_encoding(raw: Path) -> tuple:
    path = raw / HUDD
    data = bytearray(path.read_bytes())
    lines = data.split(b"\n")
    lines[5] = lines[5].replace(b";", b";\x81", 2).replace(b";\x81", b";", 1)  # in column 3
    path.write_bytes(b"\n".join(lines))
    return HUDD, 6, "Service", "encoding cp1252"


def break_empty_file(raw: Path) -> tuple:
    (raw / "SYNTHETIC_key_events.csv").write_bytes(b"")
    return "SYNTHETIC_key_events.csv", 1, "(header)", "file not empty"


def break_redcap_choice(raw: Path) -> tuple:
    header = (raw / RECORDS).read_text(encoding="utf-8").splitlines()[0].split(",")
    column = header.index("housing")
    row = first_row(raw / RECORDS, "SS-HD-004")

    def change(line: str) -> str:
        cells = line.rstrip("\n").split(",")
        cells[column] = "9"
        return ",".join(cells) + "\n"
    edit_line(raw / RECORDS, row, change)
    return RECORDS, row, "housing", "value in choices"


def break_unknown_service(raw: Path) -> tuple:
    from openpyxl import load_workbook

    book = load_workbook(raw / GLA)
    sheet = book["Contacts"]
    header = [c.value for c in sheet[2]]
    sheet.cell(row=7, column=header.index("Service/agency") + 1, value="Dentist")
    book.save(raw / GLA)
    return GLA, 7, "Service/agency", "service in service_map.csv"


def break_other_site_woman(raw: Path) -> tuple:
    edit_line(raw / EAST, 4, lambda l: l.replace(l.split(",")[0], "SS-HD-002", 1))
    return EAST, 4, "Study ID", "contact at the woman's site"


def break_segment_document(raw: Path) -> tuple:
    path = raw / "SYNTHETIC_coded_segments.csv"
    edit_line(path, 2, lambda l: "SS-EL-999" + l[l.index("_W"):])
    return "SYNTHETIC_coded_segments.csv", 2, "Document", "document maps to a completed interview"


FAULTS = [break_missing_column, break_unknown_site, break_unparseable_date, break_impossible_date,
          break_contact_years_after_birth, break_duplicate_study_id, break_unknown_woman,
          break_encoding, break_empty_file, break_redcap_choice, break_unknown_service,
          break_other_site_woman, break_segment_document]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.__name__[6:] for f in FAULTS])
def test_planted_fault_is_named_and_leaves_output_untouched(fault, raw_copy: Path,
                                                            cleaned: Path) -> None:
    before = snapshot(cleaned)
    file, row, column, rule = fault(raw_copy)
    with pytest.raises(DataValidationError) as info:
        run_cleaning(raw_copy, cleaned)
    error = info.value
    assert (error.file, error.row, error.column) == (file, row, column)
    assert error.rule.startswith(rule)
    for part in (file, f"row {row}", column, error.rule):
        assert part in str(error)
    assert snapshot(cleaned) == before
    assert not list(cleaned.parent.glob(".derived.staging-*"))


def test_rerun_changes_nothing_and_one_site_fix_touches_one_fingerprint(
        raw_copy: Path, cleaned: Path) -> None:
    before = snapshot(cleaned)
    again = run_cleaning(paths.SYNTHETIC_RAW, cleaned)  # the same export as before
    assert again.replaced == ()
    assert snapshot(cleaned) == before
    path = raw_copy / AYR
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    del lines[1]  # the site fixes its log: one contact removed
    path.write_text("".join(lines), encoding="utf-8")
    result = run_cleaning(raw_copy, cleaned)
    after = snapshot(cleaned)
    changed = {name for name in after if after[name] != before.get(name)}
    assert "sites/ayrshire.sha256" in changed and "contacts.parquet" in changed
    assert not {"sites/east_london.sha256", "sites/glasgow.sha256",
                "sites/huddersfield.sha256", "participants.parquet",
                "notebooks/02_site_profile_glasgow.ipynb"} & changed
    assert set(result.replaced) == changed


def test_stage_owns_only_its_files(cleaned: Path) -> None:
    produced = {p.relative_to(cleaned).as_posix() for p in cleaned.rglob("*") if p.is_file()}
    assert produced - set(owned_files()) == {"notebooks/02_site_profile_glasgow.ipynb"}
    manifest = json.loads((cleaned / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["synthetic"] is True and len(manifest["raw_fingerprint"]) == 64
    assert manifest["row_counts"]["participants"] == len(read_table("participants", cleaned))


def test_csv_and_parquet_agree(cleaned: Path) -> None:
    for name in ("contacts", "participants", "segments"):
        parquet = read_table(name, cleaned)
        csv = pd.read_csv(cleaned / f"{name}.csv")
        assert list(csv.columns) == list(parquet.columns) and len(csv) == len(parquet)


def test_cli_exits_non_zero_on_bad_data(raw_copy: Path, tmp_path: Path) -> None:
    (raw_copy / "SYNTHETIC_key_events.csv").write_bytes(b"")
    done = subprocess.run([sys.executable, "-m", "analysis.clean.run", "--raw", str(raw_copy),
                           "--out", str(tmp_path / "out")], capture_output=True, text=True,
                          cwd=paths.PROJECT_ROOT)
    assert done.returncode == 1
    assert "file not empty" in done.stderr and not (tmp_path / "out").exists()


def test_notebook_is_thin_and_stored_without_outputs() -> None:
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert all(c.get("outputs", []) == [] and c.get("execution_count") is None for c in code)
    parameters = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(parameters) == 1
    assert "data_raw" in "".join(parameters[0]["source"])
    assert "data_derived" in "".join(parameters[0]["source"])


def test_coded_text_mismatch_says_where_without_quoting_free_text() -> None:
    import pandas as pd

    from analysis.sources.transcripts import check_coded_text
    from analysis.core.errors import DataValidationError

    segments = pd.DataFrame({"document": ["T1"], "start": [0], "end": [21], "_file": ["segments.csv"], "_row": [4],
                             "text": ["I saw Jane Smith there"]})
    with pytest.raises(DataValidationError) as caught:
        check_coded_text(segments, {"T1": "I saw Mary Jones there"}, {"text": "Text"})
    message = str(caught.value)
    assert "segments.csv" in message and "Text" in message and "differ from character 6" in message
    assert "Jane" not in message and "Mary" not in message
