"""Errors and warnings raised while reading or writing REFI-QDA files.

``QdaError`` is the one error every reader and writer in :mod:`analysis.sources.qda` raises for bad input:
it names the file (and the entry inside a ``.qdpx``), the XML element, its line and the rule that
was broken, so a reviewer can open the file at that line. ``QdaWarning`` marks a deviation of a
real tool's export that the reader tolerated; :class:`DeviationLog` issues each one once and keeps
them so ``python -m analysis.sources.qda summary`` can list them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

from analysis.core.errors import DataValidationError


class QdaError(DataValidationError):
    """A REFI-QDA file that cannot be read as it stands.

    It is a :class:`analysis.core.errors.DataValidationError` whose *row* is the XML line and whose
    *column* is the XML element, so the pipeline reports it like any other bad raw input.

    Attributes:
        file: the ``.qdpx``/``.qdc`` path, with ``!entry`` for a file inside the zip.
        element: the XML element (or zip entry) at fault, e.g. ``PlainTextSelection``.
        line: the line of that element in the XML file, or ``None`` when there is none.
        rule: a short name of the broken rule, e.g. ``"selection outside the text"``.
        message: what is wrong and, where possible, what to do about it.
    """

    def __init__(
        self,
        file: str,
        element: str | None,
        line: int | None,
        rule: str,
        message: str,
    ) -> None:
        self.element = element
        self.line = line
        super().__init__(file, line, element, rule, message)

    def __str__(self) -> str:
        """Name the file, line, element and rule, then say what is wrong."""
        where = [self.file]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.element:
            where.append(f"element <{self.element}>")
        return f"{', '.join(where)}: {self.rule}: {self.message}"

    def __reduce__(self):  # keep the error picklable with this class's argument order
        return (self.__class__, (self.file, self.element, self.line, self.rule, self.message))


class QdaWarning(UserWarning):
    """A known deviation of a real tool's export that the reader tolerated (and corrected)."""


@dataclass
class DeviationLog:
    """Collects tolerated deviations of one file, warning once for each distinct message.

    Attributes:
        file: the file the deviations belong to (used as message prefix).
        messages: the distinct deviation messages, in the order first seen.
    """

    file: str
    messages: list[str] = field(default_factory=list)

    def note(self, message: str) -> None:
        """Record a tolerated deviation and issue it as a :class:`QdaWarning` (once per message)."""
        if message in self.messages:
            return
        self.messages.append(message)
        warnings.warn(f"{self.file}: {message}", QdaWarning, stacklevel=3)
