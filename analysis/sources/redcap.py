"""Decode a REDCap CSV export with its data dictionary.

Everything about the meaning of the columns comes from the data dictionary: field types, text
validation (integer, number, dates) with min/max, choice lists (``1, Label | 2, Label``),
checkbox fields exported as ``field___code`` columns, branching logic, and the implicit
``redcap_data_access_group`` and ``<form>_complete`` columns. Both kinds of CSV export are
accepted: "raw" (codes) and "label" (choice labels; with raw or label column headers); the kind
can be given or detected. A choice label renamed in the dictionary flows through unchanged to the
decoded values (they are the dictionary's labels).

A column the dictionary does not know, a value outside a field's choices, or a value that fails
its validation raises :class:`analysis.core.errors.DataValidationError` naming file, row, column and
rule. Values present in a field that its branching logic hides are blanked and counted (REDCap
keeps such values when an earlier answer changes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.core.errors import DataValidationError

DAG_COLUMN = "redcap_data_access_group"
COMPLETE_CHOICES: dict[str, str] = {"0": "Incomplete", "1": "Unverified", "2": "Complete"}
YESNO_CHOICES: dict[str, str] = {"1": "Yes", "0": "No"}
TRUEFALSE_CHOICES: dict[str, str] = {"1": "True", "0": "False"}
CHOICE_TYPES = ("dropdown", "radio", "checkbox")
NO_DATA_TYPES = ("descriptive",)
DATE_VALIDATIONS = ("date_ymd", "date_dmy", "date_mdy")
DATETIME_VALIDATIONS = ("datetime_ymd", "datetime_dmy", "datetime_mdy",
                        "datetime_seconds_ymd", "datetime_seconds_dmy", "datetime_seconds_mdy")

COL_FIELD = "Variable / Field Name"
COL_FORM = "Form Name"
COL_TYPE = "Field Type"
COL_LABEL = "Field Label"
COL_CHOICES = "Choices, Calculations, OR Slider Labels"
COL_VALIDATION = "Text Validation Type OR Show Slider Number"
COL_MIN = "Text Validation Min"
COL_MAX = "Text Validation Max"
COL_BRANCHING = "Branching Logic (Show field only if...)"
REQUIRED_DICTIONARY_COLUMNS = (COL_FIELD, COL_FORM, COL_TYPE, COL_LABEL, COL_CHOICES,
                               COL_VALIDATION, COL_MIN, COL_MAX, COL_BRANCHING)


@dataclass(frozen=True)
class Field:
    """One field of the data dictionary."""

    name: str
    form: str
    field_type: str
    label: str
    choices: dict[str, str]
    validation: str
    minimum: str
    maximum: str
    branching: str
    row: int

    @property
    def coded(self) -> bool:
        """True for fields whose values are codes with labels (not checkboxes)."""
        return self.field_type in ("dropdown", "radio", "yesno", "truefalse")


@dataclass(frozen=True)
class DataDictionary:
    """A parsed REDCap data dictionary."""

    fields: dict[str, Field]
    file: str

    @property
    def forms(self) -> list[str]:
        """Form names in dictionary order."""
        return list(dict.fromkeys(f.form for f in self.fields.values()))

    def export_columns(self) -> list[tuple[str, str, str | None, str]]:
        """Columns of a full export in REDCap's order: (raw header, field, code, label header).

        ``field`` is the dictionary field (or ``redcap_data_access_group`` or
        ``<form>_complete``); ``code`` is the checkbox choice for ``field___code`` columns.
        """
        columns: list[tuple[str, str, str | None, str]] = []
        forms = self.forms
        for form in forms:
            for f in (f for f in self.fields.values() if f.form == form):
                if f.field_type in NO_DATA_TYPES:
                    continue
                if f.field_type == "checkbox":
                    for code, label in f.choices.items():
                        columns.append((f"{f.name}___{code}", f.name, code,
                                        f"{f.label} (choice={label})"))
                else:
                    columns.append((f.name, f.name, None, f.label))
                if f.name == next(iter(self.fields)):
                    columns.append((DAG_COLUMN, DAG_COLUMN, None, "Data Access Group"))
            columns.append((f"{form}_complete", f"{form}_complete", None, "Complete?"))
        return columns


def parse_choices(text: str, file: str, row: int, field_name: str) -> dict[str, str]:
    """Parse ``1, Label | 2, Label`` into ``{"1": "Label", "2": "Label"}`` (order kept)."""
    choices: dict[str, str] = {}
    for part in str(text).split("|"):
        part = part.strip()
        if not part:
            continue
        if "," not in part:
            raise DataValidationError(
                file, row, COL_CHOICES, "choices as 'code, label | code, label'",
                f"field {field_name!r}: choice {part!r} has no comma between code and label",
            )
        code, label = part.split(",", 1)
        choices[code.strip()] = label.strip()
    return choices


def read_dictionary(frame: pd.DataFrame, file: str, header_row: int = 1) -> DataDictionary:
    """Parse a data dictionary read as strings (one row per field)."""
    missing = [c for c in REQUIRED_DICTIONARY_COLUMNS if c not in frame.columns]
    if missing:
        raise DataValidationError(file, header_row, missing[0], "required column present",
                                  f"the data dictionary has no column {missing[0]!r}")
    fields: dict[str, Field] = {}
    for index, record in enumerate(frame.to_dict("records")):
        row = header_row + 1 + index
        name = str(record[COL_FIELD]).strip()
        if not name:
            continue
        if name in fields:
            raise DataValidationError(file, row, COL_FIELD, "unique field name",
                                      f"field {name!r} is defined twice")
        field_type = str(record[COL_TYPE]).strip()
        if field_type in CHOICE_TYPES:
            choices = parse_choices(record[COL_CHOICES], file, row, name)
        elif field_type == "yesno":
            choices = dict(YESNO_CHOICES)
        elif field_type == "truefalse":
            choices = dict(TRUEFALSE_CHOICES)
        else:
            choices = {}
        fields[name] = Field(
            name=name, form=str(record[COL_FORM]).strip(), field_type=field_type,
            label=str(record[COL_LABEL]).strip(), choices=choices,
            validation=str(record[COL_VALIDATION]).strip(), minimum=str(record[COL_MIN]).strip(),
            maximum=str(record[COL_MAX]).strip(), branching=str(record[COL_BRANCHING]).strip(),
            row=row,
        )
    if not fields:
        raise DataValidationError(file, header_row + 1, COL_FIELD, "file not empty",
                                  "the data dictionary defines no fields")
    return DataDictionary(fields=fields, file=file)


# ------------------------------------------------------------------------------------------
# Branching logic: a small parser for REDCap's expression language (vectorised evaluation)
# ------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"""\s*(?:(?P<field>\[[A-Za-z0-9_]+(?:\([^)\]]+\))?\])|(?P<string>'[^']*'|"[^"]*")
    |(?P<number>-?\d+(?:\.\d+)?)|(?P<op><>|!=|<=|>=|=|<|>)|(?P<word>and|or|not)\b
    |(?P<paren>[()]))""", re.VERBOSE | re.IGNORECASE)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ValueError(f"cannot read branching logic at {text[position:]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
        while position < len(text) and text[position].isspace():
            position += 1
    return tokens


class _Logic:
    """Recursive-descent evaluation of branching logic over whole columns."""

    def __init__(self, text: str, values: pd.DataFrame) -> None:
        self.tokens = _tokenize(text)
        self.position = 0
        self.values = values

    def evaluate(self) -> pd.Series:
        result = self._or()
        if self.position != len(self.tokens):
            raise ValueError(f"unexpected {self.tokens[self.position][1]!r}")
        return result.fillna(False).astype(bool)

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise ValueError("branching logic ends too early")
        self.position += 1
        return token

    def _or(self) -> pd.Series:
        left = self._and()
        while (t := self._peek()) and t[0] == "word" and t[1].lower() == "or":
            self._take()
            left = left | self._and()
        return left

    def _and(self) -> pd.Series:
        left = self._not()
        while (t := self._peek()) and t[0] == "word" and t[1].lower() == "and":
            self._take()
            left = left & self._not()
        return left

    def _not(self) -> pd.Series:
        t = self._peek()
        if t and t[0] == "word" and t[1].lower() == "not":
            self._take()
            return ~self._not()
        return self._comparison()

    def _comparison(self) -> pd.Series:
        t = self._peek()
        if t and t == ("paren", "("):
            self._take()
            inner = self._or()
            if self._take() != ("paren", ")"):
                raise ValueError("missing ')'")
            return inner
        left = self._operand()
        kind, op = self._take()
        if kind != "op":
            raise ValueError(f"expected a comparison, found {op!r}")
        right = self._operand()
        return _compare(left, op, right)

    def _operand(self) -> pd.Series | str:
        kind, text = self._take()
        if kind == "field":
            inner = text[1:-1]
            match = re.fullmatch(r"([A-Za-z0-9_]+)(?:\(([^)]+)\))?", inner)
            assert match
            column = match.group(1) if match.group(2) is None else f"{match.group(1)}___{match.group(2)}"
            if column not in self.values.columns:
                raise ValueError(f"branching logic refers to unknown field [{inner}]")
            return self.values[column].fillna("").astype(str)
        if kind == "string":
            return text[1:-1]
        if kind == "number":
            return text
        raise ValueError(f"unexpected {text!r}")


def _compare(left, op: str, right) -> pd.Series:
    """Compare like REDCap: numerically when both sides are numbers, else as text."""
    def numeric(x):
        return pd.to_numeric(x, errors="coerce") if isinstance(x, pd.Series) else pd.to_numeric(
            pd.Series([x]), errors="coerce").iloc[0]

    series = left if isinstance(left, pd.Series) else right
    l_num, r_num = numeric(left), numeric(right)
    both_numeric = (l_num.notna() if isinstance(l_num, pd.Series) else pd.notna(l_num)) & (
        r_num.notna() if isinstance(r_num, pd.Series) else pd.notna(r_num))
    if op in ("=", "<>", "!="):
        text_equal = (left == right) if isinstance(left, pd.Series) else (right == left)
        num_equal = l_num == r_num
        equal = pd.Series(np.where(both_numeric, num_equal, text_equal), index=series.index)
        return equal if op == "=" else ~equal
    ops = {"<": np.less, ">": np.greater, "<=": np.less_equal, ">=": np.greater_equal}
    result = ops[op](l_num, r_num)
    return pd.Series(np.where(both_numeric, result, False), index=series.index).astype(bool)


def branching_mask(logic: str, codes: pd.DataFrame) -> pd.Series:
    """Return True where a field with this branching logic is shown (codes = raw values)."""
    if not logic:
        return pd.Series(True, index=codes.index)
    return _Logic(logic, codes).evaluate()


# ------------------------------------------------------------------------------------------
# Decoding records
# ------------------------------------------------------------------------------------------


@dataclass
class DecodedRecords:
    """A decoded export.

    Attributes:
        values: one row per record; one typed column per non-checkbox field (choice fields as
            their dictionary labels, yesno/truefalse as booleans, integer as Int64, number as
            float, dates as datetime64), plus ``redcap_data_access_group`` and
            ``<form>_complete`` (labels), and ``_row`` (1-based row in the file).
        checked: long table of ticked checkbox choices: ``_row``, field, code, label.
        codes: the raw code of every column (strings, blank = ""), for further rules.
        mode: "raw" or "label" (the export kind found).
        hidden: ``{field: count}`` of values blanked because branching logic hides the field.
    """

    values: pd.DataFrame
    checked: pd.DataFrame
    codes: pd.DataFrame
    mode: str
    hidden: dict[str, int] = field(default_factory=dict)


def _column_choices(dictionary: DataDictionary, field_name: str) -> dict[str, str]:
    if field_name.endswith("_complete") and field_name not in dictionary.fields:
        return COMPLETE_CHOICES
    f = dictionary.fields.get(field_name)
    return f.choices if f is not None and f.coded else {}


def _map_headers(frame: pd.DataFrame, dictionary: DataDictionary, file: str,
                 header_row: int) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rename label headers to raw headers; return the frame and raw -> original header."""
    expected = dictionary.export_columns()
    raw_names = {raw for raw, *_ in expected}
    columns = list(frame.columns)
    if all(c in raw_names for c in columns):
        return frame, {c: c for c in columns}
    labels = [label for *_, label in expected]
    raw_in_order = [raw for raw, *_ in expected]
    if columns == labels:  # a full label-header export: match by position
        out = frame.copy()
        out.columns = raw_in_order
        return out, dict(zip(raw_in_order, columns))
    label_lookup = {label: raw for raw, _, _, label in expected if labels.count(label) == 1}
    original: dict[str, str] = {}
    new_columns: list[str] = []
    for column in columns:
        if column in raw_names:
            new_columns.append(column)
        elif column in label_lookup:
            new_columns.append(label_lookup[column])
        else:
            raise DataValidationError(
                file, header_row, column, "column in data dictionary",
                f"column {column!r} is not a field (or checkbox choice, data access group or "
                f"form status) of data dictionary {dictionary.file!r}",
            )
        original[new_columns[-1]] = column
    out = frame.copy()
    out.columns = new_columns
    return out, original


