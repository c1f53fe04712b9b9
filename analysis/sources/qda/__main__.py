"""Command line for REFI-QDA files.

``python -m analysis.sources.qda summary FILE`` (``.qdpx``, ``.qde`` or ``.qdc``) validates the file and
prints what it holds and which deviations were tolerated; exit status 1 with a clear message when
the file cannot be read. ``python -m analysis.sources.qda codebook FILE --out X.qdc`` writes the file's
codebook as a ``.qdc``. ``python -m analysis.sources.qda export FILE.qdpx --out DIR [--map qda_map.csv]``
writes the raw CSV form the cleaning stage reads (codebook, segments, transcripts, memos).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from analysis.sources.qda.errors import DataValidationError, QdaWarning
from analysis.sources.qda.model import codebook_frame
from analysis.sources.qda.read import read_coded_data, read_project
from analysis.sources.qda.summary import summarise
from analysis.sources.qda.write import write_qdc

CODEBOOK_ORIGIN = "Stepping Stones analysis pipeline (analysis.sources.qda)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis.sources.qda", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    summary = commands.add_parser("summary", help="validate a .qdpx/.qde/.qdc and describe it")
    summary.add_argument("file", type=Path)
    codebook = commands.add_parser("codebook", help="write a file's codebook as a .qdc")
    codebook.add_argument("file", type=Path)
    codebook.add_argument("--out", type=Path, required=True, help="the .qdc to write")
    export = commands.add_parser("export", help="write a .qdpx as the raw CSV export form")
    export.add_argument("file", type=Path)
    export.add_argument("--out", type=Path, required=True, help="folder to write into")
    export.add_argument("--map", type=Path, default=None, help="qda_map.csv (optional)")
    for sub in (summary, codebook, export):
        sub.add_argument("--lenient", action="store_true",
                         help="report unknown schema violations as deviations, not errors")
    return parser


def _export(args: argparse.Namespace) -> list[str]:
    data = read_coded_data(args.file, args.map, strict=not args.lenient)
    out: Path = args.out
    (out / "transcripts").mkdir(parents=True, exist_ok=True)
    tables = {"codebook.csv": data.codebook, "coded_segments.csv": data.women_segments,
              "professional_segments.csv": data.professional_segments,
              "documents.csv": data.documents, "memos.csv": data.memos}
    for name, table in tables.items():
        table.to_csv(out / name, index=False, lineterminator="\n", encoding="utf-8")
    for document, text in data.transcripts.items():
        (out / "transcripts" / f"{document}.txt").write_text(text, encoding="utf-8", newline="")
    print(f"wrote {len(tables)} tables and {len(data.transcripts)} transcripts to {out}")
    return data.deviations


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 unreadable file, 2 usage)."""
    args = _parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QdaWarning)  # deviations are printed below instead
        try:
            if args.command == "summary":
                print(summarise(read_project(args.file, strict=not args.lenient)))
                return 0
            if args.command == "codebook":
                project = read_project(args.file, strict=not args.lenient)
                not_codable = project.codes.loc[~project.codes["is_codable"], "code"]
                write_qdc(codebook_frame(project), args.out, origin=CODEBOOK_ORIGIN,
                          not_codable=list(not_codable))
                print(f"wrote {len(project.codes)} codes to {args.out}")
                deviations = project.deviations
            else:
                deviations = _export(args)
        except DataValidationError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    for message in deviations:
        print(f"warning: tolerated deviation: {message}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
