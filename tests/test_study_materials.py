"""Issue 13's inputs: diaries, drawings of life events, EACG review log, model of care.

Each reader is run on a small hand-written export (a MaterialsContext built here), so every rule
is checked on its own: missing consent, a date outside the study window, a diary for an unknown
woman, a model component citing a finding that does not exist, a named EACG member. The whole
cleaning stage is run once on the shipped synthetic study with a broken file to show that
nothing is written when a rule is broken.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pytest

from analysis.analyse import care_model, diaries, eacg, life_events
from analysis.clean.materials import MaterialsContext
from analysis.clean.run import read_materials, run_cleaning
from analysis.core.errors import DataValidationError
from analysis.core.paths import PROJECT_ROOT
from analysis.protect import person_level
from analysis.protect.policy import DisclosureError
from analysis.protect.register import session_register

CONSENT = {"None": "none", "Quote only": "quote", "Image de-identified": "image"}
SOURCES = {
    "study_window_weeks": [-44, 82],
    "diaries": {"file": "diaries.csv", "date_format": "%d/%m/%Y", "consent": CONSENT,
                "columns": {"study_id": "Study ID", "entry_id": "Entry", "date": "Date", "mode": "Mode",
                            "consent": "Consent", "transcript": "Transcript", "image": "Image",
                            "description": "Coded description"},
                "modes": {"Audio": "audio", "Photo": "photo", "Written": "written"}},
    "diary_segments": {"file": "diary_segments.csv", "transcripts": "transcripts",
                       "columns": {"document": "Document", "code": "Code", "start": "Start", "end": "End",
                                   "text": "Coded text", "coder": "Coder"}},
    "drawings": {"file": "drawings.csv", "date_format": "%d/%m/%Y", "consent": CONSENT,
                 "columns": {"study_id": "Study ID", "drawing_id": "Drawing", "date": "Date drawn",
                             "consent": "Consent", "image": "Image", "description": "Coded description"}},
    "drawing_events": {"file": "events.csv", "date_formats": ["%d/%m/%Y", "%m/%Y"],
                       "kinds": {"Birth": "birth", "Childhood": "childhood"},
                       "valence": {"Good": "positive", "Bad": "negative", "Mixed": "mixed"},
                       "columns": {"drawing_id": "Drawing", "event_no": "Event", "kind": "Kind",
                                   "when": "When", "valence": "Valence", "label": "Her label"}},
    "eacg_review_log": {"file": "eacg.csv", "date_format": "%Y-%m-%d",
                        "roles": ["woman with lived experience", "specialist midwife"],
                        "responses": {"Endorsed": "endorsed", "Refined": "refined"},
                        "columns": {"meeting_date": "Meeting date", "members": "Members", "item": "Item",
                                    "discussed": "Discussed", "response": "Response", "change": "What changed",
                                    "version": "Model version"}},
    "model_of_care": {"file": "model.yml"},
}
TRANSCRIPT = "SYNTHETIC\nI kept the diary on my phone.\n"
MODEL = """stages:
  - {id: pregnancy, label: Pregnancy, from_week: -40, to_week: 0}
  - {id: after, label: After the birth, from_week: 0, to_week: 78}
findings:
  - {id: F1, statement: 'Continuity matters.', themes: ['Relationships']}
components:
  - {id: C1, label: 'One lead professional', stages: [pregnancy, after], findings: [F1], since: 1}
versions:
  - {version: 1, date: '2023-01-10', note: 'First draft'}
