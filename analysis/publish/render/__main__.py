"""Command line: ``python -m analysis.publish.render FILE.qmd --to html,docx --out reports/_output``.

Also ``python -m analysis.publish.render check PATH...`` (exit status 1 when a source is outside the
supported subset) and ``python -m analysis.publish.render reference-docx`` (rebuild the Word template).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis.publish.render.check import check_sources
from analysis.publish.render.engine import ENGINES, render
from analysis.publish.render.errors import RenderError
from analysis.publish.render.project import OUTPUT_FORMATS
from analysis.publish.render.templates import REFERENCE_DOCX, build_reference_docx


def _formats(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in OUTPUT_FORMATS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown format(s) {', '.join(unknown)}; choose from {', '.join(OUTPUT_FORMATS)}")
    return names


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "check":
        parser = argparse.ArgumentParser(
            prog="python -m analysis.publish.render check",
            description="Check .qmd sources against the supported Quarto subset.")
        parser.add_argument("paths", nargs="+", type=Path, help=".qmd files or folders")
        args = parser.parse_args(argv[1:])
        problems = check_sources(args.paths)
        for problem in problems:
            print(problem)
        print(f"check: {len(problems)} problem(s)", file=sys.stderr)
        return 1 if problems else 0
    if argv and argv[0] == "reference-docx":
        parser = argparse.ArgumentParser(prog="python -m analysis.publish.render reference-docx",
                                         description="Rebuild the DOCX reference document.")
        parser.add_argument("--out", type=Path, default=REFERENCE_DOCX)
        args = parser.parse_args(argv[1:])
        print(build_reference_docx(args.out))
        return 0
    parser = argparse.ArgumentParser(
        prog="python -m analysis.publish.render",
        description="Render a Quarto source offline (pandoc + typst) or with Quarto. "
                    "Subcommands: `check PATH...`, `reference-docx`.")
    parser.add_argument("source", type=Path, help="the .qmd file to render")
    parser.add_argument("--to", type=_formats, default=None,
                        help=f"comma-separated outputs from {','.join(OUTPUT_FORMATS)} "
                             "(default: the formats the source declares)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default reports/_output)")
    parser.add_argument("--engine", choices=ENGINES, default="auto",
                        help="quarto if installed (auto), or force one engine")
    parser.add_argument("-M", "--metadata", action="append", default=[], metavar="KEY=VALUE",
                        help="metadata override, as Quarto's -M (repeatable)")
    args = parser.parse_args(argv)
    try:
        results = render(args.source, args.to, args.out, engine=args.engine,
                         metadata=args.metadata)
    except RenderError as exc:
        print(f"render: error: {exc}", file=sys.stderr)
        return 1
    for item in results:
        print(item.path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
