"""Quarto project context: where the project root is and what metadata a document sees.

Quarto finds a project by walking up from the document to the first folder holding
``_quarto.yml``; that folder is the project root, and ``_variables.yml`` next to it feeds the
``{{< var >}}`` shortcode. A document inherits every option of ``_quarto.yml`` except the
``project`` block, then ``_metadata.yml`` files of the folders between the root and the document,
then its own YAML front matter, then ``-M key=value`` options from the command line; later
sources win, maps merge key by key and lists are concatenated (Quarto's merge rules). Options
under ``format: <name>:`` apply only to that output format and win over top-level options.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from analysis.publish.render.errors import RenderError

PROJECT_FILE = "_quarto.yml"
VARIABLES_FILE = "_variables.yml"
DIRECTORY_METADATA_FILE = "_metadata.yml"

OUTPUT_FORMATS: tuple[str, ...] = ("html", "docx", "pdf", "revealjs", "pptx")
"""Outputs this renderer makes, in the order it makes them."""

QUARTO_FORMAT_NAMES: dict[str, tuple[str, ...]] = {
    "html": ("html",),
    "docx": ("docx",),
    # Offline PDF goes through Typst, so options written for Quarto's `typst` format apply first.
    "pdf": ("typst", "pdf"),
    "revealjs": ("revealjs",),
    "pptx": ("pptx",),
}
"""For each output, the ``format:`` keys of a Quarto source whose options it takes."""


@dataclass(frozen=True)
class SourceDocument:
    """A ``.qmd`` file split into its YAML front matter and its markdown body."""

    path: Path
    front_matter: dict[str, Any]
    body: str
    body_first_line: int
    """1-based line number in ``path`` where ``body`` starts (after the front matter)."""


@dataclass(frozen=True)
class ProjectContext:
    """The project a document belongs to: root folder, project options and variables."""

    root: Path
    project_file: Path | None
    options: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] | None = None
    """Contents of ``_variables.yml``; ``None`` when the project has no such file."""


def load_yaml_file(path: Path) -> dict[str, Any]:
    """Read a YAML mapping from ``path``; an empty file is an empty mapping."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise RenderError(f"{path}{line}: invalid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RenderError(f"{path}:1: expected a YAML mapping at the top level")
    return data


def split_front_matter(path: Path, text: str | None = None) -> SourceDocument:
    """Split a Quarto source into front matter (a YAML block at the very top) and body."""
    if text is None:
        text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    if lines and lines[0].rstrip() == "---":
        for index in range(1, len(lines)):
            if lines[index].rstrip() in ("---", "..."):
                block = "".join(lines[1:index])
                try:
                    data = yaml.safe_load(block) or {}
                except yaml.YAMLError as exc:
                    mark = getattr(exc, "problem_mark", None)
                    line = mark.line + 2 if mark is not None else 1
                    raise RenderError(f"{path}:{line}: invalid YAML front matter: {exc}") from exc
                if not isinstance(data, dict):
                    raise RenderError(f"{path}:2: front matter must be a YAML mapping")
                return SourceDocument(path, data, "".join(lines[index + 1 :]), index + 2)
        raise RenderError(f"{path}:1: front matter opened with '---' is never closed")
    return SourceDocument(path, {}, text, 1)


def find_project_root(document: Path) -> Path | None:
    """Return the nearest folder at or above the document's folder holding ``_quarto.yml``."""
    for folder in [document.resolve().parent, *document.resolve().parent.parents]:
        if (folder / PROJECT_FILE).is_file():
            return folder
    return None


def load_project(document: Path) -> ProjectContext:
    """Load the project context of ``document`` (a single-file project if no ``_quarto.yml``)."""
    root = find_project_root(document)
    if root is None:
        folder = document.resolve().parent
        variables_path = folder / VARIABLES_FILE
        variables = load_yaml_file(variables_path) if variables_path.is_file() else None
        return ProjectContext(root=folder, project_file=None, options={}, variables=variables)
    project_file = root / PROJECT_FILE
    options = load_yaml_file(project_file)
    variables_path = root / VARIABLES_FILE
    variables = load_yaml_file(variables_path) if variables_path.is_file() else None
    return ProjectContext(root=root, project_file=project_file, options=options, variables=variables)


