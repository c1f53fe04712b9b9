"""The XLSX reader (analysis.sources.declared): calamine by default, openpyxl for error cells.

Two independent readers must give the same text for every cell, on workbooks written by
LibreOffice Calc (tests/fixtures/xlsx) and by openpyxl with every kind of cell value.
"""

from __future__ import annotations

import datetime
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from analysis.core.errors import DataValidationError
from analysis.sources import declared
from analysis.sources.declared import (
    _calamine_records, _has_error_cells, _openpyxl_records, _xlsx_records, read_source,
)

FIXTURES = Path(__file__).parent / "fixtures" / "xlsx"


def _every_kind_of_cell(path: Path) -> Path:
    """A workbook with data starting at C3 and one cell of each value type openpyxl writes."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Contacts"
    sheet["C3"], sheet["D3"] = "ID", "Value"
    values: list[tuple[object, str | None]] = [
        (datetime.date(2022, 1, 5), None),
        (datetime.datetime(2022, 1, 5, 13, 45, 10), None),
        (datetime.time(13, 45), None),
        (datetime.timedelta(hours=30), None),
        (True, None), (5, None), (-3, None), (1.5, None), (0.1 + 0.2, None), (1e20, None),
        (44565, "dd/mm/yyyy"), (44565.5, "yyyy-mm-dd hh:mm"), (0.5, "0%"),
        ("  spaced  ", None), ("multi\nline", None), ("=1+1", None),
    ]
    for row, (value, number_format) in enumerate(values, 4):
        sheet.cell(row=row, column=3, value=f"SS-GG-{row:03d}")
        cell = sheet.cell(row=row, column=4, value=value)
        if number_format:
            cell.number_format = number_format
    sheet.merge_cells("C30:D30")
    sheet["C30"] = "merged"
    workbook.create_sheet("Notes")["A1"] = "second sheet"
    workbook.save(path)
    return path


@pytest.mark.parametrize("name", ["calc_export.xlsx", "calc_errors.xlsx"])
def test_calamine_and_openpyxl_agree_on_a_libreoffice_workbook(name: str) -> None:
    path = FIXTURES / name
    calamine = _calamine_records(path, {}, name)
    openpyxl = _openpyxl_records(path, {}, name)
    if name == "calc_errors.xlsx":
        # the one disagreement: calamine reads an error cell as blank
        assert calamine[-1][1] == ["SS-GG-003", "Obstetrician", "", "", "Clinic", ""]
        calamine, openpyxl = calamine[:-1], openpyxl[:-1]
    assert calamine == openpyxl
    assert calamine[2] == (3, ["SS-GG-001", "SNIPs MW", "2022-01-05 00:00:00", "09:30:00",
                               "Clinic", "45"])
    assert calamine[4] == (5, [""] * 6)  # the blank row is kept, numbered as in Calc


def test_error_cells_keep_their_text() -> None:
    """A workbook with error cells is read by openpyxl, so ``#N/A`` reaches the column rules."""
    path = FIXTURES / "calc_errors.xlsx"
    assert _has_error_cells(path)
    assert not _has_error_cells(FIXTURES / "calc_export.xlsx")
    last = _xlsx_records(path, {}, "calc_errors.xlsx")[-1]
    assert last == (9, ["SS-GG-003", "Obstetrician", "#N/A", "#DIV/0!", "Clinic", "#VALUE!"])


def test_calamine_and_openpyxl_agree_on_every_kind_of_cell(tmp_path: Path) -> None:
    path = _every_kind_of_cell(tmp_path / "kinds.xlsx")
    calamine = _calamine_records(path, {}, "kinds.xlsx")
    assert calamine == _openpyxl_records(path, {}, "kinds.xlsx")
    text = {cells[2]: cells[3] for _, cells in calamine if cells[2].startswith("SS-")}
    assert text["SS-GG-004"] == "2022-01-05 00:00:00"  # a whole day reads as midnight
    assert text["SS-GG-006"] == "13:45:00"  # a time of day (openpyxl's reader used to fail here)
    assert text["SS-GG-009"] == "5" and text["SS-GG-010"] == "-3"
    assert text["SS-GG-014"] == "2022-01-04 00:00:00"  # a serial number formatted as a date
    assert calamine[0] == (1, ["", "", "", ""])  # rows and columns count from A1


def test_named_sheet_and_a_missing_sheet(tmp_path: Path) -> None:
    path = _every_kind_of_cell(tmp_path / "kinds.xlsx")
    assert _xlsx_records(path, {"sheet": "Notes"}, "kinds.xlsx") == [(1, ["second sheet"])]
    for reader in (_calamine_records, _openpyxl_records):
        with pytest.raises(DataValidationError, match="no sheet 'Visits'; sheets: .*Contacts"):
            reader(path, {"sheet": "Visits"}, "kinds.xlsx")


def test_read_source_gives_the_same_frame_from_either_reader(tmp_path: Path, monkeypatch) -> None:
    spec = {"file": "calc_export.xlsx", "header_row": 2}
    fast = read_source(FIXTURES, spec)
    monkeypatch.setattr(declared, "_calamine_records", declared._openpyxl_records)
    slow = read_source(FIXTURES, spec)
    assert fast.equals(slow)
    assert list(fast.columns) == ["ID", "Service/agency", "Contact date", "Time", "Mode",
                                  "Duration (min)", "_row"]
    assert fast["_row"].tolist() == [3, 4, 5, 6, 7, 8]


def test_a_damaged_workbook_is_an_error_naming_the_file(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(FIXTURES / "calc_export.xlsx") as source, \
            zipfile.ZipFile(damaged, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.startswith("xl/worksheets/"):
                data = data[: len(data) // 2]  # the sheet's XML cut off
            target.writestr(item, data)
    with pytest.raises(DataValidationError, match=r"damaged\.xlsx.*readable XLSX workbook"):
        _xlsx_records(damaged, {}, "damaged.xlsx")
