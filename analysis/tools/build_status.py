"""``make status``: do the outputs in ``reports/_output/`` match the raw data and code now present?

The output check records, on every row of ``output-check.csv``, the content fingerprints the
outputs were built from (``raw_fingerprint``, ``code_fingerprint``) and, in one
``build_fingerprints`` row, every input group's fingerprint (see :mod:`analysis.core.fingerprints`).
:func:`status` compares them with the stamps ``make`` has just written for the files now present,
and says in a few lines whether the outputs are current, and if not, what changed:

    outputs:  reports/_output, checked 2024-06-30T10:00:00+00:00 (412 checks, 0 failed)
    raw data: current: data_raw/synthetic (183 files) [9de71c9e8a7f]
    code:     CHANGED since the outputs were built: report sources
    NOT CURRENT: run `make` before sending any output.

``python -m analysis.tools.build_status --dir data_derived/.fingerprints --log reports/_output/output-check.csv
-- --tree raw DATA_RAW --group ...`` (what ``make status`` runs, with the Makefile's groups)
fingerprints the inputs now present without rewriting any stamp, so asking changes nothing that
``make`` decides, and exits 0 when the outputs are current and 1 when they are not. Standard
library only, like :mod:`analysis.core.fingerprints`.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from analysis.core import fingerprints as fp


@dataclass(frozen=True)
class Status:
    """Whether the outputs match the raw data and code now present, and the lines saying so."""

    current: bool
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Recorded:
    """What an output-check log records about the build it checked (``files``: the outputs it
    lists, leaving out pseudo-files such as ``(disclosure register)`` and files in hidden build
    folders, which renderers remove when they finish)."""

    rows: int
    failed: int
    checked_at: str
    raw: frozenset[str]
    code: frozenset[str]
    groups: dict[str, str]
    files: tuple[str, ...]


def read_log(log: Path) -> Recorded:
    """Read the output-check log (raises OSError when it cannot be read)."""
    with open(log, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    build_row = next((r for r in rows if r.get("check") == fp.LOG_BUILD_CHECK), None)
    return Recorded(
        rows=len(rows),
        failed=sum(r.get("result") == "fail" for r in rows),
        checked_at=next((str(r["checked_at"]) for r in rows if r.get("checked_at")), "at an unknown time"),
        raw=frozenset(r.get("raw_fingerprint") or "" for r in rows),
        code=frozenset(r.get("code_fingerprint") or "" for r in rows),
        groups=fp.BuildFingerprints.parse_detail(build_row.get("detail") or "") if build_row else {},
        files=tuple(sorted({str(r["file"]) for r in rows if r.get("file")
                            and not str(r["file"]).startswith("(")
                            and not any(part.startswith(".") for part in str(r["file"]).split("/"))})),
    )


def _short(digest: str) -> str:
    return digest[:12]


def _shown(folder: str) -> str:
    try:
        return os.path.relpath(folder) if Path(folder).resolve().is_relative_to(Path.cwd()) else folder
    except (OSError, ValueError):
        return folder


def _listing(names: Sequence[str], limit: int = 6) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def status(stamp_dir: Path, log: Path, outputs: Path | None = None,
           inputs: Sequence[fp.GroupFingerprint] | None = None) -> Status:
    """Compare the fingerprints recorded in the output-check log with those of the inputs now
    present: ``inputs`` when given (``make status`` fingerprints them without writing a stamp,
    so asking changes nothing make decides), else the stamps in ``stamp_dir``.

    The outputs are current when the log exists, records the raw and code fingerprints of the
    inputs now present, reports no failed check, and no output it lists is missing or was
    written after it.
    """
    outputs = Path(outputs) if outputs is not None else log.parent
    if inputs is None:
        now = fp.current(stamp_dir)
        raw_stamp = fp.read_stamp(Path(stamp_dir) / (fp.RAW_GROUP + fp.STAMP_SUFFIX)) or {}
    else:
        now = fp.combine({group.name: group.digest for group in inputs})
        raw = next((g for g in inputs if g.name == fp.RAW_GROUP), None)
        raw_stamp = {"root": raw.root, "files": raw.files} if raw else {}
    try:
        recorded = read_log(log)
        log_time = log.stat().st_mtime
    except OSError:
        return Status(False, (f"outputs:  no output-check log ({log}): nothing has been built and "
                              "checked yet", "NOT CURRENT: run `make`."))
    lines = [f"outputs:  {_shown(str(outputs))}, checked {recorded.checked_at} ({recorded.rows} "
             f"checks, {recorded.failed} failed{': see ' + log.name if recorded.failed else ''})"]
    ok = recorded.failed == 0 and recorded.rows > 0
    raw_files = raw_stamp.get("files")
    where = (f"{_shown(str(raw_stamp.get('root', '?')))} "
             f"({len(raw_files) if isinstance(raw_files, dict) else '?'} files)")
    if recorded.raw == {""} or recorded.code == {""}:
        lines.append("inputs:   the log records no input fingerprints (made before they were "
                     "recorded, or not by make)")
        ok = False
    else:
        if recorded.raw == {now.raw}:
            lines.append(f"raw data: current: {where} [{_short(now.raw)}]")
        else:
            lines.append(f"raw data: CHANGED since the outputs were built: {where} is "
                         f"[{_short(now.raw)}], the outputs were built from "
                         f"[{', '.join(_short(r) for r in sorted(recorded.raw))}]")
            ok = False
        if recorded.code == {now.code}:
            lines.append(f"code:     current [{_short(now.code)}]")
        else:
            changed = sorted(g for g in set(recorded.groups) | set(now.groups)
                             if g != fp.RAW_GROUP and recorded.groups.get(g) != now.groups.get(g))
            what = _listing([fp.GROUP_LABELS.get(g, g) for g in changed]) or "which part is not recorded"
            lines.append(f"code:     CHANGED since the outputs were built: {what}")
            ok = False
    missing = [name for name in recorded.files if not (outputs / name).is_file()]
    newer = [name for name in recorded.files
             if (outputs / name).is_file() and (outputs / name).stat().st_mtime > log_time]
    if missing:
        lines.append(f"missing:  {_listing(missing)}")
    if newer:
        lines.append(f"changed after the output check: {_listing(newer)}")
    ok = ok and not missing and not newer
    lines.append("CURRENT: the outputs were built and checked from the raw data and code now present."
                 if ok else "NOT CURRENT: run `make` before sending any output.")
    return Status(ok, tuple(lines))


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: print the status; exit 0 when the outputs are current, 1 when not."""
    parser = argparse.ArgumentParser(prog="python -m analysis.tools.build_status",
                                     description="Do the outputs match the inputs now present?")
    parser.add_argument("--dir", type=Path, required=True, help="stamp folder (data_derived/.fingerprints)")
    parser.add_argument("--log", type=Path, required=True, help="output-check log")
    parser.add_argument("--outputs", type=Path, default=None, help="output folder (default: the log's)")
    parser.add_argument("groups", nargs=argparse.REMAINDER,
                        help="after --: the Makefile's --tree/--group arguments, to fingerprint the "
                             "inputs now present (default: read the stamps)")
    args = parser.parse_args(argv)
    inputs = None
    spec = args.groups[1:] if args.groups[:1] == ["--"] else args.groups
    if spec:
        try:
            _, trees, groups = fp.parse_groups(spec)
            inputs = fp.fingerprint_all(args.dir, trees, groups)
        except (fp.FingerprintError, OSError) as exc:
            print(f"status: {exc}", file=sys.stderr)
            return 1
    result = status(args.dir, args.log, args.outputs, inputs)
    print("\n".join(result.lines))
    return 0 if result.current else 1


if __name__ == "__main__":
    sys.exit(main())