def merge_metadata(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge two metadata mappings the way Quarto does: maps recursively, lists concatenated
    (without repeats), any other value replaced by the override."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        old = merged.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            merged[key] = merge_metadata(old, value)
        elif isinstance(old, list) and isinstance(value, list):
            merged[key] = old + [item for item in value if item not in old]
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def parse_metadata_overrides(pairs: list[str]) -> dict[str, Any]:
    """Turn ``-M key=value`` strings into metadata; values are read as YAML scalars like
    Quarto does (``true`` is a boolean), and dotted keys make nested maps."""
    result: dict[str, Any] = {}
    for pair in pairs:
        if "=" in pair:
            key, raw = pair.split("=", 1)
        elif ":" in pair:
            key, raw = pair.split(":", 1)
        else:
            key, raw = pair, "true"
        key = key.strip()
        if not key:
            raise RenderError(f"-M {pair!r}: empty metadata key")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        nested: dict[str, Any] = {}
        cursor = nested
        parts = key.split(".")
        for part in parts[:-1]:
            cursor = cursor.setdefault(part, {})
        cursor[parts[-1]] = value
        result = merge_metadata(result, nested)
    return result


PATH_OPTIONS: tuple[str, ...] = ("bibliography", "csl")
"""Options holding file paths, which Quarto resolves from the folder of the file that sets them."""


def _absolute_paths(options: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Resolve the path-valued options of one metadata source against its folder."""
    result = dict(options)
    for key in PATH_OPTIONS:
        value = result.get(key)
        if isinstance(value, str):
            result[key] = str((folder / value.lstrip("/")).resolve())
        elif isinstance(value, list):
            result[key] = [str((folder / str(item).lstrip("/")).resolve()) for item in value]
    return result


def document_metadata(
    source: SourceDocument, project: ProjectContext, overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """All metadata a document sees, before choosing an output format."""
    merged = _absolute_paths(
        {key: value for key, value in project.options.items() if key != "project"}, project.root)
    doc_dir = source.path.resolve().parent
    if project.project_file is not None:
        relative = doc_dir.relative_to(project.root)
        folder = project.root
        for part in ("", *relative.parts):
            folder = folder / part if part else folder
            directory_file = folder / DIRECTORY_METADATA_FILE
            if directory_file.is_file():
                merged = merge_metadata(
                    merged, _absolute_paths(load_yaml_file(directory_file), folder))
    merged = merge_metadata(merged, _absolute_paths(source.front_matter, doc_dir))
    if overrides:
        merged = merge_metadata(merged, overrides)
    return merged


def declared_formats(metadata: dict[str, Any]) -> list[str]:
    """Outputs a document asks for in ``format:`` (html when it names none)."""
    declared = metadata.get("format")
    if declared is None:
        return ["html"]
    names: list[str]
    if isinstance(declared, str):
        names = [declared]
    elif isinstance(declared, list):
        names = [str(item) for item in declared]
    elif isinstance(declared, dict):
        names = [str(item) for item in declared]
    else:
        raise RenderError(f"format: expected a name, list or mapping, got {declared!r}")
    outputs: list[str] = []
    for name in names:
        for output, quarto_names in QUARTO_FORMAT_NAMES.items():
            if name in quarto_names and output not in outputs:
                outputs.append(output)
    return outputs or ["html"]


def format_metadata(metadata: dict[str, Any], output: str) -> dict[str, Any]:
    """Metadata for one output: top-level options with that format's own options merged on top."""
    base = {key: value for key, value in metadata.items() if key != "format"}
    declared = metadata.get("format")
    if isinstance(declared, dict):
        for name in reversed(QUARTO_FORMAT_NAMES[output]):
            options = declared.get(name)
            if isinstance(options, dict):
                base = merge_metadata(base, options)
    return base


def lookup_key(mapping: dict[str, Any] | None, dotted: str) -> tuple[bool, Any]:
    """Find ``a.b.c`` in nested mappings; ``\\.`` escapes a dot inside a key and a number picks
    a list item counting from 1 (as in Quarto).

    Returns ``(found, value)``.
    """
    if mapping is None:
        return False, None
    parts = [part.replace("\x00", ".") for part in dotted.replace("\\.", "\x00").split(".")]
    value: Any = mapping
    for part in parts:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and 1 <= int(part) <= len(value):
            value = value[int(part) - 1]  # Quarto's list indices start at 1
        else:
            return False, None
    return True, value
