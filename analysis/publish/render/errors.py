"""Errors and problem records shared by the renderer's modules."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class RenderError(RuntimeError):
    """A source cannot be rendered; the message names the file and line where possible."""


@dataclass(frozen=True, order=True)
class Problem:
    """One reason a source falls outside the supported Quarto subset."""

    path: Path
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: [{self.rule}] {self.message}"
