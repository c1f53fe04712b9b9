"""Display and save figures and tables the way every notebook of the study does.

A figure is an altair chart built by a function in ``analysis/`` (a declarative Vega-Lite
spec). ``show`` applies the study theme, renders a static PNG and SVG offline with vl-convert
(no browser, no network, fixed fonts and locale so the bytes are reproducible), writes
``<out_dir>/<name>.{png,svg,vl.json,alt.txt}`` and displays one mime bundle:

- ``application/vnd.vegalite.v5+json``: the spec, drawn natively and offline by JupyterLab;
- ``image/png``: the static image (scale 2), used by Quarto and nbconvert;
- ``text/plain``: the alt text, with ``{"fig-alt": alt}`` in the output metadata.

Each figure is drawn once: Vega runs once to make the SVG, the PNG is rasterised from that SVG
(byte-identical to vl-convert's own PNG at the same scale) and then losslessly re-encoded
(opaque RGB, a palette when the image has 256 colours or fewer, zlib level 9), which makes it
several times smaller than vl-convert's PNG. The same bytes go to the notebook and to
``<name>.png``, so notebook, report and slides share one rendering.

Participant-level interactive pictures (journey maps, the journey browser) use
``show(..., static=False)``: spec and alt text only, no static rendering; they are for the study
team in JupyterLab and never embedded in a report.

``show_table`` displays a table as ``text/html`` (a plain accessible ``<table>``),
``text/markdown`` (a pipe table, so Word output gets a real table) and ``text/plain``.
Tables must already have passed through ``analysis.protect.outputs.release_table``.
"""

from __future__ import annotations

import base64
import copy
import html
import io
import json
import math
import os
from pathlib import Path
from typing import Any, Final

import altair as alt
import numpy as np
import pandas as pd
import vl_convert as vlc
from PIL import Image

from analysis.core import atomic, palette

VEGALITE_MIME: Final[str] = "application/vnd.vegalite.v5+json"
"""Mime type JupyterLab's built-in Vega extension draws (the contract's figure bundle key)."""

VL_VERSION: Final[str] = "6.4"
"""Vega-Lite library version vl-convert uses; matches the schema altair 6.3 writes."""

PNG_SCALE: Final[float] = 2.0
"""Static PNG scale factor: device pixels per CSS pixel (2 = crisp on high-density screens and
in print)."""

PNG_PPI: Final[float] = 144.0
"""Resolution recorded in the PNG's ``pHYs`` chunk (72 x ``PNG_SCALE``)."""

PNG_BAND_ROWS: Final[int] = 256
"""Rows of pixels mapped to the palette at a time by ``compact_png`` (keeps its memory small:
the four-site pathways figure, 2,684 x 2,594 pixels, peaked at 356 MB when done at once)."""

PNG_COMPRESS_LEVEL: Final[int] = 9
"""zlib level of the re-encoded PNG (lossless; 9 = smallest)."""

SYNTHETIC_NOTE: Final[str] = "SYNTHETIC DATA: not findings of the study"
"""Subtitle added to every figure made from synthetic data."""

THEME_CONFIG: Final[dict[str, Any]] = {
    "font": palette.FONT,
    "background": "#FFFFFF",
    "padding": 8,
    "view": {"stroke": None, "continuousWidth": 520, "continuousHeight": 300},
    "title": {
        "fontSize": palette.TITLE_SIZE,
        "subtitleFontSize": palette.FONT_SIZE,
        "anchor": "start",
        "color": palette.TEXT,
        "subtitleColor": palette.TEXT,
        "offset": 10,
    },
    "axis": {
        "labelFontSize": palette.FONT_SIZE,
        "titleFontSize": palette.FONT_SIZE,
        "labelColor": palette.TEXT,
        "titleColor": palette.TEXT,
        "gridColor": palette.GRID,
        "domainColor": palette.DARK_GREY,
        "tickColor": palette.DARK_GREY,
        "labelLimit": 260,
    },
    "header": {
        "labelFontSize": palette.FONT_SIZE,
        "titleFontSize": palette.FONT_SIZE,
        "labelColor": palette.TEXT,
        "titleColor": palette.TEXT,
    },
    "legend": {
        "labelFontSize": palette.FONT_SIZE,
        "titleFontSize": palette.FONT_SIZE,
        "labelColor": palette.TEXT,
        "titleColor": palette.TEXT,
        "symbolSize": 120,
        "labelLimit": 260,
        "orient": "bottom",
        "direction": "horizontal",
        "columns": 3,
    },
    "text": {"fontSize": palette.FONT_SIZE - 1, "color": palette.TEXT},
    "range": {
        "category": list(palette.CATEGORICAL),
        "ordinal": list(palette.SEQUENTIAL),
        "heatmap": list(palette.SEQUENTIAL),
        "ramp": list(palette.SEQUENTIAL),
    },
}
"""Study chart theme: readable sizes, Analysis Function colours, one fixed font."""


