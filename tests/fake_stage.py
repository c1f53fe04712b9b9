"""Fast stand-ins for the Makefile's stage commands, used by tests/test_makefile.py.

Each call appends one line naming the stage to ``$FAKE_STAGE_LOG`` and writes the file the real
stage would write. The cleaning stage is the real one (it decides which sites' fingerprints
change, which is what the graph test is about); notebooks and renders only write their output.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _log(line: str) -> None:
    with open(os.environ["FAKE_STAGE_LOG"], "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def _params(args: list[str]) -> dict[str, str]:
    return {args[i + 1]: args[i + 2] for i, a in enumerate(args) if a == "-p" and i + 2 < len(args)}


def papermill(args: list[str]) -> None:
    """``papermill IN OUT -p key value ...``"""
    notebook, output = args[0], Path(args[1])
    params = _params(args)
    stem = Path(notebook).stem + (f":{params['site']}" if "site" in params else "")
    _log(f"papermill {stem}")
    if stem == "01_clean":
        from analysis.clean.run import run_cleaning

        run_cleaning(Path(params["data_raw"]), Path(params["data_derived"]))
    if "variables_path" in params:
        variables = Path(params["variables_path"])
        if not variables.exists():
            variables.write_text("synthetic: true\n", encoding="utf-8")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("{}", encoding="utf-8")


def render(args: list[str]) -> None:
    """``render --engine E --out DIR FILE.qmd --to FORMAT``"""
    out = Path(args[args.index("--out") + 1])
    source = Path(next(a for a in args if a.endswith(".qmd")))
    fmt = args[args.index("--to") + 1]
    extension = {"revealjs": "html"}.get(fmt, fmt)
    _log(f"render {source.stem}.{extension}")
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{source.stem}.{extension}").write_text("rendered", encoding="utf-8")


def briefing(args: list[str]) -> None:
    """``briefing SITE --to FORMAT --engine E --out DIR``"""
    site, fmt, out = args[0], args[args.index("--to") + 1], Path(args[args.index("--out") + 1])
    _log(f"briefing {site}.{fmt}")
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{site}.{fmt}").write_text("rendered", encoding="utf-8")


def check(args: list[str]) -> None:
    """``output_check --outputs DIR``: one passing row per output, with the input fingerprints the
    real output check records (so ``make status`` can be tested on the stand-in build)."""
    import csv

    from analysis.core import fingerprints

    out = Path(args[args.index("--outputs") + 1])
    _log("output_check")
    built_from = fingerprints.current()
    with open(out / "output-check.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["file", "check", "result", "detail", "raw_fingerprint", "code_fingerprint"])
        for path in sorted(p for p in out.rglob("*") if p.is_file() and p.name != "output-check.csv"):
            writer.writerow([path.relative_to(out).as_posix(), "stand_in", "pass", "",
                             built_from.raw, built_from.code])
        writer.writerow([fingerprints.LOG_BUILD_FILE, fingerprints.LOG_BUILD_CHECK, "n/a",
                         built_from.detail(), built_from.raw, built_from.code])


if __name__ == "__main__":
    command, rest = sys.argv[1], sys.argv[2:]
    {"papermill": papermill, "render": render, "briefing": briefing, "check": check}[command](rest)
