"""Rendering with real Quarto when it is installed (``--engine quarto`` or ``auto``).

The offline renderer gives the same sources the same meaning for the supported subset; where
Quarto is available it is the reference implementation and is used by ``--engine auto``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from analysis.publish.render.errors import RenderError

QUARTO_VERSION = "1.8.27"
"""The Quarto release the report sources are written and tested against."""

QUARTO_TARGETS: dict[str, str] = {
    "html": "html",
    "docx": "docx",
    "pdf": "typst",
    "revealjs": "revealjs",
    "pptx": "pptx",
}
"""Quarto ``--to`` value for each output; PDF goes through Typst in both engines."""

OUTPUT_SUFFIXES: dict[str, str] = {
    "html": ".html",
    "docx": ".docx",
    "pdf": ".pdf",
    "revealjs": ".html",
    "pptx": ".pptx",
}


def find_quarto() -> str | None:
    """Path of the ``quarto`` executable on PATH, if any."""
    return shutil.which("quarto")


def quarto_version(executable: str) -> str:
    """Version reported by ``quarto --version``."""
    result = subprocess.run([executable, "--version"], capture_output=True, text=True,
                            check=True, timeout=60)
    return result.stdout.strip()


def warn_if_version_differs(executable: str) -> str:
    """Return the installed version, warning on stderr when it is not the pinned release line."""
    found = quarto_version(executable)
    pinned_line = ".".join(QUARTO_VERSION.split(".")[:2])
    if not found.startswith(pinned_line + "."):
        print(f"render: warning: quarto {found} found, sources are tested with "
              f"{QUARTO_VERSION}", file=sys.stderr)
    return found


def render_with_quarto(source: Path, output: str, work_dir: Path,
                       metadata_pairs: list[str]) -> Path:
    """Render ``source`` to one output with Quarto into ``work_dir``; return the file made."""
    executable = find_quarto()
    if executable is None:
        raise RenderError("quarto is not on PATH (use --engine offline)")
    command = [executable, "render", str(source), "--to", QUARTO_TARGETS[output],
               "--output-dir", str(work_dir)]
    for pair in metadata_pairs:
        key, _, value = pair.partition("=")
        command += ["-M", f"{key}:{value}"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=source.parent)
    if result.returncode != 0:
        raise RenderError(f"{source}: quarto render --to {QUARTO_TARGETS[output]} failed:\n"
                          f"{result.stderr.strip()}")
    candidates = sorted(work_dir.rglob(source.stem + OUTPUT_SUFFIXES[output]))
    if not candidates:
        raise RenderError(f"{source}: quarto render made no {OUTPUT_SUFFIXES[output]} file in "
                          f"{work_dir}")
    return candidates[0]
