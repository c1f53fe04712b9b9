"""Errors raised when input data break a rule.

Every problem found in a raw export is reported as a :class:`DataValidationError` that names the
file, the row (as a person opening the file would count it: the header is row 1 of a CSV), the
column and the rule broken, so the person who owns the export can find and fix it.
"""

from __future__ import annotations


class DataValidationError(ValueError):
    """A value in an input file breaks a declared rule.

    Attributes:
        file: name of the offending file (relative to the export folder where possible).
        row: 1-based row number as seen in a spreadsheet or text editor (``None`` if the
            problem concerns the whole file or a whole column).
        column: the column named as in the file (``None`` if the problem concerns a whole row).
        rule: a short name of the rule broken, e.g. ``"date format %d/%m/%Y"``.
        message: a sentence saying what was found and what was expected.
    """

    def __init__(
        self,
        file: str,
        row: int | None,
        column: str | None,
        rule: str,
        message: str,
    ) -> None:
        self.file = str(file)
        self.row = row
        self.column = column
        self.rule = rule
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        row = "-" if self.row is None else str(self.row)
        column = "-" if self.column is None else self.column
        return (
            f"file {self.file!r}, row {row}, column {column!r}, rule {self.rule!r}: {self.message}"
        )

    def __reduce__(self):  # keep the error picklable (papermill, multiprocessing)
        return (self.__class__, (self.file, self.row, self.column, self.rule, self.message))
