"""Tests for analysis.protect.identifiers: planted SYNTHETIC identifiers in quotes and file copies.

The identifiers are assembled at run time from pieces so that this source file itself passes
the identifier git hook; every value is invented.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.protect import identifiers
from analysis.protect.identifiers import mask, mod11_valid, scan_dataframe, scan_file, scan_text


def with_check_digit(nine: str) -> str:
    total = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1)))
    check = (11 - total % 11) % 11
    assert check != 10
    return nine + str(check)


def synthetic_person() -> str:
    with open(identifiers.SYNTHETIC_NAME_LIST, encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(line for line in handle if not line.startswith("#"))]
    return next(r["term"] for r in rows if r["kind"] == "participant" and " " in r["term"])


NHS = with_check_digit("943476591")
NHS_SPACED = f"{NHS[:3]} {NHS[3:6]} {NHS[6:]}"
CHI = with_check_digit("010190123")  # 1 January 1990
PLANTED = {
    "name": synthetic_person(),
    "nhs_number": NHS_SPACED,
    "chi_number": CHI,
    "postcode": "KA" + "1 2BB",
    "date_of_birth": "12/03" + "/1991",
    "phone": "07700 " + "900123",
    "email": "kerry.example" + "@" + "example.org",
    "street_address": "14 Larch " + "Road",
}
SENTENCES = {
    "name": "I told {} the midwife would come.",
    "nhs_number": "NHS number {} written in the notes.",
    "chi_number": "Her CHI was {} at the time.",
    "postcode": "She moved to {} last year.",
    "date_of_birth": "DOB" + ": {} was on the form.",
    "phone": "Ring me on {} any time.",
    "email": "Write to {} please.",
    "street_address": "She stayed at {} for a while.",
}


def planted_lines() -> list[str]:
    return [SENTENCES[kind].format(value) for kind, value in PLANTED.items()]


def assert_masked(hits, raw_values=PLANTED.values()):
    for hit in hits:
        text = json.dumps(hit.as_dict()) + hit.describe()
        for raw in raw_values:
            assert raw not in text
            assert raw.replace(" ", "") not in text.replace(" ", "") or len(raw) < 5


def test_check_digit_rules():
    assert mod11_valid(NHS)
    assert not mod11_valid(NHS[:-1] + str((int(NHS[-1]) + 1) % 10))
    assert identifiers.chi_date_valid(CHI) and not identifiers.chi_date_valid("3213901234")


@pytest.mark.parametrize("kind", list(PLANTED))
def test_each_kind_found_in_a_quote_with_location_and_masked(kind):
    quotes = pd.DataFrame({"segment_id": [1, 2],
                           "text": ["Nothing to see here (synthetic).", SENTENCES[kind].format(PLANTED[kind])]})
    hits = scan_dataframe(quotes, "segments.parquet", ["text"])
    assert [h.kind for h in hits] == [kind]
    assert hits[0].location.startswith("row 1, column 'text', char ")
    start = SENTENCES[kind].index("{}") + 1
    assert hits[0].column == start
    assert_masked(hits)


def test_masks():
    assert mask("Shanice", "name") == "S***"
    assert mask(NHS_SPACED, "nhs_number") == "***" + NHS[-2:]
    assert mask("ab", "phone") == "***"


def test_no_false_alarms_on_report_text():
    text = ("The study (NIHR130619, IRAS 309152) ran from October 2021; 36 women took part. "
            "doi:10.1186/s12884-023-06172-6. Findings event on 30 September 2024. "
            "Participant SS-EL-003 at wave 2; 15,655 records; 1,039 (2007/08). "
            "Weeks -20 to +78. Colour #F7F9FB, fill EEF3F8. Not a valid NHS number: " + NHS[:-1] + str((int(NHS[-1]) + 1) % 10))
    assert scan_text(text) == []


def test_line_and_column_in_text():
    hits = scan_text("first line\nsecond " + PLANTED["email"], file="x.md")
    assert (hits[0].line, hits[0].column, hits[0].location) == (2, 8, "line 2, col 8")


def test_name_lists_from_environment(tmp_path, monkeypatch):
    own = tmp_path / "team_names.txt"
    own.write_text("# team list, outside git\nZebedee Quark\n", encoding="utf-8")
    monkeypatch.setenv("NAME_LISTS", str(own))
    assert [h.kind for h in scan_text("met zebedee quark today")] == ["name"]
    assert scan_text(f"met {PLANTED['name']} today") == []  # synthetic list replaced


def test_bad_name_list_names_file_and_row(tmp_path, monkeypatch):
    bad = tmp_path / "names.csv"
    bad.write_text("term,kind\nAb,staff\n", encoding="utf-8")
    monkeypatch.setenv("NAME_LISTS", str(bad))
    with pytest.raises(identifiers.IdentifierScanError, match=r"names\.csv: row 2, column 'term'"):
        scan_text("anything")


def _write_copies(folder: Path) -> dict[str, Path]:
    lines = planted_lines()
    files: dict[str, Path] = {}
    files["md"] = folder / "report.md"
    files["md"].write_text("# SYNTHETIC\n\n" + "\n".join(lines) + "\n", encoding="utf-8")
    files["csv"] = folder / "quotes.csv"
    pd.DataFrame({"quote": lines}).to_csv(files["csv"], index=False)
    files["html"] = folder / "report.html"
    body = "".join(f"<p>{line}</p>\n" for line in lines[:-1])
    files["html"].write_text(
        "<html><head><script>var x='0" + "7700 900123';</script></head><body>\n" + body
        + f'<img src="x.png" alt="{lines[-1]}"></body></html>\n', encoding="utf-8")
    import docx

    document = docx.Document()
    for line in lines[:4]:
        document.add_paragraph(line)
    table = document.add_table(rows=len(lines) - 4, cols=1)
    for row, line in zip(table.rows, lines[4:]):
        row.cells[0].text = line
    files["docx"] = folder / "report.docx"
    document.save(files["docx"])
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    for line in lines[:4]:
        slide = deck.slides.add_slide(deck.slide_layouts[5])
        slide.shapes.title.text = line
    slide = deck.slides.add_slide(deck.slide_layouts[5])
    slide.notes_slide.notes_text_frame.text = "\n".join(lines[4:6])
    shape = slide.shapes.add_table(2, 1, Inches(1), Inches(2), Inches(6), Inches(1))
    shape.table.cell(0, 0).text = lines[6]
    shape.table.cell(1, 0).text = lines[7]
    files["pptx"] = folder / "slides.pptx"
    deck.save(files["pptx"])
    import openpyxl

    book = openpyxl.Workbook()
    for number, line in enumerate(lines, start=1):
        book.active.cell(row=number, column=2, value=line)
    files["xlsx"] = folder / "table.xlsx"
    book.save(files["xlsx"])
    import typst

    source = folder / "report.typ"
    source.write_text("SYNTHETIC\n\n" + "\n\n".join(lines).replace("@", "\\@") + "\n", encoding="utf-8")
    files["pdf"] = folder / "report.pdf"
    typst.compile(str(source), output=str(files["pdf"]))
    files["ipynb"] = folder / "nb.ipynb"
    files["ipynb"].write_text(json.dumps({"cells": [
        {"cell_type": "code", "source": "print('hi')", "metadata": {}, "execution_count": 1,
         "outputs": [{"output_type": "stream", "name": "stdout", "text": "\n".join(lines)}]}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}), encoding="utf-8")
    return files


@pytest.fixture(scope="module")
def copies(tmp_path_factory) -> dict[str, Path]:
    return _write_copies(tmp_path_factory.mktemp("planted"))


@pytest.mark.parametrize("suffix", ["md", "csv", "html", "docx", "pptx", "xlsx", "pdf", "ipynb"])
def test_each_kind_found_in_file_copies(copies, suffix):
    hits = scan_file(copies[suffix])
    assert {h.kind for h in hits} == set(PLANTED), [h.describe() for h in hits]
    assert all(h.file == str(copies[suffix]) and h.location for h in hits)
    assert_masked(hits)


def test_file_locations_are_specific(copies):
    md = {h.kind: h for h in scan_file(copies["md"])}
    assert md["nhs_number"].line == 4 and md["name"].line == 3
    docx_hits = {h.kind: h.location for h in scan_file(copies["docx"])}
    assert docx_hits["date_of_birth"].startswith("table 1, row 1, cell 1")
    pptx_hits = {h.kind: h.location for h in scan_file(copies["pptx"])}
    assert pptx_hits["date_of_birth"].startswith("slide 5 notes")
    html_hits = {h.kind: h.location for h in scan_file(copies["html"])}
    assert "@alt" in html_hits["street_address"]
    xlsx_hits = {h.kind: h.location for h in scan_file(copies["xlsx"])}
    assert xlsx_hits["name"].startswith("sheet 'Sheet', cell B1")


def test_html_scripts_ignored(tmp_path):
    page = tmp_path / "p.html"
    page.write_text("<html><script>var p='0" + "7700 900123';</script><p>SYNTHETIC</p></html>")
    assert scan_file(page) == []


def test_fixture_file_and_cli_never_print_identifiers(capsys):
    fixture = Path(__file__).parent / "fixtures" / "protect" / "planted" / "SYNTHETIC_planted_quotes.md"
    hits = scan_file(fixture)
    assert {h.kind for h in hits} == set(PLANTED)
    assert {h.kind: h.line for h in hits}["postcode"] == 6
    assert identifiers.main([str(fixture)]) == 1
    printed = capsys.readouterr().out
    for raw in [NHS_SPACED, CHI, PLANTED["email"], PLANTED["name"], PLANTED["phone"]]:
        assert raw not in printed


def test_model_detection_is_optional():
    assert identifiers.model_detection_status().split(":")[0] in {"skipped", "available"}


def test_anonymisation_log_only_on_secure_side(tmp_path, monkeypatch):
    from analysis.protect import anonymisation_log as log

    monkeypatch.setenv("DATA_DERIVED", str(tmp_path / "derived"))
    quotes = pd.DataFrame({"text": [f"I saw {PLANTED['name']} there"]})
    out, entries = log.pseudonymise_column(quotes, "text", {PLANTED["name"]: "[participant]"},
                                           file="segments")
    assert out.at[0, "text"] == "I saw [participant] there" and entries[0].count == 1
    written = log.write_anonymisation_log(entries)
    assert written.parent == (tmp_path / "derived").resolve() or written.parent == tmp_path / "derived"
    with pytest.raises(log.AnonymisationLogError, match="refused"):
        log.write_anonymisation_log(entries, tmp_path / "reports" / "log.csv")


def _texts_around_the_digit_thresholds() -> list[str]:
    """Planted lines, the shortest matches of each digit-bearing rule, Unicode digits, and
    lines cut to every length so that each crosses each rule's fewest-digits bound."""
    shortest = ["born 1 May " + "90", "DOB 1/2/" + "90", "born on 1st of June " + "91",
                "GIR " + "0AA", "9 High " + "Street", "(0141 496 " + "0000)",
                "+44 141 496 " + "0000", "0044 7700 " + "900123", "dob: ١/٢/" + "٩٠",
                "ring ０７７００ " + "９００１２３", "no digits here, " + PLANTED["name"], "a@" + "b.co"]
    lines = planted_lines() + shortest
    cut = [line[:end] for line in lines for end in range(1, len(line) + 1)]
    return lines + cut + [" and ".join(lines)]


def test_rules_skipped_for_too_few_digits_find_nothing_they_would_have(monkeypatch):
    """find_identifiers runs a rule only when the text holds at least as many digits as any of
    its matches: with every bound at zero, every text gives the same spans."""
    texts = _texts_around_the_digit_thresholds()
    gated = [identifiers.find_identifiers(text) for text in texts]
    monkeypatch.setattr(identifiers, "_FEWEST_DIGITS", dict.fromkeys(identifiers._FEWEST_DIGITS, 0))
    assert [identifiers.find_identifiers(text) for text in texts] == gated
    assert sum(len(spans) for spans in gated) > len(texts) // 4  # the texts do hold identifiers
