"""Render a Quarto source to html, docx, pdf, revealjs and pptx, offline or with Quarto.

The offline engine: check the source against the supported subset, merge project and document
metadata, expand shortcodes (embedding notebook outputs), then run pandoc 3.9 with the
``quarto_subset.lua`` filter and this project's templates; PDF goes through pandoc's Typst
writer and the ``typst`` Python binding. Every output is written to a temporary folder next to
its destination, verified, and only then moved into place, so a failed render never leaves a
half-written file.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typst
import vl_convert
import yaml

from analysis.core.paths import reports_output
from analysis.publish.render import outputs, quarto
from analysis.publish.render.check import check_source
from analysis.publish.render.errors import RenderError
from analysis.publish.render.project import (
    OUTPUT_FORMATS, declared_formats, document_metadata, format_metadata, load_project,
    parse_metadata_overrides, split_front_matter,
)
from analysis.publish.render.shortcodes import (
    ExpandedSource, expand_source, resolve_metadata_shortcodes,
)
from analysis.publish.render.templates import (
    FIXED_TIMESTAMP, HTML_CSS, HTML_TEMPLATE, LUA_FILTER, OFFICE_METADATA_FILTER, REFERENCE_DOCX,
    REVEALJS_CSS, REVEALJS_DIR, TYPST_TEMPLATE, pandoc_path,
)

SYNTHETIC_NOTICE = "SYNTHETIC DATA - not study findings"
"""Footer line on every output made from synthetic data."""

ENGINES = ("auto", "quarto", "offline")

OUTPUT_NAMES: dict[str, str] = {
    "html": "{stem}.html",
    "docx": "{stem}.docx",
    "pdf": "{stem}.pdf",
    "revealjs": "{stem}.html",
    "pptx": "{stem}.pptx",
}
"""Output file name per format. A source rendered to both html and revealjs in one call gets
``{stem}-slides.html`` for the deck, so the two never overwrite each other."""

INTERNAL_METADATA = frozenset({"format", "project", "toc", "toc-depth", "synthetic-notice"})

VEGA_INIT = """
for (const view of document.querySelectorAll('.vega-view')) {
  const specElement = document.getElementById(view.id + '-spec');
  const fallback = view.parentElement.querySelector('img.vega-fallback');
  try {
    const spec = JSON.parse(specElement.textContent);
    window.vegaEmbed(view, spec, {actions: false, renderer: 'svg'})
      .then(() => { if (fallback) { fallback.hidden = true; } view.dataset.rendered = 'true'; })
      .catch((error) => { console.error(error); view.remove(); });
  } catch (error) {
    console.error(error);
    view.remove();
  }
}
"""


@dataclass(frozen=True)
class RenderedOutput:
    """One file a render made."""

    output: str
    path: Path
    engine: str


def vegalite_library_version(specs: list[dict[str, Any]]) -> str | None:
    """The newest Vega-Lite release vl-convert bundles with the major version the specs'
    ``$schema`` names (e.g. ``5.21`` for ``.../vega-lite/v5.json``); None for the newest."""
    majors = set()
    for spec in specs:
        match = re.search(r"/vega-lite/v(\d+)", str(spec.get("$schema", "")))
        if match:
            majors.add(match.group(1))
    if len(majors) != 1:
        return None
    major = majors.pop()
    available = [version for version in vl_convert.get_vegalite_versions()
                 if version.split(".")[0] == major]
    if not available:
        return None
    return max(available, key=lambda version: tuple(int(part) for part in version.split(".")))


def _vega_include(work_dir: Path, specs: list[dict[str, Any]]) -> Path:
    """HTML fragment with the Vega, Vega-Lite and Vega-Embed bundle (inlined, no CDN)."""
    version = vegalite_library_version(specs)
    bundle = (vl_convert.javascript_bundle(vl_version=f"v{version}") if version
              else vl_convert.javascript_bundle())
    bundle = bundle.replace("</script", "<\\/script")
    fragment = work_dir / "vega-embed.html"
    fragment.write_text(f'<script type="module">\n{bundle}\n{VEGA_INIT}\n</script>\n',
                        encoding="utf-8")
    return fragment


def _language(metadata: dict[str, Any]) -> tuple[str, str | None]:
    """Split ``lang`` (e.g. ``en-GB``) into language and region."""
    lang = str(metadata.get("lang", "en"))
    parts = lang.replace("_", "-").split("-")
    region = parts[1].upper() if len(parts) > 1 and len(parts[1]) == 2 else None
    return parts[0].lower(), region


def footer_text(metadata: dict[str, Any], variables: dict[str, Any] | None) -> tuple[
    str | None, str | None
]:
    """The synthetic-data notice (if the data are synthetic) and the footer line for outputs.

    ``synthetic`` is read from the document metadata, else from ``_variables.yml``; the
    metadata key ``footer`` adds a line of its own.
    """
    synthetic = metadata.get("synthetic")
    if synthetic is None and variables is not None:
        synthetic = variables.get("synthetic")
    notice = str(metadata.get("synthetic-notice", SYNTHETIC_NOTICE)) if synthetic is True else None
    footer = metadata.get("footer")
    parts = [part for part in (notice, str(footer) if footer else None) if part]
    if notice and footer and notice in str(footer):
        parts = [str(footer)]
    return notice, " · ".join(parts) if parts else None


def with_synthetic_flag(metadata: dict[str, Any],
                        variables: dict[str, Any] | None) -> dict[str, Any]:
    """``metadata`` with ``synthetic`` taken from ``_variables.yml`` when the document does not
    set it (the rule of :func:`footer_text`), so ``when-meta="synthetic"`` agrees with the footer.

    Only a true/false ``synthetic`` variable is copied; the input mapping is not changed.
    """
    if "synthetic" in metadata or variables is None:
        return metadata
    flag = variables.get("synthetic")
    if not isinstance(flag, bool):
        return metadata
    return {**metadata, "synthetic": flag}


def _pandoc_metadata(metadata: dict[str, Any], output: str, doc_dir: Path,
                     typst_root: Path | None, notice: str | None,
                     footer: str | None, stem: str) -> dict[str, Any]:
    """Metadata file contents handed to pandoc for one output."""
    result = {key: value for key, value in metadata.items() if key not in INTERNAL_METADATA}
    result["render-format"] = output
    result["render-docdir"] = str(doc_dir)
    if typst_root is not None:
        result["render-typst-root"] = str(typst_root)
    result.setdefault("lang", "en")
    lang, region = _language(result)
    result["typst-lang"] = lang
    if region:
        result["typst-region"] = region
    if notice:
        result["synthetic-notice"] = notice
    if footer:
        result["footer-text"] = footer
    if "title" not in result:
        result["pagetitle"] = stem
    if metadata.get("toc-title"):
        result["toc-title"] = metadata["toc-title"]
    return result


def _pandoc_arguments(output: str, metadata: dict[str, Any], work_dir: Path,
                      vega_specs: list[dict[str, Any]], notice: str | None) -> list[str]:
    """Command-line options of pandoc for one output."""
    toc = bool(metadata.get("toc", False))
    depth = str(metadata.get("toc-depth", 3))
    arguments = ["--from", "markdown", "--standalone", "--lua-filter", str(LUA_FILTER)]
    if metadata.get("bibliography"):
        arguments.append("--citeproc")  # after the filter, which resolves @fig-/@tbl- first
    if output in ("docx", "pptx"):
        arguments += ["--lua-filter", str(OFFICE_METADATA_FILTER)]  # after citeproc, which reads the paths
    if output == "html":
        arguments += ["--to", "html5", "--template", str(HTML_TEMPLATE), "--css", str(HTML_CSS),
                      "--embed-resources", "--section-divs", "--mathml"]
        if toc:
            arguments += ["--toc", "--toc-depth", depth]
        if vega_specs:
            arguments += ["--include-after-body", str(_vega_include(work_dir, vega_specs))]
    elif output == "revealjs":
        if not (REVEALJS_DIR / "dist" / "reveal.js").is_file():
            raise RenderError(
                f"reveal.js is not installed in {REVEALJS_DIR}; run `npm install --no-save "
                "--no-audit --no-fund reveal.js@5` in the project folder"
            )
        arguments += ["--to", "revealjs", "--embed-resources", "--mathml",
                      "-V", f"revealjs-url={REVEALJS_DIR}",
                      "-V", f"theme={metadata.get('theme', 'white')}",
                      "--css", str(REVEALJS_CSS)]
        if metadata.get("slide-level") is not None:
            arguments += ["--slide-level", str(metadata["slide-level"])]
        for key in ("width", "height"):
            value = metadata.get(key)
            if isinstance(value, str) and not re.fullmatch(r"\d+(?:\.\d+)?", value.strip()):
                # a size like 53% is a string in reveal.js's configuration, quoted as Quarto does
                arguments += ["-V", f"{key}='{value.strip()}'"]
        if notice:
            footer = work_dir / "slides-footer.html"
            footer.write_text(f'<div class="synthetic-footer" role="note"><span>'
                              f"{html.escape(notice)}</span></div>\n", encoding="utf-8")
            arguments += ["--include-after-body", str(footer)]
        if vega_specs:
            arguments += ["--include-after-body", str(_vega_include(work_dir, vega_specs))]
    elif output == "docx":
        arguments += ["--to", "docx", "--reference-doc", str(REFERENCE_DOCX)]
        if toc:
            arguments += ["--toc", "--toc-depth", depth]
    elif output == "pdf":
        arguments += ["--to", "typst", "--template", str(TYPST_TEMPLATE)]
        if toc:
            arguments += ["--toc", "--toc-depth", depth]
    elif output == "pptx":
        arguments += ["--to", "pptx"]
        if metadata.get("slide-level") is not None:
            arguments += ["--slide-level", str(metadata["slide-level"])]
    else:
        raise RenderError(f"unknown output format {output!r} (use {', '.join(OUTPUT_FORMATS)})")
    return arguments


def run_pandoc(arguments: list[str], cwd: Path, source: Path,
               expanded: ExpandedSource | None = None) -> None:
    """Run pandoc; a failure or a citation missing from the bibliography becomes a
    RenderError naming the source (and line)."""
    environment = dict(os.environ)
    environment["SOURCE_DATE_EPOCH"] = str(int(FIXED_TIMESTAMP.timestamp()))
    result = subprocess.run([pandoc_path(), *arguments], cwd=cwd, capture_output=True,
                            text=True, env=environment)
    if result.returncode != 0:
        raise RenderError(f"{source}: pandoc failed: {result.stderr.strip()}")
    warnings = [line for line in result.stderr.splitlines() if line.strip()]
    missing = [match.group(1) for line in warnings
               for match in [re.search(r"Citeproc: citation (\S+) not found", line)] if match]
    if missing:
        where = expanded.locate("@" + missing[0]) if expanded is not None else str(source)
        raise RenderError(f"{where}: citation(s) not in the bibliography: "
                          + ", ".join("@" + key for key in missing))
    for line in warnings:
        print(f"render: pandoc: {line}", file=sys.stderr)


def pdf_font_dir() -> Path:
    """The folder of the DejaVu fonts every PDF is set in: matplotlib's copy (a pinned package).

    Typst is told to ignore the machine's fonts, so a PDF does not change with what happens to be
    installed (a machine with Liberation Sans would otherwise lay the briefings out differently
    from one without).
    """
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def compile_typst(typ_file: Path, pdf_file: Path, root: Path) -> None:
    """Compile Typst to PDF with a fixed timestamp and fonts from the environment, not the
    machine (same input, same PDF on every machine)."""
    try:
        typst.compile(str(typ_file), output=str(pdf_file), root=str(root),
                      timestamp=int(FIXED_TIMESTAMP.timestamp()),
                      font_paths=[str(pdf_font_dir())], ignore_system_fonts=True)
    except Exception as exc:  # the binding raises its own error types
        raise RenderError(f"{typ_file}: typst failed: {exc}") from exc


def render_offline(source_path: Path, output: str, work_dir: Path,
                   overrides: dict[str, Any]) -> tuple[Path, str | None, dict[str, str]]:
    """Make one output with the offline engine inside ``work_dir``; return it, its footer line
    and the alt text of each image path."""
    source = split_front_matter(source_path)
    project = load_project(source_path)
    metadata = format_metadata(document_metadata(source, project, overrides), output)
    metadata = with_synthetic_flag(metadata, project.variables)
    metadata = resolve_metadata_shortcodes(metadata, project.variables, source_path)
    doc_dir = source_path.resolve().parent
    expanded = expand_source(
        source.body, source_path, source.body_first_line,
        project_root=project.root, variables=project.variables, metadata=metadata,
        media_dir=work_dir / "media",
    )
    notice, footer = footer_text(metadata, project.variables)
    typst_root = Path(os.path.commonpath([project.root, work_dir.resolve(), doc_dir]))
    pandoc_meta = _pandoc_metadata(metadata, output, doc_dir,
                                   typst_root if output == "pdf" else None, notice, footer,
                                   source_path.stem)
    (work_dir / "metadata.yaml").write_text(yaml.safe_dump(pandoc_meta, allow_unicode=True),
                                            encoding="utf-8")
    (work_dir / "source.md").write_text(expanded.markdown, encoding="utf-8")
    vega_specs = [cell.vegalite for cell in expanded.embedded if cell.vegalite is not None]
    arguments = _pandoc_arguments(output, metadata, work_dir, vega_specs, notice)
    resource_path = os.pathsep.join([str(doc_dir), str(work_dir), str(project.root)])
    suffix = {"html": ".html", "revealjs": ".html", "docx": ".docx", "pdf": ".typ",
              "pptx": ".pptx"}[output]
    pandoc_output = work_dir / f"output{suffix}"
    arguments += ["--metadata-file", str(work_dir / "metadata.yaml"),
                  "--resource-path", resource_path, "--output", str(pandoc_output),
                  str(work_dir / "source.md")]
    run_pandoc(arguments, cwd=doc_dir, source=source_path, expanded=expanded)
    if output == "pdf":
        pdf_file = work_dir / "output.pdf"
        compile_typst(pandoc_output, pdf_file, typst_root)
        pandoc_output = pdf_file
    return pandoc_output, footer, outputs.alt_text_by_image(expanded.markdown)


def _finish(made: Path, output: str, source: Path, footer: str | None,
            alt_texts: dict[str, str], notice: str | None = None) -> None:
    """Stamp Office footers, the synthetic notice on a Word title page, and alt text; then verify
    the made file."""
    if output == "docx":
        outputs.finalise_docx(made, footer, title_notice=notice)
    elif output == "pptx":
        outputs.finalise_pptx(made, footer, alt_texts)
    outputs.verify_output(made, output, source, footer)


def choose_engine(engine: str) -> str:
    """Resolve ``auto`` to ``quarto`` (when on PATH) or ``offline`` and say which, once."""
    if engine not in ENGINES:
        raise RenderError(f"unknown engine {engine!r} (use {', '.join(ENGINES)})")
    if engine == "auto":
        executable = quarto.find_quarto()
        if executable is None:
            print("render: engine offline (quarto not found on PATH)", file=sys.stderr)
            return "offline"
        version = quarto.warn_if_version_differs(executable)
        print(f"render: engine quarto {version} ({executable})", file=sys.stderr)
        return "quarto"
    if engine == "quarto":
        executable = quarto.find_quarto()
        if executable is None:
            raise RenderError("--engine quarto but quarto is not on PATH")
        version = quarto.warn_if_version_differs(executable)
        print(f"render: engine quarto {version} ({executable})", file=sys.stderr)
        return "quarto"
    print("render: engine offline (pandoc + typst)", file=sys.stderr)
    return "offline"


def render(
    source: Path | str,
    formats: list[str] | None = None,
    out_dir: Path | str | None = None,
    *,
    engine: str = "auto",
    metadata: list[str] | None = None,
    project_rules: bool = True,
) -> list[RenderedOutput]:
    """Render one Quarto source to the given outputs (default: the formats it declares).

    ``metadata`` holds ``key=value`` strings like Quarto's ``-M``. The source is checked
    against the supported subset first (``project_rules=False`` waives the project's own
    accessibility rule, for the conformance suite); every output is verified before it is moved
    into ``out_dir`` (default ``reports/_output``).
    """
    source_path = Path(source).resolve()
    if not source_path.is_file():
        raise RenderError(f"{source}: no such file")
    problems = check_source(source_path, project_rules=project_rules,
                            outputs=list(formats) if formats else None)
    if problems:
        raise RenderError("source is outside the supported Quarto subset:\n"
                          + "\n".join(str(problem) for problem in problems))
    overrides = parse_metadata_overrides(metadata or [])
    if not formats:
        front = split_front_matter(source_path)
        formats = declared_formats(document_metadata(front, load_project(source_path),
                                                     overrides))
    unknown = [name for name in formats if name not in OUTPUT_FORMATS]
    if unknown:
        raise RenderError(f"unknown output format(s) {unknown} (use {', '.join(OUTPUT_FORMATS)})")
    chosen = choose_engine(engine)
    target_dir = (Path(out_dir) if out_dir is not None else reports_output()).resolve()
    target_dir.mkdir(parents=True, exist_ok=True)
    results: list[RenderedOutput] = []
    for output in formats:
        work_dir = Path(tempfile.mkdtemp(prefix=f".render-{source_path.stem}-{output}-",
                                         dir=target_dir))
        try:
            project = load_project(source_path)
            merged = format_metadata(
                document_metadata(split_front_matter(source_path), project, overrides), output)
            notice, quarto_footer = footer_text(merged, project.variables)
            if chosen == "offline":
                made, footer, alt_texts = render_offline(source_path, output, work_dir,
                                                         overrides)
            else:
                pairs = list(metadata or [])
                flagged = with_synthetic_flag(merged, project.variables)
                if "synthetic" not in merged and "synthetic" in flagged:
                    pairs.append(f"synthetic={str(flagged['synthetic']).lower()}")
                made = quarto.render_with_quarto(source_path, output, work_dir, pairs)
                footer, alt_texts = quarto_footer, {}
            _finish(made, output, source_path, footer, alt_texts, notice)
            name = OUTPUT_NAMES[output]
            if output == "revealjs" and "html" in formats:
                name = "{stem}-slides.html"
            final = target_dir / name.format(stem=source_path.stem)
            os.replace(made, final)  # same folder tree, so the move is atomic
            results.append(RenderedOutput(output, final, chosen))
            print(f"render: wrote {final}", file=sys.stderr)
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
    return results


def describe(results: list[RenderedOutput]) -> str:
    """A JSON summary of rendered files (for logs)."""
    return json.dumps([{"output": item.output, "path": str(item.path), "engine": item.engine}
                       for item in results], indent=2)
