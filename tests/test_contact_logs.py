"""Tests of contact-log standardisation (analysis.sources.contact_logs)."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.core.errors import DataValidationError
from analysis.sources.contact_logs import load_service_map, parse_dates, standardise_log

SPEC = {"site": "ayrshire", "header_row": 1, "date_format": "%d-%b-%y",
        "columns": {"study_id": "Participant", "date": "Date", "service": "Agency"},
        "junk_rows": r"(?i)^\s*total"}
SERVICES = {("ayrshire", "D&A"): "drug_service", ("ayrshire", "Comm M/W"): "community_midwife"}


def log(rows: list[list[str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["Participant", "Date", "Agency"])
    frame["_row"] = range(2, 2 + len(rows))
    return frame


@pytest.mark.parametrize("text, fmt, expected", [
    ("44634", "excel_serial", "2022-03-14"),
    ("2022-03-14 00:00:00", "excel_serial", "2022-03-14"),
    ("3-Mar-22", "%d-%b-%y", "2022-03-03"),
    ("14/03/2022", "%d/%m/%Y", "2022-03-14"),
    ("2022-03-14", "%Y-%m-%d", "2022-03-14"),
])
def test_parse_dates_each_site_format(text: str, fmt: str, expected: str) -> None:
    assert parse_dates(pd.Series([text]), fmt).iloc[0] == pd.Timestamp(expected)


@pytest.mark.parametrize("text, fmt", [("31/02/2022", "%d/%m/%Y"), ("03/14/2022", "%d/%m/%Y"),
                                       ("44634.5", "excel_serial"), ("soon", "%Y-%m-%d")])
def test_impossible_or_unparseable_dates_are_missing(text: str, fmt: str) -> None:
    assert parse_dates(pd.Series([text]), fmt).isna().all()


def test_blank_junk_and_duplicate_rows_are_dropped_and_logged() -> None:
    frame = log([["SS-AA-001", "7-Mar-22", "D&A"], ["SS-AA-001", "7-Mar-22", "D&A"],
                 ["", "", ""], ["SS-AA-001", "9-Mar-22", "Comm M/W"], ["TOTAL", "", "3"]])
    cleaned = standardise_log(frame, SPEC, "aa.csv", SERVICES, r"^SS-AA-\d{3}$")
    assert cleaned.contacts["source_row"].tolist() == [2, 5]
    assert cleaned.contacts["service"].tolist() == ["drug_service", "community_midwife"]
    rules = {entry.rule: entry.rows_affected for entry in cleaned.log}
    assert rules["blank row"] == 1 and rules["exact duplicate row"] == 1
    assert rules["junk row (first cell matches (?i)^\\s*total)"] == 1


def test_unknown_service_names_the_raw_name_and_row() -> None:
    frame = log([["SS-AA-001", "7-Mar-22", "D&A"], ["SS-AA-001", "8-Mar-22", "Dentist"]])
    with pytest.raises(DataValidationError) as info:
        standardise_log(frame, SPEC, "aa.csv", SERVICES, r"^SS-AA-\d{3}$")
    assert (info.value.row, info.value.column) == (3, "Agency")
    assert info.value.rule == "service in service_map.csv" and "Dentist" in str(info.value)


def test_missing_column_is_reported_at_the_header_row() -> None:
    frame = log([["SS-AA-001", "7-Mar-22", "D&A"]]).drop(columns="Agency")
    with pytest.raises(DataValidationError) as info:
        standardise_log(frame, SPEC, "aa.csv", SERVICES, r"^SS-AA-\d{3}$")
    assert (info.value.row, info.value.column, info.value.rule) == (
        1, "Agency", "required column present")


def test_service_map_rejects_unknown_codes() -> None:
    frame = pd.DataFrame({"site": ["ayrshire"], "raw_service": ["D&A"], "service": ["drugs"],
                          "_row": [2]})
    with pytest.raises(DataValidationError, match="known service"):
        load_service_map(frame, "service_map.csv", {"drug_service"}, {"ayrshire"})