def chart_spec(chart: alt.TopLevelMixin | dict[str, Any], *, synthetic: bool = False) -> dict[str, Any]:
    """Return the chart's Vega-Lite spec with the study theme and the synthetic-data note.

    The theme is merged under any ``config`` the chart already sets (the chart wins). When
    ``synthetic`` is true the note ``SYNTHETIC_NOTE`` is added to the title's subtitle.
    """
    if isinstance(chart, dict):
        spec = copy.deepcopy(chart)
    else:
        # no row limit: altair refuses data over 5,000 rows, and the journey browser holds every
        # contact of a site (7,400 at 10x); its size is measured by `make bench` instead
        with alt.data_transformers.disable_max_rows():
            spec = chart.to_dict()
    config = _deep_merge(THEME_CONFIG, spec.get("config", {}))
    spec["config"] = config
    if synthetic:
        spec["title"] = _title_with_note(spec.get("title"), SYNTHETIC_NOTE)
    return spec


def render_png(spec: dict[str, Any]) -> bytes:
    """Render a Vega-Lite spec to PNG bytes offline (deterministic: fixed font, locale, scale)."""
    return svg_to_png(render_svg(spec))


def svg_to_png(svg: str) -> bytes:
    """Rasterise an SVG made by ``render_svg`` to the study's static PNG (``PNG_SCALE``).

    vl-convert multiplies its ``scale`` by ``ppi / 72``, so the scale passed is
    ``PNG_SCALE * 72 / PNG_PPI``: the image is ``PNG_SCALE`` device pixels per CSS pixel and
    records ``PNG_PPI``. The result is re-encoded losslessly by ``compact_png``.
    """
    return compact_png(vlc.svg_to_png(svg, scale=PNG_SCALE * 72.0 / PNG_PPI, ppi=PNG_PPI))


def compact_png(png: bytes) -> bytes:
    """Re-encode a PNG losslessly and smaller, deterministically.

    Every pixel keeps its exact colour: an image whose alpha is opaque everywhere is stored as
    RGB, and then as a palette image when it has 256 distinct colours or fewer; the stream is
    compressed at ``PNG_COMPRESS_LEVEL``. The resolution (``pHYs``) is kept; no time or text
    chunks are written, so the same input always gives the same bytes.
    """
    with Image.open(io.BytesIO(png)) as source:
        source.load()
        dpi = source.info.get("dpi")
        image: Image.Image = source
        if image.mode == "RGBA" and image.getchannel("A").getextrema() == (255, 255):
            image = image.convert("RGB")
        found = image.getcolors(maxcolors=256) if image.mode == "RGB" else None
        if found is not None:  # 256 colours or fewer: a palette image, colours in ascending RGB order
            colours = np.array(sorted((r << 16) | (g << 8) | b for _, (r, g, b) in found), dtype=np.uint32)
            pixels = np.asarray(image, dtype=np.uint8)
            index = np.empty(pixels.shape[:2], dtype=np.uint8)
            for top in range(0, pixels.shape[0], PNG_BAND_ROWS):  # a band of rows at a time
                band = pixels[top:top + PNG_BAND_ROWS].astype(np.uint32)
                index[top:top + PNG_BAND_ROWS] = np.searchsorted(colours, (band[..., 0] << 16) | (band[..., 1] << 8) | band[..., 2])
            image = Image.frombytes("P", image.size, index.tobytes())
            rgb = np.stack([(colours >> 16) & 255, (colours >> 8) & 255, colours & 255], axis=1)
            image.putpalette(rgb.astype(np.uint8).tobytes(), rawmode="RGB")
        out = io.BytesIO()
        options: dict[str, Any] = {"compress_level": PNG_COMPRESS_LEVEL}
        if dpi:
            options["dpi"] = dpi
        image.save(out, format="PNG", **options)
    return out.getvalue()


