"""Tests of REDCap decoding (analysis.sources.redcap)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.core.errors import DataValidationError
from analysis.sources.redcap import branching_mask, decode_records, parse_choices, read_dictionary

FIXTURE = Path(__file__).parent / "fixtures" / "cleaning" / "three_women"


def _strings(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture()
def dictionary():
    return read_dictionary(_strings(FIXTURE / "dictionary.csv"), "dictionary.csv")


@pytest.fixture()
def raw() -> pd.DataFrame:
    return _strings(FIXTURE / "records.csv")


def to_label_export(raw: pd.DataFrame, dictionary, label_headers: bool) -> pd.DataFrame:
    """Turn a raw export into the "labels" export REDCap would give for the same records."""
    out = raw.copy()
    complete = {"0": "Incomplete", "1": "Unverified", "2": "Complete"}
    for column in out.columns:
        if "___" in column:
            out[column] = out[column].map({"1": "Checked", "0": "Unchecked"})
        elif column.endswith("_complete"):
            out[column] = out[column].map(complete)
        elif column in dictionary.fields and dictionary.fields[column].coded:
            out[column] = out[column].map(lambda v: dictionary.fields[column].choices.get(v, v))
    if label_headers:
        labels = {raw_name: label for raw_name, _, _, label in dictionary.export_columns()}
        out.columns = [labels[c] for c in out.columns]
    return out


def test_parse_choices_keeps_order_and_commas_in_labels() -> None:
    assert parse_choices("1, A | 2, B, with comma |3,C", "d.csv", 5, "f") == {
        "1": "A", "2": "B, with comma", "3": "C"}


def test_parse_choices_without_comma_is_an_error() -> None:
    with pytest.raises(DataValidationError) as info:
        parse_choices("1, A | oops", "d.csv", 5, "f")
    assert info.value.row == 5 and "choices" in info.value.rule


def test_branching_logic_numeric_text_and_boolean() -> None:
    codes = pd.DataFrame({"parity": ["0", "2", ""], "consent": ["1", "1", "0"],
                          "cb___2": ["1", "0", "0"]})
    assert branching_mask("[parity] > 0", codes).tolist() == [False, True, False]
    assert branching_mask("[consent] = '1' and ([parity] = '0' or [cb(2)] = '1')",
                          codes).tolist() == [True, False, False]
    assert branching_mask("[consent] <> '1'", codes).tolist() == [False, False, True]
    assert branching_mask("", codes).all()


def test_raw_and_label_exports_decode_to_the_same_table(dictionary, raw) -> None:
    decoded = decode_records(raw, dictionary, "records.csv")
    assert decoded.mode == "raw"
    for label_headers in (False, True):
        labelled = decode_records(to_label_export(raw, dictionary, label_headers), dictionary,
                                  "records.csv")
        assert labelled.mode == "label"
        pd.testing.assert_frame_equal(labelled.values, decoded.values)
        pd.testing.assert_frame_equal(labelled.checked, decoded.checked)


def test_decoded_values_have_types_and_labels(dictionary, raw) -> None:
    values = decode_records(raw, dictionary, "records.csv").values.set_index("record_id")
    assert values.loc["SS-EL-002", "treatment"] == "Buprenorphine"
    assert values.loc["SS-EL-002", "parity"] == 2
    assert bool(values.loc["SS-EL-001", "domestic_abuse"]) is True
    assert values.loc["SS-EL-001", "w2_date"] == pd.Timestamp("2022-07-18")
    assert values.loc["SS-AA-001", "baseline_complete"] == "Unverified"


def test_hidden_value_is_blanked_and_counted(dictionary, raw) -> None:
    raw.loc[raw["record_id"] == "SS-EL-001", "prev_children_removed"] = "1"  # parity is 0
    decoded = decode_records(raw, dictionary, "records.csv")
    assert decoded.hidden == {"prev_children_removed": 1}
    assert pd.isna(decoded.values.set_index("record_id").loc["SS-EL-001", "prev_children_removed"])


def test_renamed_choice_label_flows_through(raw) -> None:
    frame = _strings(FIXTURE / "dictionary.csv")
    choices = "Choices, Calculations, OR Slider Labels"
    row = frame["Variable / Field Name"] == "substances"
    frame.loc[row, choices] = frame.loc[row, choices].str.replace("1, Heroin", "1, Diamorphine")
    dictionary = read_dictionary(frame, "dictionary.csv")
    checked = decode_records(raw, dictionary, "records.csv").checked
    assert "Diamorphine" in set(checked["label"]) and "Heroin" not in set(checked["label"])


def test_value_outside_choices_names_file_row_column_rule(dictionary, raw) -> None:
    raw.loc[2, "housing"] = "9"
    with pytest.raises(DataValidationError) as info:
        decode_records(raw, dictionary, "records.csv")
    error = info.value
    assert (error.file, error.row, error.column) == ("records.csv", 4, "housing")
    assert error.rule.startswith("value in choices")
    assert all(part in str(error) for part in ("records.csv", "row 4", "housing", "choices"))


def test_column_missing_from_dictionary_is_an_error(dictionary, raw) -> None:
    raw["favourite_colour"] = ""
    with pytest.raises(DataValidationError) as info:
        decode_records(raw, dictionary, "records.csv")
    assert info.value.column == "favourite_colour"
    assert info.value.rule == "column in data dictionary" and info.value.row == 1


def test_integer_range_and_date_validation(dictionary, raw) -> None:
    bad = raw.copy()
    bad.loc[0, "gestation_weeks"] = "50"
    with pytest.raises(DataValidationError, match="range 4..42"):
        decode_records(bad, dictionary, "records.csv")
    bad = raw.copy()
    bad.loc[1, "w1_date"] = "2022-02-31"
    with pytest.raises(DataValidationError) as info:
        decode_records(bad, dictionary, "records.csv")
    assert (info.value.row, info.value.column) == (3, "w1_date")