"""
FILES = {
    "diaries.csv": "Study ID,Entry,Date,Mode,Consent,Transcript,Image,Coded description\n"
                   "SS-EL-001,SS-EL-001_D01,01/03/2023,Audio,Quote only,transcripts/SS-EL-001_D01.txt,,Audio diary\n"
                   "SS-EL-001,SS-EL-001_D02,01/04/2023,Photo,Image de-identified,,visual/a.png,Photo of a cot\n"
                   "SS-EL-002,SS-EL-002_D01,01/05/2023,Photo,None,,visual/b.png,Photo of a pram\n",
    "diary_segments.csv": "Document,Code,Start,End,Coded text,Coder\n"
                          f"SS-EL-001_D01,Relationships\\Continuity,10,39,{TRANSCRIPT[10:39]},RA\n",
    "drawings.csv": "Study ID,Drawing,Date drawn,Consent,Image,Coded description\n"
                    "SS-EL-001,SS-EL-001_DR1,01/06/2023,Quote only,,Drawn as a road\n",
    "events.csv": "Drawing,Event,Kind,When,Valence,Her label\n"
                  "SS-EL-001_DR1,1,Childhood,age 9,Mixed,growing up\n"
                  "SS-EL-001_DR1,2,Birth,15/05/2023,Good,she was born\n",
    "eacg.csv": "Meeting date,Members,Item,Discussed,Response,What changed,Model version\n"
                "2023-02-01,woman with lived experience x3; specialist midwife,F1,Continuity,Refined,Reworded,1\n",
    "model.yml": MODEL,
    "transcripts/SS-EL-001_D01.txt": TRANSCRIPT,
}


def _context(tmp_path: Path, **changes: str) -> MaterialsContext:
    for name, text in {**FILES, **changes}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    women = pd.DataFrame({"study_id": ["SS-EL-001", "SS-EL-002", "SS-EL-003"], "site": ["east_london"] * 3,
                          "recruited": [True, True, False]})
    birth = pd.Series(pd.to_datetime(["2023-05-15", "2023-06-01"]), index=["SS-EL-001", "SS-EL-002"])
    codebook = pd.DataFrame({"code_id": ["T01", "T01.01"], "code": ["Relationships", "Relationships\\Continuity"],
                             "theme_id": ["T01", "T01"], "theme": ["Relationships"] * 2, "level": [1, 2]})
    return MaterialsContext(tmp_path, SOURCES, women, birth, codebook)


def _error(tmp_path: Path, **changes: str) -> DataValidationError:
    with pytest.raises(DataValidationError) as caught:
        read_materials(_context(tmp_path, **changes))
    return caught.value


def test_reads_every_input(tmp_path: Path) -> None:
    tables = read_materials(_context(tmp_path))
    entries = tables["diary_entries"].set_index("entry_id")
    assert entries.loc["SS-EL-001_D02", "consent"] == "image"
    assert entries.loc["SS-EL-001_D01", "week_rel_birth"] == pytest.approx(-75 / 7)
    segment = tables["diary_segments"].iloc[0]
    assert (segment["code_id"], segment["theme_id"], segment["segment_id"]) == ("T01.01", "T01", "SS-EL-001_D01-S001")
    events = tables["life_events"].set_index("event_no")
    assert events.loc[1, "age"] == 9 and pd.isna(events.loc[1, "week_rel_birth"])
    assert events.loc[2, "week_rel_birth"] == 0 and events.loc[2, "valence"] == "positive"
    assert tables["eacg_reviews"].iloc[0]["item_kind"] == "finding"
    assert tables["care_model_findings"].iloc[0]["theme_ids"] == "T01"


def test_missing_consent_names_file_row_and_column(tmp_path: Path) -> None:
    bad = FILES["diaries.csv"].replace("Photo,None,", "Photo,,")
    error = _error(tmp_path, **{"diaries.csv": bad})
    assert (error.file, error.row, error.column, error.rule) == ("diaries.csv", 4, "Consent", "consent recorded")


def test_image_consent_on_an_audio_entry_is_refused(tmp_path: Path) -> None:
    bad = FILES["diaries.csv"].replace("Audio,Quote only", "Audio,Image de-identified")
    error = _error(tmp_path, **{"diaries.csv": bad})
    assert (error.row, error.column) == (2, "Consent") and "photo or video" in error.rule


def test_diary_for_an_unknown_woman(tmp_path: Path) -> None:
    bad = FILES["diaries.csv"].replace("SS-EL-002,SS-EL-002_D01", "SS-EL-003,SS-EL-003_D01")
    error = _error(tmp_path, **{"diaries.csv": bad})
    assert (error.file, error.row, error.column) == ("diaries.csv", 4, "Study ID")
    assert "not a recruited woman" in error.message


def test_event_date_outside_the_study_window(tmp_path: Path) -> None:
    bad = FILES["events.csv"].replace("15/05/2023", "15/05/2019")
    error = _error(tmp_path, **{"events.csv": bad})
    assert (error.file, error.row, error.column) == ("events.csv", 3, "When")
    assert error.rule.startswith("date in the study window") and "as an age" in error.message


def test_event_of_an_unknown_drawing(tmp_path: Path) -> None:
    error = _error(tmp_path, **{"events.csv": FILES["events.csv"].replace("SS-EL-001_DR1,2", "SS-EL-009_DR1,2")})
    assert (error.row, error.column, error.rule) == (3, "Drawing", "drawing in the drawing register")


def test_model_component_citing_a_missing_finding(tmp_path: Path) -> None:
    error = _error(tmp_path, **{"model.yml": MODEL.replace("findings: [F1]", "findings: [F1, F9]")})
    assert (error.file, error.row, error.column) == ("model.yml", 7, "components.findings")
    assert "F9" in error.message


def test_model_finding_citing_a_theme_not_in_the_codebook(tmp_path: Path) -> None:
    error = _error(tmp_path, **{"model.yml": MODEL.replace("['Relationships']", "['Housing']")})
    assert (error.row, error.column, error.rule) == (5, "findings.themes", "theme in the codebook")


def test_eacg_members_by_role_only(tmp_path: Path) -> None:
    bad = FILES["eacg.csv"].replace("; specialist midwife", "; Dr Morag Smith")
    error = _error(tmp_path, **{"eacg.csv": bad})
    assert (error.file, error.row, error.column, error.rule) == ("eacg.csv", 2, "Members", "members by role only")


def test_eacg_item_must_be_in_the_model(tmp_path: Path) -> None:
    error = _error(tmp_path, **{"eacg.csv": FILES["eacg.csv"].replace(",F1,", ",C7,")})
    assert (error.row, error.column, error.rule) == (2, "Item", "item in the model of care")


def test_optional_sections_give_empty_tables(tmp_path: Path) -> None:
    mc = _context(tmp_path)
    mc.sources = {}
    assert read_materials(mc) == {}
    assert {entry.rule for entry in mc.log} >= {"diaries not declared", "model_of_care not declared"}


def test_a_study_without_a_model_of_care_gets_a_sentence_not_a_crash() -> None:
    """The model of care is optional (written with the EACG as the study goes on): with no
    components and no versions the figure and its alt text say there is no model yet."""
    import json

    from analysis.publish import figures

    stages = pd.DataFrame(columns=["stage_id", "label", "from_week", "to_week", "order"])
    components = pd.DataFrame(columns=["component_id", "label", "stages", "findings", "since"])
    versions = pd.DataFrame({"version": pd.Series([], dtype="Int64"), "date": [], "note": []})
    spec = figures.chart_spec(care_model.model_chart(stages, components, versions, title="Model"))
    assert care_model.NO_MODEL in json.dumps(spec)
    assert care_model.model_alt(stages, components, versions) == care_model.NO_MODEL


# ------------------------------------------------------------------------------------------
# The output gate
# ------------------------------------------------------------------------------------------


def test_release_items_keeps_only_what_consent_permits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCLOSURE_REGISTER", "off")
    items = pd.DataFrame({"item": ["a", "b", "c"], "consent": ["none", "quote", "image"],
                          "description": ["x", "y", "z"]})
    images = person_level.release_items(items, name="t/fig-gallery", use="image", id_column="item")
    quotes = person_level.release_items(items, name="t/tbl-quotes", use="quote", id_column="item")
    assert list(images["item"]) == ["c"] and list(quotes["item"]) == ["b", "c"]
    notes = session_register()[-1].notes
    assert "consented item: item b used as quote, consent quote" in notes
    assert any("withheld" in note for note in notes)


def test_release_items_screens_quotes_for_identifiers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCLOSURE_REGISTER", "off")
    items = pd.DataFrame({"item": ["a"], "consent": ["quote"], "text": ["ring me on " + "07700" + " 900" + "123"]})
    with pytest.raises(DisclosureError, match="no identifiers"):
        person_level.release_items(items, name="t/tbl-quotes", use="quote", id_column="item", text_columns=["text"])
    with pytest.raises(DisclosureError, match="no consent recorded"):
        person_level.release_items(items.assign(consent=[None]), name="t/q", use="quote", id_column="item")


def test_output_check_logs_each_item_used_with_its_consent(tmp_path: Path) -> None:
    from analysis.protect import output_check

    register = tmp_path / "register.jsonl"
    (tmp_path / "out").mkdir()
    import os

    old = os.environ.get("DISCLOSURE_REGISTER")
    os.environ["DISCLOSURE_REGISTER"] = str(register)
    try:
        person_level.release_items(pd.DataFrame({"item": ["SS-EL-001_DR1"], "consent": ["image"]}),
                              name="03_synthesis/fig-diary-gallery", use="image", id_column="item", kind="drawing")
    finally:
        os.environ.pop("DISCLOSURE_REGISTER") if old is None else os.environ.__setitem__("DISCLOSURE_REGISTER", old)
    rows = output_check.check_outputs(tmp_path / "out", register=register, synthetic=True)
    consent = [r for r in rows if r.check == "consent"]
    assert [(r.table, r.result, r.detail) for r in consent] == [
        ("03_synthesis/fig-diary-gallery", "pass", "drawing SS-EL-001_DR1 used as image, consent image")]


# ------------------------------------------------------------------------------------------
# Analyses and figures
# ------------------------------------------------------------------------------------------


def test_theme_periods_counts_women_by_source(tmp_path: Path) -> None:
    tables = read_materials(_context(tmp_path))
    segments = pd.DataFrame({"study_id": ["SS-EL-001", "SS-EL-002"], "wave": [1, 1], "theme_id": ["T01", "T01"]})
    interviews = pd.DataFrame({"study_id": ["SS-EL-001", "SS-EL-002"], "wave": [1, 1], "status": ["completed"] * 2,
                               "week_rel_birth": [-20.0, 3.0]})
    codebook = _context(tmp_path).codebook
    out = diaries.theme_periods(segments, interviews, tables["diary_segments"], codebook).set_index(["period", "source"])
    assert out.loc[("Pregnancy", "Interview"), "women"] == 1
    assert out.loc[("Birth to 6 weeks", "Interview"), "women"] == 1
    assert out.loc[("Pregnancy", "Diary"), "women"] == 1
    assert out["women"].sum() == 3


def test_life_event_kinds_and_own_timeline(tmp_path: Path) -> None:
    events = read_materials(_context(tmp_path))["life_events"]
    kinds = life_events.kinds_by_period(events).set_index(["kind", "when_band"])["women"]
    assert kinds[("Childhood", life_events.BEFORE_PREGNANCY)] == 1 and kinds[("Birth", "Birth to 6 weeks")] == 1
    window = pd.DataFrame({"start": [-40.0], "end": [78.0]})
    own = life_events.own_timeline(events, "SS-EL-001", window)
    assert list(own["text"]) == ["\u201cshe was born\u201d (good)"]
    assert "1 event(s) from before the pregnancy" in life_events.own_timeline_alt(events, "SS-EL-001", window)


def test_model_chart_and_eacg_tables(tmp_path: Path) -> None:
    tables = read_materials(_context(tmp_path))
    grid = care_model.model_grid(tables["care_model_stages"], tables["care_model_components"])
    assert list(grid["stage"]) == ["Pregnancy", "After the birth"] and list(grid["text"]) == ["F1 (v1)", ""]
    alt_text = care_model.model_alt(tables["care_model_stages"], tables["care_model_components"],
                                    tables["care_model_versions"])
    assert "C1 One lead professional (pregnancy, after the birth; findings F1" in alt_text
    shaped = eacg.shaped_table(tables["eacg_reviews"])
    assert shaped.iloc[0].to_dict() == {"Meeting": "Feb 2023", "Item": "F1 Continuity", "Response": "Refined",
                                        "What changed": "Reworded", "Model version": "v1"}
    gripp2 = eacg.gripp2_table(tables["eacg_reviews"], tables["care_model_versions"])
    assert gripp2.iloc[1]["Report"].startswith("One meeting in February 2023;") and "specialist midwife" in gripp2.iloc[1]["Report"]
    assert eacg.key_numbers(tables["eacg_reviews"], tables["care_model_versions"])["changed"] == "one"


# ------------------------------------------------------------------------------------------
# The whole cleaning stage: nothing half-written
# ------------------------------------------------------------------------------------------


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.xdist_group("synthetic-cleaning")
def test_broken_drawing_leaves_derived_data_untouched(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(PROJECT_ROOT / "data_raw" / "synthetic", raw)
    out = tmp_path / "derived"
    result = run_cleaning(raw, out)
    assert len(result.tables["life_events"]) > 0 and len(result.tables["eacg_reviews"]) > 0
    before = _digest(out)
    events = raw / "SYNTHETIC_drawing_events.csv"
    lines = events.read_text(encoding="utf-8").split("\n")
    row = next(i for i, line in enumerate(lines) if "/20" in line)
    parts = lines[row].split(",")
    parts[3] = "01/01/2015"
    lines[row] = ",".join(parts)
    events.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(DataValidationError) as caught:
        run_cleaning(raw, out)
    assert (caught.value.file, caught.value.row, caught.value.column) == (
        "SYNTHETIC_drawing_events.csv", row + 1, "When")
    assert _digest(out) == before