def render_svg(spec: dict[str, Any]) -> str:
    """Render a Vega-Lite spec to SVG text offline."""
    return vlc.vegalite_to_svg(
        spec,
        vl_version=VL_VERSION,
        format_locale="en-GB",
        time_format_locale="en-GB",
        allowed_base_urls=[],
    )


def save_figure(
    chart: alt.TopLevelMixin | dict[str, Any],
    *,
    alt_text: str,
    name: str,
    out_dir: str | os.PathLike[str],
    synthetic: bool = False,
    static: bool = True,
) -> dict[str, Path]:
    """Write ``<out_dir>/<name>.{png,svg,vl.json,alt.txt}`` and return the paths by suffix.

    With ``static=False`` only ``.vl.json`` and ``.alt.txt`` are written (no rendering). Files
    are written atomically (temporary file then rename), so a reader never sees a half-written
    figure.
    """
    _check_name(name)
    _check_alt(alt_text, name)
    spec = chart_spec(chart, synthetic=synthetic)
    return _write_figure_files(spec, _render(spec) if static else None, alt_text=alt_text, name=name, out_dir=out_dir)


def _render(spec: dict[str, Any]) -> tuple[str, bytes]:
    """Draw a spec once: its SVG, and the PNG rasterised from that SVG."""
    svg = render_svg(spec)
    return svg, svg_to_png(svg)


def _write_figure_files(
    spec: dict[str, Any],
    rendered: tuple[str, bytes] | None,
    *,
    alt_text: str,
    name: str,
    out_dir: str | os.PathLike[str],
) -> dict[str, Path]:
    """Write the files of one figure from its already-rendered SVG and PNG (if any)."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"vl.json": folder / f"{name}.vl.json", "alt.txt": folder / f"{name}.alt.txt"}
    if rendered is not None:
        svg, png = rendered
        paths = {"png": folder / f"{name}.png", "svg": folder / f"{name}.svg", **paths}
        atomic.write_bytes(paths["png"], png)
        atomic.write_bytes(paths["svg"], svg.encode("utf-8"))
    atomic.write_bytes(paths["vl.json"], spec_json(spec).encode("utf-8"))
    atomic.write_bytes(paths["alt.txt"], (alt_text.strip() + "\n").encode("utf-8"))
    return paths


def figure_bundle(
    chart: alt.TopLevelMixin | dict[str, Any], *, alt_text: str, synthetic: bool = False
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the ``(data, metadata)`` mime bundle of the contract for one figure."""
    spec = chart_spec(chart, synthetic=synthetic)
    return _bundle(spec, render_png(spec), alt_text)