def _detect_mode(frame: pd.DataFrame, dictionary: DataDictionary) -> str:
    raw_votes = label_votes = 0
    for column in frame.columns:
        if "___" in column:
            values = set(frame[column].unique()) - {""}
            raw_votes += values <= {"0", "1"}
            label_votes += bool(values) and values <= {"Checked", "Unchecked"}
            continue
        choices = _column_choices(dictionary, column)
        if not choices:
            continue
        values = set(frame[column].unique()) - {""}
        if not values:
            continue
        raw_votes += values <= set(choices)
        label_votes += values <= set(choices.values())
    return "label" if label_votes > raw_votes else "raw"


def decode_records(frame: pd.DataFrame, dictionary: DataDictionary, file: str,
                   mode: str = "auto", header_row: int = 1) -> DecodedRecords:
    """Decode an export read as strings (blank = ``""``), one row per record.

    Args:
        frame: the export with its column headers (raw or label headers), all values strings;
            an optional ``_row`` column gives each record's row in the file.
        dictionary: the project's data dictionary.
        file: the export's file name, used in error messages.
        mode: "raw", "label" or "auto" (detect from the values).
        header_row: file row of the header (data rows follow it).
    """
    if mode not in ("raw", "label", "auto"):
        raise ValueError(f"mode must be raw, label or auto, not {mode!r}")
    if "_row" in frame.columns:  # row numbers supplied by the reader
        rows = frame["_row"].astype(int)
        frame = frame.drop(columns="_row")
    else:
        rows = pd.Series(np.arange(len(frame)) + header_row + 1, index=frame.index)
    frame, original = _map_headers(frame, dictionary, file, header_row)
    frame = frame.apply(lambda s: s.astype(str).str.strip())
    if mode == "auto":
        mode = _detect_mode(frame, dictionary)

    def fail(column: str, position, rule: str, message: str) -> DataValidationError:
        return DataValidationError(file, int(rows.loc[position]), original.get(column, column),
                                   rule, message)

    # 1. every column to raw codes, validated -----------------------------------------------
    codes = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        series = frame[column]
        if "___" in column:
            name, code = column.rsplit("___", 1)
            f = dictionary.fields.get(name)
            label = f.choices.get(code, "") if f else ""
            truthy = {"1", "Checked", label} if mode == "label" else {"1"}
            falsy = {"0", "", "Unchecked"}
            bad = ~series.isin(truthy | falsy)
            if bad.any():
                position = bad.idxmax()
                allowed = "1/0" if mode == "raw" else "Checked/Unchecked"
                raise fail(column, position, f"checkbox value ({allowed})",
                           f"value {series[position]!r} is not a checkbox value")
            codes[column] = np.where(series.isin(truthy), "1", "0")
            continue
        choices = _column_choices(dictionary, column)
        if choices:
            lookup = choices if mode == "raw" else {label: c for c, label in choices.items()}
            bad = (series != "") & ~series.isin(list(lookup))
            if bad.any():
                position = bad.idxmax()
                shown = ", ".join(f"{c} = {lab}" for c, lab in choices.items())
                raise fail(column, position, f"value in choices ({shown})",
                           f"value {series[position]!r} is not one of the {mode} choices of "
                           f"field {column!r} in {dictionary.file!r}")
            codes[column] = series if mode == "raw" else series.map(lookup).fillna("")
        else:
            codes[column] = series

    # 2. branching logic -------------------------------------------------------------------
    hidden: dict[str, int] = {}
    for name, f in dictionary.fields.items():
        if not f.branching:
            continue
        targets = [c for c in codes.columns if c == name or c.startswith(f"{name}___")]
        if not targets:
            continue
        try:
            shown = branching_mask(f.branching, codes)
        except ValueError as error:
            raise DataValidationError(dictionary.file, f.row, COL_BRANCHING,
                                      "readable branching logic", f"field {name!r}: {error}")
        for column in targets:
            if "___" in column:
                continue  # REDCap exports hidden checkboxes as 0; nothing to blank
            stale = (~shown) & (codes[column] != "")
            if stale.any():
                hidden[name] = int(stale.sum())
                codes.loc[stale, column] = ""

    # 3. typed values -----------------------------------------------------------------------
    values = pd.DataFrame(index=frame.index)
    checked_parts: list[pd.DataFrame] = []
    for column in codes.columns:
        series = codes[column]
        blank = series == ""
        if "___" in column:
            name, code = column.rsplit("___", 1)
            ticked = series == "1"
            f = dictionary.fields.get(name)
            checked_parts.append(pd.DataFrame({
                "_row": rows[ticked].to_numpy(), "field": name, "code": code,
                "label": f.choices.get(code, code) if f else code,
            }))
            continue
        f = dictionary.fields.get(column)
        choices = _column_choices(dictionary, column)
        if f is not None and f.field_type in ("yesno", "truefalse"):
            values[column] = series.map({"1": True, "0": False}).astype("boolean")
        elif choices:
            values[column] = series.map(choices).astype("string")
        elif f is not None and f.field_type in ("text", "calc", "slider") and (
                f.validation in ("integer", "number") or f.field_type in ("calc", "slider")):
            numbers = pd.to_numeric(series.where(~blank), errors="coerce")
            bad = ~blank & numbers.isna()
            integer = f.validation == "integer" or f.field_type == "slider"
            if integer:
                bad |= ~blank & numbers.notna() & (numbers != np.floor(numbers.fillna(0)))
            if bad.any():
                position = bad.idxmax()
                kind = "integer" if integer else "number"
                raise fail(column, position, kind, f"value {series[position]!r} is not a {kind}")
            for bound, test, word in ((f.minimum, np.less, "below"), (f.maximum, np.greater, "above")):
                if bound:
                    out = ~blank & test(numbers, float(bound))
                    if out.any():
                        position = out.idxmax()
                        raise fail(column, position, f"range {f.minimum or '-inf'}..{f.maximum or 'inf'}",
                                   f"value {series[position]!r} is {word} the limit {bound}")
            values[column] = numbers.round().astype("Int64") if integer else numbers.astype(float)
        elif f is not None and f.validation in DATE_VALIDATIONS + DATETIME_VALIDATIONS:
            fmt = "%Y-%m-%d" if f.validation in DATE_VALIDATIONS else "mixed"
            parsed = pd.to_datetime(series.where(~blank), format=fmt, errors="coerce")
            bad = ~blank & parsed.isna()
            if bad.any():
                position = bad.idxmax()
                raise fail(column, position, "date YYYY-MM-DD (REDCap export format)",
                           f"value {series[position]!r} is not a valid date")
            values[column] = parsed
        else:
            values[column] = series.where(~blank).astype("string")
    values["_row"] = rows
    checked = (pd.concat(checked_parts, ignore_index=True) if checked_parts
               else pd.DataFrame(columns=["_row", "field", "code", "label"]))
    return DecodedRecords(values=values, checked=checked, codes=codes, mode=mode, hidden=hidden)
