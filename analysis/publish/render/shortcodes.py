"""Expand the supported Quarto shortcodes in a source, keeping track of where each line came from.

Supported, with Quarto's documented meaning:

- ``{{< include file.qmd >}}``: paste the file's text (alone on its line). Paths are relative to
  the *main* document's folder, or to the project root when they start with ``/``.
- ``{{< var key.sub >}}``: a value from ``_variables.yml`` in the project root.
- ``{{< meta key.sub >}}``: a value of the document's merged metadata.
- ``{{< pagebreak >}}``: a page break (alone on its line).
- ``{{< embed nb.ipynb#label [echo=true] >}}``: the outputs of the notebook cell with that label
  (alone on its line), as a numbered figure or table when the label starts ``fig-``/``tbl-``.

Everything unresolved is an error naming the file and line.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import struct
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterator
from typing import Any

from analysis.publish.render.errors import RenderError
from analysis.publish.render.notebook import EmbeddedCell, read_cell
from analysis.publish.render.project import lookup_key

SHORTCODE_PATTERN = re.compile(r"\{\{<\s*(?P<name>[^\s>]+)(?P<args>.*?)\s*>\}\}")
"""One shortcode on a line: name and raw argument text."""

INLINE_SHORTCODES = frozenset({"var", "meta"})
BLOCK_SHORTCODES = frozenset({"include", "embed", "pagebreak"})
SUPPORTED_SHORTCODES = INLINE_SHORTCODES | BLOCK_SHORTCODES

LABEL_DEFINITION = re.compile(r"\{[^{}]*#(?P<label>(?:fig|tbl)-[A-Za-z0-9_-]*[A-Za-z0-9_])")
"""A ``{#fig-x ...}`` or ``{#tbl-x}`` attribute block defining a cross-reference label."""

REFERENCE = re.compile(
    r"(?<![\w@.])(?P<prefix>\[?-?)@(?P<label>(?:[Ff]ig|[Tt]bl)-[A-Za-z0-9_-]*[A-Za-z0-9_])"
)
"""An ``@fig-x`` / ``@tbl-x`` / ``[-@fig-x]`` reference."""

FENCE = re.compile(r"^(?P<indent>\s{0,3})(?P<fence>`{3,}|~{3,})")
INLINE_CODE = re.compile(r"(`+)(?:.+?)\1")

PAGEBREAK_MARKDOWN = "::: {.render-pagebreak}\n:::"
"""What ``{{< pagebreak >}}`` becomes; the Lua filter writes each format's native break."""


@dataclass(frozen=True)
class SourceLine:
    """One line of expanded markdown and the file and line it came from."""

    text: str
    path: Path
    line: int


@dataclass
class ExpandedSource:
    """A document with every shortcode expanded, ready for pandoc."""

    markdown: str
    labels: dict[str, tuple[Path, int]] = field(default_factory=dict)
    references: list[tuple[str, Path, int]] = field(default_factory=list)
    embedded: list[EmbeddedCell] = field(default_factory=list)
    lines: list[SourceLine] = field(default_factory=list)
    """Every line of ``markdown`` with the file and line it came from."""

    def locate(self, text: str) -> str:
        """``file:line`` of the first line containing ``text`` (for error messages)."""
        for item in self.lines:
            if text in item.text:
                return f"{item.path}:{item.line}"
        return "?"


def parse_arguments(raw: str, where: str) -> tuple[list[str], dict[str, str]]:
    """Split shortcode arguments into positional values and ``key=value`` options."""
    try:
        tokens = shlex.split(raw)
    except ValueError as exc:
        raise RenderError(f"{where}: cannot read shortcode arguments {raw!r}: {exc}") from exc
    positional: list[str] = []
    named: dict[str, str] = {}
    for token in tokens:
        if "=" in token and not token.startswith(("/", ".")) and "#" not in token.split("=")[0]:
            key, value = token.split("=", 1)
            named[key] = value
        else:
            positional.append(token)
    return positional, named


def resolve_document_path(target: str, doc_dir: Path, project_root: Path) -> Path:
    """Resolve a path in a shortcode as Quarto does: ``/x`` from the project root, else from
    the main document's folder."""
    if target.startswith("/"):
        return (project_root / target.lstrip("/")).resolve()
    return (doc_dir / target).resolve()


def format_value(value: Any, where: str, what: str) -> str:
    """Render a variable or metadata value as markdown text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if value is None:
        return ""
    raise RenderError(f"{where}: {what} is a {type(value).__name__}, not a single value")


def expand_includes(
    lines: list[SourceLine], doc_dir: Path, project_root: Path, stack: tuple[Path, ...] = ()
) -> list[SourceLine]:
    """Replace each ``{{< include >}}`` line by the included file's lines (recursively)."""
    result: list[SourceLine] = []
    for item in lines:
        match = SHORTCODE_PATTERN.search(item.text)
        if match is None or match.group("name") != "include":
            result.append(item)
            continue
        where = f"{item.path}:{item.line}"
        if item.text.strip() != match.group(0):
            raise RenderError(f"{where}: an include shortcode must be alone on its line")
        positional, _ = parse_arguments(match.group("args"), where)
        if len(positional) != 1:
            raise RenderError(f"{where}: include takes exactly one file path")
        target = resolve_document_path(positional[0], doc_dir, project_root)
        if not target.is_file():
            raise RenderError(f"{where}: included file {positional[0]!r} not found ({target})")
        if target in stack or target == item.path.resolve():
            raise RenderError(f"{where}: {positional[0]!r} includes itself")
        text = target.read_text(encoding="utf-8")
        if text.startswith("---\n") or text.startswith("---\r\n"):
            raise RenderError(
                f"{target}:1: an included file must not have YAML front matter "
                "(Quarto would apply it to the whole document)"
            )
        included = [SourceLine(line, target, number) for number, line in
                    enumerate(text.splitlines(), start=1)]
        result.append(SourceLine("", item.path, item.line))
        result.extend(expand_includes(included, doc_dir, project_root, (*stack, target)))
        result.append(SourceLine("", item.path, item.line))
    return result


ASSUMED_PNG_SCALE = 2
"""Figure PNGs from vl-convert are made at scale 2 (sharp on screens and in print) unless the
output's metadata gives their display size (``image/png: {width: ...}`` in CSS pixels)."""

MAX_FIGURE_WIDTH_INCHES = 6.0


def png_display_width_inches(png: bytes, metadata_width: object = None) -> float | None:
    """Display width of an embedded PNG in inches (96 CSS pixels per inch), at most the text
    width of a page; ``None`` when the bytes are not a PNG."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        return None
    pixels = struct.unpack(">I", png[16:20])[0]
    if isinstance(metadata_width, (int, float)) and metadata_width > 0:
        css_pixels = float(metadata_width)
    else:
        css_pixels = pixels / ASSUMED_PNG_SCALE
    return round(min(css_pixels / 96, MAX_FIGURE_WIDTH_INCHES), 2)


def _escape_attribute(text: str) -> str:
    """Quote text for a pandoc attribute value in double quotes."""
    return " ".join(text.split()).replace("\\", "\\\\").replace('"', '\\"')


def embed_markdown(cell: EmbeddedCell, media_dir: Path, echo: bool, where: str) -> str:
    """Markdown for one embedded cell; media files are written to ``media_dir``."""
    media_dir.mkdir(parents=True, exist_ok=True)
    stem = hashlib.sha256(str(cell.notebook.resolve()).encode()).hexdigest()[:8]
    base = media_dir / f"{cell.notebook.stem}-{stem}-{cell.label}"
    parts: list[str] = []
    if echo and cell.code:
        parts.append(f"```python\n{cell.code}\n```")
    if cell.kind == "figure" or (cell.kind == "output" and cell.png is not None):
        assert cell.png is not None
        png_path = base.with_suffix(".png")
        png_path.write_bytes(cell.png)
        attributes: list[str] = []
        if cell.kind == "figure":
            attributes.append(f"#{cell.label}")
        alt = cell.alt_text
        if alt:
            attributes.append(f'fig-alt="{_escape_attribute(alt)}"')
        elif cell.kind == "figure":
            raise RenderError(f"{where}: figure {cell.label} has no alt text ('#| fig-alt:')")
        width = png_display_width_inches(cell.png, cell.png_width)
        if width is not None:
            attributes.append(f'width="{width}in"')
        if cell.vegalite is not None:
            spec_path = base.with_suffix(".vl.json")
            spec_path.write_text(json.dumps(cell.vegalite), encoding="utf-8")
            attributes.append(f'vl-spec="{_escape_attribute(str(spec_path))}"')
        caption = " ".join(str(cell.options.get("fig-cap", "")).split())
        if cell.kind == "figure" and not caption:
            raise RenderError(f"{where}: figure {cell.label} has no caption ('#| fig-cap:')")
        parts.append(f"![{caption}](<{png_path}>){{{' '.join(attributes)}}}")
    elif cell.markdown is not None:
        table = cell.markdown.strip("\n")
        if cell.kind == "table":
            caption = " ".join(str(cell.options.get("tbl-cap", "")).split())
            if not caption:
                raise RenderError(f"{where}: table {cell.label} has no caption ('#| tbl-cap:')")
            table += f"\n\n: {caption} {{#{cell.label}}}"
        parts.append(table)
    return "\n\n" + "\n\n".join(parts) + "\n\n"


def _substitute_inline(
    item: SourceLine, variables: dict[str, Any] | None, metadata: dict[str, Any]
) -> str:
    """Replace ``var`` and ``meta`` shortcodes inside one line."""
    where = f"{item.path}:{item.line}"

    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in INLINE_SHORTCODES:
            if name in BLOCK_SHORTCODES:
                raise RenderError(f"{where}: the {name} shortcode must be alone on its line")
            raise RenderError(f"{where}: unsupported shortcode {name!r}")
        positional, _ = parse_arguments(match.group("args"), where)
        if len(positional) != 1:
            raise RenderError(f"{where}: {name} takes exactly one key")
        key = positional[0]
        if name == "var":
            if variables is None:
                raise RenderError(f"{where}: {{{{< var {key} >}}}} but the project has no "
                                  "_variables.yml (written by 03_synthesis)")
            found, value = lookup_key(variables, key)
            if not found:
                raise RenderError(f"{where}: variable {key!r} is not in _variables.yml")
            return format_value(value, where, f"variable {key!r}")
        found, value = lookup_key(metadata, key)
        if not found:
            raise RenderError(f"{where}: metadata key {key!r} is not set")
        return format_value(value, where, f"metadata {key!r}")

    return SHORTCODE_PATTERN.sub(replace, item.text)


def resolve_metadata_shortcodes(
    metadata: dict[str, Any], variables: dict[str, Any] | None, where: Path
) -> dict[str, Any]:
    """Resolve ``var``/``meta`` shortcodes inside string metadata values (e.g. a title)."""

    def walk(value: Any) -> Any:
        if isinstance(value, str) and "{{<" in value:
            return _substitute_inline(SourceLine(value, where, 1), variables, metadata)
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    return {key: walk(value) for key, value in metadata.items()}


def classify_fenced_lines(lines: list[SourceLine]) -> Iterator[tuple[SourceLine, str]]:
    """Yield each line with its place: ``"text"``, ``"fence-open"`` (a code fence's first line),
    or ``"in-fence"`` (inside a fenced block, its closing line included)."""
    fence: str | None = None
    for item in lines:
        fence_match = FENCE.match(item.text)
        if fence is not None:
            if fence_match and fence_match.group("fence")[0] == fence[0] and len(
                fence_match.group("fence")
            ) >= len(fence) and not item.text.strip()[len(fence_match.group("fence")):]:
                fence = None
            yield item, "in-fence"
        elif fence_match:
            fence = fence_match.group("fence")
            yield item, "fence-open"
        else:
            yield item, "text"


def scan_cross_references(lines: list[SourceLine]) -> tuple[
    dict[str, tuple[Path, int]], list[tuple[str, Path, int]]
]:
    """Find ``{#fig-..}``/``{#tbl-..}`` definitions and ``@fig-..``/``@tbl-..`` references
    outside code."""
    labels: dict[str, tuple[Path, int]] = {}
    references: list[tuple[str, Path, int]] = []
    for item, kind in classify_fenced_lines(lines):
        if kind != "text":
            continue
        text = INLINE_CODE.sub("", item.text)
        for match in LABEL_DEFINITION.finditer(text):
            label = match.group("label")
            if label in labels:
                first = labels[label]
                raise RenderError(
                    f"{item.path}:{item.line}: label {label!r} already defined at "
                    f"{first[0]}:{first[1]}"
                )
            labels[label] = (item.path, item.line)
        for match in REFERENCE.finditer(text):
            label = match.group("label")
            references.append((label[0].lower() + label[1:], item.path, item.line))
    return labels, references


def expand_source(
    body: str,
    path: Path,
    first_line: int,
    *,
    project_root: Path,
    variables: dict[str, Any] | None,
    metadata: dict[str, Any],
    media_dir: Path,
) -> ExpandedSource:
    """Expand every supported shortcode in a document body and check its cross-references."""
    doc_dir = path.resolve().parent
    lines = [SourceLine(text, path, number) for number, text in
             enumerate(body.splitlines(), start=first_line)]
    lines = expand_includes(lines, doc_dir, project_root, (path.resolve(),))
    output: list[SourceLine] = []
    embedded: list[EmbeddedCell] = []
    for item in lines:
        where = f"{item.path}:{item.line}"
        match = SHORTCODE_PATTERN.search(item.text)
        if match is not None and match.group("name") in ("embed", "pagebreak"):
            if item.text.strip() != match.group(0):
                raise RenderError(
                    f"{where}: the {match.group('name')} shortcode must be alone on its line"
                )
            positional, named = parse_arguments(match.group("args"), where)
            if match.group("name") == "pagebreak":
                if positional or named:
                    raise RenderError(f"{where}: pagebreak takes no arguments")
                generated = f"\n{PAGEBREAK_MARKDOWN}\n"
            else:
                unknown = set(named) - {"echo"}
                if len(positional) != 1 or "#" not in positional[0] or unknown:
                    raise RenderError(
                        f"{where}: use {{{{< embed path.ipynb#label >}}}} (optional echo=true)"
                    )
                target, label = positional[0].split("#", 1)
                if "," in label:
                    raise RenderError(f"{where}: embed one cell per shortcode (got {label!r})")
                notebook = resolve_document_path(target, doc_dir, project_root)
                try:
                    cell = read_cell(notebook, label)
                    generated = embed_markdown(
                        cell, media_dir, named.get("echo", "false").lower() == "true", where
                    )
                except RenderError as exc:
                    message = str(exc)
                    raise RenderError(
                        message if message.startswith(where) else f"{where}: {message}"
                    ) from exc
                embedded.append(cell)
            output.extend(SourceLine(text, item.path, item.line)
                          for text in generated.splitlines())
            continue
        output.append(SourceLine(_substitute_inline(item, variables, metadata), item.path,
                                 item.line))
    labels, references = scan_cross_references(output)
    for label, ref_path, ref_line in references:
        if label not in labels:
            raise RenderError(
                f"{ref_path}:{ref_line}: cross-reference @{label} has no figure or table "
                f"labelled #{label}"
            )
    return ExpandedSource(
        markdown="\n".join(item.text for item in output) + "\n",
        labels=labels,
        references=references,
        embedded=embedded,
        lines=output,
    )