def _bundle(spec: dict[str, Any], png: bytes | None, alt_text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Assemble the mime bundle from a spec and its PNG (no ``image/png`` when ``png`` is None)."""
    data: dict[str, Any] = {VEGALITE_MIME: spec}
    if png is not None:
        data["image/png"] = base64.b64encode(png).decode("ascii")
    data["text/plain"] = alt_text.strip()
    return data, {"fig-alt": alt_text.strip()}


def show(
    chart: alt.TopLevelMixin | dict[str, Any],
    *,
    alt: str,
    name: str,
    out_dir: str | os.PathLike[str] | None = None,
    synthetic: bool = False,
    static: bool = True,
) -> None:
    """Display one figure as the contract's mime bundle and, if ``out_dir`` is given, save it.

    ``alt`` is the alt text (what the figure shows and its main pattern, computed from the
    data); ``name`` is the cell label (``fig-...``) used for the file names. The figure is drawn
    once and the same PNG goes to the notebook and to the file. ``static=False`` (participant-
    level interactive pictures only; not allowed for ``fig-`` labels, which reports embed)
    skips the static rendering: the bundle carries the spec and the alt text. Returns ``None``
    so that nothing is displayed twice when ``show`` is a cell's last line.
    """
    from IPython.display import display

    _check_name(name)
    _check_alt(alt, name)
    if not static and name.startswith("fig-"):
        raise ValueError(f"figures: figure {name!r} is embedded in reports, so it needs its static PNG (static=True)")
    spec = chart_spec(chart, synthetic=synthetic)
    rendered = _render(spec) if static else None
    if out_dir is not None:
        _write_figure_files(spec, rendered, alt_text=alt, name=name, out_dir=out_dir)
    data, metadata = _bundle(spec, rendered[1] if rendered else None, alt)
    display(data, metadata=metadata, raw=True)


def spec_json(spec: dict[str, Any]) -> str:
    """Serialise a spec reproducibly (sorted keys, two-space indent, final newline)."""
    return json.dumps(spec, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def table_bundle(table: pd.DataFrame, *, caption: str | None = None) -> dict[str, str]:
    """Return the ``text/html``, ``text/markdown`` and ``text/plain`` renderings of a table."""
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"figures.table_bundle: expected a pandas DataFrame, got {type(table).__name__}")
    cells = [[_cell_text(value) for value in row] for row in table.itertuples(index=False, name=None)]
    headers = [str(column) for column in table.columns]
    return {
        "text/html": _html_table(headers, cells, caption),
        "text/markdown": _markdown_table(headers, cells),
        "text/plain": table.to_string(index=False),
    }


def show_table(
    table: pd.DataFrame,
    *,
    name: str | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    caption: str | None = None,
) -> None:
    """Display a released table as one mime bundle; with ``name`` and ``out_dir`` also save a CSV."""
    from IPython.display import display

    if out_dir is not None:
        if name is None:
            raise ValueError("figures.show_table: out_dir given without name (needed for the file name)")
        _check_name(name)
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        atomic.write_bytes(folder / f"{name}.csv", table.to_csv(index=False).encode("utf-8"))
    display(table_bundle(table, caption=caption), raw=True)


def truncate_label(text: str, limit: int = 40) -> str:
    """Shorten a label for an axis, ending with an ellipsis when it was cut."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _title_with_note(title: Any, note: str) -> dict[str, Any]:
    """Return a title object whose subtitle carries ``note`` (once)."""
    if title is None:
        title_obj: dict[str, Any] = {"text": ""}
    elif isinstance(title, dict):
        title_obj = dict(title)
    else:
        title_obj = {"text": title}
    subtitle = title_obj.get("subtitle")
    lines = [] if subtitle is None else ([subtitle] if isinstance(subtitle, str) else list(subtitle))
    if note not in lines:
        lines = [note, *lines]
    title_obj["subtitle"] = lines if len(lines) > 1 else lines[0]
    return title_obj


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge two nested dicts; values in ``override`` win."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _check_name(name: str) -> None:
    """Reject names that are not safe, stable file names / Quarto labels."""
    if not name or any(ch in name for ch in "/\\ \t\n") or name.startswith("."):
        raise ValueError(f"figures: name {name!r} must be a label like 'fig-contacts' (no spaces or slashes)")


def _check_alt(alt_text: str, name: str) -> None:
    """Every figure needs real alt text."""
    if not isinstance(alt_text, str) or len(alt_text.strip()) < 10:
        raise ValueError(f"figures: figure {name!r} needs alt text describing what it shows (got {alt_text!r})")


def _cell_text(value: Any) -> str:
    """Format one table cell for display (blank for missing, no trailing .0 on whole floats)."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.1f}"
    if value is pd.NA or value is pd.NaT:
        return ""
    return str(value)


def _html_table(headers: list[str], cells: list[list[str]], caption: str | None) -> str:
    """A plain, accessible HTML table (caption, column headers with scope)."""
    parts = ["<table>"]
    if caption:
        parts.append(f"<caption>{html.escape(caption)}</caption>")
    parts.append("<thead><tr>")
    parts.extend(f'<th scope="col">{html.escape(h)}</th>' for h in headers)
    parts.append("</tr></thead><tbody>")
    for row in cells:
        parts.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


MARKDOWN_COLUMN_DASHES: tuple[int, int] = (3, 40)
"""Fewest and most dashes under a pipe-table header cell."""


def _markdown_table(headers: list[str], cells: list[list[str]]) -> str:
    """A pipe table; pipes and newlines inside cells are escaped.

    The dashes under each header grow with the column's longest entry (within
    ``MARKDOWN_COLUMN_DASHES``): for a wide table pandoc sets each column's relative width from
    them, so a column of file names gets more room than a column of counts.
    """

    def clean(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ").replace("\r", " ")

    fewest, most = MARKDOWN_COLUMN_DASHES
    widths = [max([len(str(h))] + [len(str(row[i])) for row in cells]) for i, h in enumerate(headers)]
    body_words = [min(BODY_WORD_DASHES, max([len(word) for row in cells for word in str(row[i]).split()] or [0]))
                  for i in range(len(headers))]
    widths = _header_safe_widths(headers, [min(most, max(fewest, w)) for w in widths], body_words)
    lines = ["| " + " | ".join(clean(h) for h in headers) + " |"]
    lines.append("|" + "|".join("-" * w for w in widths) + "|")
    lines.extend("| " + " | ".join(clean(c) for c in row) + " |" for row in cells)
    return "\n".join(lines) + "\n"


MARKDOWN_LINE_DASHES: int = 90
"""About the characters a table line holds across the page: relative widths are scaled to it."""


HEADER_WORD_DASHES: float = 1.2
"""Dashes per character of a header word: a header is set in bold (DejaVu Sans Bold averages
about 0.6 em a character), wider than the body text the line's dashes are counted in."""

