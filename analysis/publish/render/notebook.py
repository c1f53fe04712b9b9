"""Read the outputs of labelled cells from executed notebooks (``{{< embed nb.ipynb#label >}}``).

A cell is found by its Quarto cell option ``#| label: ...`` (see CONTRACTS.md, "Notebook outputs
that reports embed"). Figure cells give a PNG (static formats), a Vega-Lite spec (interactive
HTML) and alt text; table cells give a markdown pipe table that pandoc turns into a real table.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import nbformat
import yaml

from analysis.publish.render.errors import RenderError

VEGALITE_MIME_PREFIX = "application/vnd.vegalite.v"
PNG_MIME = "image/png"
MARKDOWN_MIME = "text/markdown"


@dataclass(frozen=True)
class EmbeddedCell:
    """What an ``embed`` shortcode brings into a document from one notebook cell."""

    notebook: Path
    label: str
    options: dict[str, Any]
    code: str
    """Cell source without its ``#|`` option lines (shown only with ``echo=true``)."""
    png: bytes | None
    vegalite: dict[str, Any] | None
    markdown: str | None
    output_alt: str | None
    """Alt text carried in the output's metadata (``fig-alt``), preferred over the cell option."""
    png_width: float | None = None
    """Display width of the PNG in CSS pixels, if the output metadata gives one."""

    @property
    def kind(self) -> str:
        """``figure`` for ``fig-`` labels, ``table`` for ``tbl-`` labels, else ``output``."""
        if self.label.startswith("fig-"):
            return "figure"
        if self.label.startswith("tbl-"):
            return "table"
        return "output"

    @property
    def alt_text(self) -> str | None:
        """Alt text: the output's computed alt if present, else the ``fig-alt`` cell option."""
        if self.output_alt:
            return self.output_alt
        alt = self.options.get("fig-alt")
        return str(alt) if alt else None


def parse_cell_options(source: str) -> tuple[dict[str, Any], str]:
    """Split a code cell into its leading ``#| key: value`` options (YAML) and the rest."""
    lines = source.splitlines()
    option_lines: list[str] = []
    index = 0
    while index < len(lines) and lines[index].startswith("#|"):
        option_lines.append(lines[index][2:].removeprefix(" "))
        index += 1
    if not option_lines:
        return {}, source
    try:
        options = yaml.safe_load("\n".join(option_lines)) or {}
    except yaml.YAMLError as exc:
        raise RenderError(f"invalid '#|' cell options: {exc}") from exc
    if not isinstance(options, dict):
        raise RenderError("'#|' cell options must form a YAML mapping")
    return options, "\n".join(lines[index:]).strip("\n")


@lru_cache(maxsize=32)
def _read_notebook(path: Path, mtime_ns: int) -> Any:
    """Read and cache one notebook (the mtime keys the cache so edits are seen)."""
    del mtime_ns
    return nbformat.read(str(path), as_version=4)


def _joined(value: Any) -> str:
    """Notebook text fields may be a string or a list of lines."""
    return "".join(value) if isinstance(value, list) else str(value)


def read_cell(notebook: Path, label: str) -> EmbeddedCell:
    """Find the cell labelled ``label`` in ``notebook`` and collect its embeddable outputs."""
    if not notebook.is_file():
        raise RenderError(
            f"notebook {notebook} not found (run the pipeline so executed notebooks exist)"
        )
    nb = _read_notebook(notebook.resolve(), notebook.stat().st_mtime_ns)
    matches = []
    for number, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        options, code = parse_cell_options(_joined(cell.source))
        if str(options.get("label", "")) == label:
            matches.append((number, cell, options, code))
    if not matches:
        raise RenderError(f"notebook {notebook} has no cell with '#| label: {label}'")
    if len(matches) > 1:
        numbers = ", ".join(str(match[0]) for match in matches)
        raise RenderError(f"notebook {notebook}: label {label!r} is used by cells {numbers}")
    number, cell, options, code = matches[0]
    png: bytes | None = None
    vegalite: dict[str, Any] | None = None
    markdown: str | None = None
    output_alt: str | None = None
    png_width: float | None = None
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            raise RenderError(
                f"notebook {notebook}, cell {number} ({label}) ended in an error: "
                f"{output.get('ename')}: {output.get('evalue')}"
            )
        data = output.get("data", {})
        metadata = output.get("metadata", {}) or {}
        if PNG_MIME in data and png is None:
            png = base64.b64decode(_joined(data[PNG_MIME]))
        for mime, value in data.items():
            if mime.startswith(VEGALITE_MIME_PREFIX) and vegalite is None:
                vegalite = json.loads(value) if isinstance(value, str) else dict(value)
        if MARKDOWN_MIME in data and markdown is None:
            markdown = _joined(data[MARKDOWN_MIME])
        png_metadata = metadata.get(PNG_MIME)
        if isinstance(png_metadata, dict) and isinstance(png_metadata.get("width"), (int, float)):
            png_width = float(png_metadata["width"])
        alt = metadata.get("fig-alt")
        if alt is None and isinstance(metadata.get(PNG_MIME), dict):
            alt = metadata[PNG_MIME].get("fig-alt")
        if alt and output_alt is None:
            output_alt = str(alt)
    cell_result = EmbeddedCell(
        notebook=notebook,
        label=label,
        options=options,
        code=code,
        png=png,
        vegalite=vegalite,
        markdown=markdown,
        output_alt=output_alt,
        png_width=png_width,
    )
    if cell_result.kind == "figure" and png is None:
        raise RenderError(
            f"notebook {notebook}, cell {number} ({label}): a figure cell needs an "
            f"'{PNG_MIME}' output; is the notebook executed?"
        )
    if cell_result.kind == "table" and markdown is None:
        raise RenderError(
            f"notebook {notebook}, cell {number} ({label}): a table cell needs a "
            f"'{MARKDOWN_MIME}' output (made by analysis.publish.figures.show_table)"
        )
    if cell_result.kind == "output" and png is None and markdown is None:
        raise RenderError(
            f"notebook {notebook}, cell {number} ({label}): no embeddable output "
            f"('{PNG_MIME}' or '{MARKDOWN_MIME}')"
        )
    return cell_result
