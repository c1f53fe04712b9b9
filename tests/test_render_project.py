"""Unit tests of the renderer's metadata, notebook and shortcode helpers (hand-made inputs)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from analysis.publish.render.errors import RenderError
from analysis.publish.render.notebook import parse_cell_options
from analysis.publish.render.project import (
    declared_formats, document_metadata, format_metadata, load_project, lookup_key, merge_metadata,
    parse_metadata_overrides, split_front_matter,
)
from analysis.publish.render.shortcodes import png_display_width_inches


def test_merge_metadata_follows_quarto_rules() -> None:
    base = {"toc": True, "format": {"html": {"css": ["a.css"]}}, "author": "A"}
    override = {"toc": False, "format": {"html": {"css": ["b.css"]}, "docx": {"toc": True}}}
    merged = merge_metadata(base, override)
    assert merged == {"toc": False, "author": "A",
                      "format": {"html": {"css": ["a.css", "b.css"]}, "docx": {"toc": True}}}
    assert base["toc"] is True  # inputs untouched


def test_format_metadata_prefers_format_options_and_typst_for_pdf() -> None:
    metadata = {"toc": False, "format": {"html": {"toc": True}, "pdf": {"x": 1},
                                         "typst": {"x": 2}}}
    assert format_metadata(metadata, "html")["toc"] is True
    assert format_metadata(metadata, "docx")["toc"] is False
    assert format_metadata(metadata, "pdf")["x"] == 2
    assert declared_formats(metadata) == ["html", "pdf"]
    assert declared_formats({}) == ["html"]
    assert declared_formats({"format": "revealjs"}) == ["revealjs"]


def test_lookup_key_handles_dots_and_escapes() -> None:
    data = {"a": {"b": "1"}, "x.y": "2", "list": ["p", "q"]}
    assert lookup_key(data, "a.b") == (True, "1")
    assert lookup_key(data, "x\\.y") == (True, "2")
    assert lookup_key(data, "list.1") == (True, "p")  # Quarto counts list items from 1
    assert lookup_key(data, "list.2") == (True, "q")
    assert lookup_key(data, "list.0") == (False, None)
    assert lookup_key(data, "list.3") == (False, None)
    assert lookup_key(data, "a.c") == (False, None)


def test_metadata_overrides_are_yaml_scalars() -> None:
    assert parse_metadata_overrides(["synthetic=true", "a.b=x y", "n=3"]) == {
        "synthetic": True, "a": {"b": "x y"}, "n": 3}


def test_project_and_document_metadata_merge(tmp_path: Path) -> None:
    (tmp_path / "_quarto.yml").write_text("project:\n  type: default\ntoc: true\nlang: en\n")
    (tmp_path / "_variables.yml").write_text("synthetic: true\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "_metadata.yml").write_text("lang: en-GB\n")
    doc = tmp_path / "docs" / "d.qmd"
    doc.write_text("---\ntoc: false\ntitle: T\n---\nBody\n")
    source = split_front_matter(doc)
    project = load_project(doc)
    assert project.root == tmp_path and project.variables == {"synthetic": True}
    metadata = document_metadata(source, project, {"title": "U"})
    assert metadata == {"toc": False, "lang": "en-GB", "title": "U"}
    assert source.body == "Body\n" and source.body_first_line == 5


def test_front_matter_errors_name_the_file(tmp_path: Path) -> None:
    doc = tmp_path / "d.qmd"
    doc.write_text("---\ntitle: [unclosed\n---\n")
    with pytest.raises(RenderError, match=r"d\.qmd:\d+: invalid YAML"):
        split_front_matter(doc)


def test_cell_options_are_read_from_leading_comment_lines() -> None:
    options, code = parse_cell_options(
        '#| label: fig-x\n#| fig-cap: "A: b"\nshow(chart)\n#| not an option')
    assert options == {"label": "fig-x", "fig-cap": "A: b"}
    assert code == "show(chart)\n#| not an option"


def _png_header(width: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, 10, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr
            + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)))


def test_png_display_width() -> None:
    assert png_display_width_inches(_png_header(960)) == 5.0  # scale-2 PNG: 480 CSS px
    assert png_display_width_inches(_png_header(960), metadata_width=192) == 2.0
    assert png_display_width_inches(_png_header(5000)) == 6.0  # capped at the text width
    assert png_display_width_inches(b"not a png") is None