BODY_WORD_DASHES: int = 20
"""Most dashes a column's longest body word asks for (a quotation's reference such as
``[SS-AA-001_W1-S002]`` fits; a longer token wraps or is cut rather than widening its column)."""

HEADER_PAD_DASHES: int = 3
"""Dashes for a cell's inner padding (the typst template's 6 pt either side)."""


def _header_safe_widths(headers: list[str], widths: list[int], body_words: list[int] | None = None) -> list[int]:
    """Dash counts such that, once pandoc scales the columns to the text width, every column is
    at least as wide as its header's longest word and its cells' longest word (plus padding), so
    words wrap between words inside their cells instead of running into the next one (PDF and
    DOCX). Columns wider than that minimum give up room in proportion to their excess."""
    body = body_words or [0] * len(headers)
    header_floors = [math.ceil(HEADER_WORD_DASHES * max([len(word) for word in str(h).split()] or [1]))
                     + HEADER_PAD_DASHES for h in headers]
    floors = [max(f, word + HEADER_PAD_DASHES) for f, word in zip(header_floors, body)]
    if sum(floors) > MARKDOWN_LINE_DASHES:
        # header words first; the room left is shared by the longest body words in proportion
        room = max(MARKDOWN_LINE_DASHES - sum(header_floors), 0)
        extra = sum(floors) - sum(header_floors)
        floors = [h + int((f - h) * room / extra) for h, f in zip(header_floors, floors)]
    widths = [max(w, f) for w, f in zip(widths, floors)]
    total = sum(widths)
    if total <= MARKDOWN_LINE_DASHES:
        return widths
    if sum(floors) >= MARKDOWN_LINE_DASHES:
        return floors  # too many columns for the line: no column takes room from a header word
    spare = MARKDOWN_LINE_DASHES - sum(floors)
    excess = [w - f for w, f in zip(widths, floors)]
    scale = spare / max(sum(excess), 1)
    return [f + max(0, int(e * scale)) for f, e in zip(floors, excess)]


