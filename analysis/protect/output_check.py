"""Output checking before release (Five Safes "safe outputs"): one log row per output and table.

``python -m analysis.protect.output_check --outputs reports/_output [--profile study]`` checks every
file in the output folder and writes ``<outputs>/output-check.csv`` (atomically) with columns
:data:`LOG_COLUMNS`. Checks:

``identifier_scan``
    :mod:`analysis.protect.identifiers` finds nothing (locations reported, identifiers masked).
``synthetic_notice``
    Documents made from synthetic data say so ("synthetic" appears in the text).
``shortcodes``
    No unresolved Quarto shortcodes (``{{< ... >}}``) or cross-references (``?@tbl-...``).
``disclosure:<label>``
    Every table label (``tbl-...``) embedded in the document has a passing entry in the
    disclosure register; figure labels (``fig-...``) with registered counts must pass too.
``disclosure_register``
    Every register entry of the build passed, under the profile being checked.
``information_loss:<label>``
    Every count table a document shows, and every other ``tbl-`` table in the register (e.g.
    the executed site notebooks, file ``(disclosure register)``), meets the profile's target:
    at most ``max_suppressed_share`` of its count cells suppressed and never all of them (a
    table replaced by a sentence passes). Enforced (a failure naming table and profile) when the
    profile's ``loss_target`` is ``enforce``, unless the policy's ``loss_exemptions`` exempts
    the table under that profile (``n/a`` with the justification); otherwise ``n/a``.
``exemption``
    One row per table released as a study-participation count, and one per table let off the
    information-loss target by ``loss_exemptions``, with the policy's justification (an
    accepted exception, as an output checker records it).
``consent``
    One row per diary item or drawing that reached an output (through
    :func:`analysis.protect.person_level.release_items`), naming the item, its use and its consent.

Every row about a table carries its suppressed share, categories merged and modification.

Every row also records the content fingerprints the outputs were built from
(:func:`analysis.core.fingerprints.current`: ``raw_fingerprint`` of the raw export folder,
``code_fingerprint`` of the code, configuration and report sources), and one row
(``build_fingerprints``) lists every input group's fingerprint, so ``make status`` can tell
whether the outputs match the raw data and code now present.

Exits 1 when any check fails, printing a summary (file, check, location).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import re
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from analysis.core import atomic, fingerprints, paths
from analysis.protect import identifiers
from analysis.protect.policy import Policy, Profile, get_profile, load_policy
from analysis.protect.register import read_register, suppressed_share

LOG_NAME: str = "output-check.csv"
"""File name of the log inside the output folder."""

LOG_COLUMNS: tuple[str, ...] = ("file", "table", "check", "result", "detail", "profile",
                                "data_fingerprint", "synthetic", "checked_at", "raw_fingerprint",
                                "code_fingerprint", "suppressed_share", "merged_categories",
                                "modification")
"""Columns of the output-check log."""

DOCUMENT_SUFFIXES: frozenset[str] = frozenset({".html", ".htm", ".docx", ".pdf", ".pptx", ".md"})
"""Outputs that are documents (need the synthetic notice and label checks)."""

SKIP_DIRS: frozenset[str] = frozenset({"site_libs", ".quarto", "libs"})
"""Folders of rendering support files (JavaScript, CSS) that are not checked."""

_SHORTCODE = re.compile(r"\{\{<.*?>\}\}|\{\{%.*?%\}\}|\?@(?:tbl|fig|sec|eq)-[\w-]+")
_CELL_LABEL = re.compile(r"^#\|\s*label:\s*((?:tbl|fig)-[\w-]+)\s*$", re.MULTILINE)
_LABEL_HTML = re.compile(r"""\bid=["']((?:tbl|fig)-[\w-]+)["']""")
_LABEL_DOCX = re.compile(r"""w:name=["']((?:tbl|fig)-[\w-]+)["']""")


@dataclass(frozen=True)
class CheckRow:
    """One row of the output-check log."""

    file: str
    table: str
    check: str
    result: str  # "pass" | "fail" | "n/a"
    detail: str
    profile: str
    data_fingerprint: str
    synthetic: bool
    checked_at: str
    raw_fingerprint: str = ""
    code_fingerprint: str = ""
    suppressed_share: str = ""
    """Share of the table's count cells suppressed (e.g. "0.125"; "" when not a count table)."""
    merged_categories: str = ""
    """Categories merged by redesign before suppression ("" when not a count table)."""
    modification: str = ""
    """How redesign changed the table, or that it was replaced by a sentence."""


def data_fingerprint(manifest: Path | None = None) -> str:
    """The data fingerprint from ``data_derived/manifest.json`` ("unknown" when absent)."""
    target = manifest if manifest is not None else paths.data_derived() / "manifest.json"
    try:
        content = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return "unknown"
    for key in ("data_fingerprint", "raw_fingerprint", "fingerprint", "sha256", "raw_sha256"):
        value = content.get(key) if isinstance(content, dict) else None
        if isinstance(value, str) and value:
            return value
    return "unknown"


def data_are_synthetic(manifest: Path | None = None, variables: Path | None = None) -> bool:
    """Whether the build used synthetic data: ``_variables.yml`` ``synthetic``, else the manifest
    (``synthetic`` key or a DATA_RAW path under ``data_raw/synthetic``), else ``$DATA_RAW``
    unset (the shipped synthetic study is the default). When in doubt: synthetic."""
    variables_path = variables if variables is not None else paths.PROJECT_ROOT / "_variables.yml"
    try:
        content = yaml.safe_load(variables_path.read_text(encoding="utf-8")) or {}
        if isinstance(content, dict) and isinstance(content.get("synthetic"), bool):
            return bool(content["synthetic"])
    except (OSError, yaml.YAMLError):
        pass
    manifest_path = manifest if manifest is not None else paths.data_derived() / "manifest.json"
    try:
        meta = json.loads(manifest_path.read_text(encoding="utf-8"))
        if isinstance(meta.get("synthetic"), bool):
            return bool(meta["synthetic"])
        raw = str(meta.get("data_raw") or meta.get("DATA_RAW") or "")
        if raw:
            return "synthetic" in Path(raw).as_posix().lower().split("/")
    except (OSError, json.JSONDecodeError, AttributeError):
        pass
    return "DATA_RAW" not in os.environ or "synthetic" in os.environ["DATA_RAW"].lower()


def embedded_labels(path: Path) -> list[str]:
    """Quarto ``tbl-``/``fig-`` labels embedded in an output (HTML ids, Word bookmarks)."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".html", ".htm"):
            text = path.read_text(encoding="utf-8", errors="replace")
            return sorted(set(_LABEL_HTML.findall(text)))
        if suffix == ".docx":
            with zipfile.ZipFile(path) as archive:
                xml = archive.read("word/document.xml").decode("utf-8", errors="replace")
            return sorted(set(_LABEL_DOCX.findall(xml)))
    except (OSError, KeyError, zipfile.BadZipFile):
        return []
    return []


def notebook_labels(folder: Path | None = None) -> set[str]:
    """Cell labels (``#| label: ...``) in the executed notebooks under ``data_derived/notebooks``.

    A ``tbl-`` label found in an output but in none of these notebooks is a table written in a
    report source (a checklist, a contribution statement): it carries no counts from the data.
    """
    folder = folder if folder is not None else paths.data_derived() / "notebooks"
    labels: set[str] = set()
    for notebook in sorted(folder.glob("*.ipynb")):
        try:
            cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
        except (OSError, json.JSONDecodeError):
            continue
        for cell in cells:
            source = cell.get("source", "")
            text = "".join(source) if isinstance(source, list) else str(source)
            labels.update(_CELL_LABEL.findall(text))
    return labels


def _register_lookup(entries: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Entries by table name; a label also matches an entry named ``<notebook>/<label>`` etc."""
    lookup: dict[str, dict[str, Any]] = {}
    for entry in entries:
        name = str(entry.get("table", ""))
        lookup[name] = entry
        tail = re.split(r"[/:]", name)[-1]
        lookup.setdefault(tail, entry)
    return lookup


def _entry_detail(entry: dict[str, Any]) -> str:
    bits = [f"profile {entry.get('profile')}",
            f"primary {entry.get('primary_suppressed', 0)}",
            f"secondary {entry.get('secondary_suppressed', 0)}"]
    if entry.get("k_achieved") is not None:
        bits.append(f"k {entry.get('k_achieved')} (target {entry.get('k_target')})")
    if entry.get("group_disclosures"):
        bits.append(f"group disclosure: {len(entry['group_disclosures'])} row(s) "
                    f"({'; '.join(entry.get('notes', []))})")
    return ", ".join(bits)


def check_outputs(outputs: Path, *, profile: str | None = None, register: Path | None = None,
                  manifest: Path | None = None, synthetic: bool | None = None,
                  stamps: Path | None = None) -> list[CheckRow]:
    """Run every check over ``outputs``; return the log rows (the CLI writes them).

    ``stamps`` is the folder of input fingerprints (default ``data_derived/.fingerprints``).
    """
    prof = get_profile(profile)
    built_from = fingerprints.current(stamps)
    fingerprint = data_fingerprint(manifest)
    data_labels = notebook_labels()
    is_synthetic = data_are_synthetic(manifest) if synthetic is None else synthetic
    entries = read_register(register)
    lookup = _register_lookup(entries)
    stamp = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    rows: list[CheckRow] = []
    policy = load_policy()
    checked_loss: set[str] = set()

    def add(file: str, table: str, check: str, ok: bool | None, detail: str,
            entry: dict[str, Any] | None = None) -> None:
        result = "n/a" if ok is None else ("pass" if ok else "fail")
        rows.append(CheckRow(file, table, check, result, detail, prof.name, fingerprint,
                             is_synthetic, stamp, built_from.raw, built_from.code,
                             *_loss_fields(entry)))

    if not outputs.is_dir():
        add(str(outputs), "", "outputs_folder", False, "output folder does not exist")
        return rows
    files = sorted(p for p in outputs.rglob("*") if p.is_file() and p.name != LOG_NAME
                   and not any(part in SKIP_DIRS for part in p.relative_to(outputs).parts)
                   and not p.name.startswith("."))
    for path in files:
        name = path.relative_to(outputs).as_posix()
        suffix = path.suffix.lower()
        scannable = suffix in identifiers.SCANNABLE_SUFFIXES
        text = ""
        if scannable:
            try:
                hits, pieces = identifiers.read_and_scan(path, display_name=name)
                text = "\n".join(piece for _, piece in pieces)
                add(name, "", "identifier_scan", not hits,
                    "; ".join(f"{h.location}: {h.kind} {h.masked}" for h in hits[:20])
                    + (f"; ... {len(hits) - 20} more" if len(hits) > 20 else "") if hits else "no identifiers found")
            except identifiers.IdentifierScanError as exc:
                add(name, "", "identifier_scan", False, str(exc))
        else:
            add(name, "", "identifier_scan", None, f"{suffix or 'no suffix'} files are not text; "
                "check the figure's registered counts instead")
        if suffix in DOCUMENT_SUFFIXES:
            if is_synthetic:
                found = "synthetic" in text.lower()
                add(name, "", "synthetic_notice", found,
                    "says the data are synthetic" if found else "no 'synthetic' notice in the text")
            unresolved = sorted(set(_SHORTCODE.findall(text)))
            add(name, "", "shortcodes", not unresolved,
                "none unresolved" if not unresolved else "unresolved: " + ", ".join(unresolved[:10]))
        for label in embedded_labels(path):
            entry = lookup.get(label)
            if entry is None:
                if label.startswith("tbl-") and label not in data_labels:
                    add(name, label, "disclosure", None, "table written in the report source, not "
                        "embedded from a notebook: no counts from the data")
                elif label.startswith("tbl-"):
                    add(name, label, "disclosure", False,
                        "table not in the disclosure register: pass it through the output gate (outputs.py)")
                else:
                    add(name, label, "disclosure", None, "no counts registered for this figure")
                continue
            ok = bool(entry.get("passed")) and entry.get("profile") == prof.name
            detail = _entry_detail(entry)
            if entry.get("profile") != prof.name:
                detail = f"released under profile {entry.get('profile')}, checking {prof.name}; " + detail
            add(name, label, "disclosure", ok, detail, entry)
            if label.startswith("tbl-") and entry.get("kind") == "table":
                checked_loss.add(str(entry.get("table")))
                add(name, label, "information_loss", *_loss_result(entry, prof, policy), entry)
    for entry in entries:  # tables released but not embedded (e.g. the executed site notebooks)
        if (entry.get("kind") == "table" and "tbl-" in str(entry.get("table"))
                and str(entry.get("table")) not in checked_loss):
            add("(disclosure register)", str(entry.get("table")), "information_loss",
                *_loss_result(entry, prof, policy), entry)
    for entry in entries:
        exempt = policy.loss_exemption(str(entry.get("table")), prof.name)
        if exempt is not None and entry.get("kind") == "table" and not loss_target_met(entry, prof)[0]:
            add("(disclosure register)", str(entry.get("table")), "exemption", True,
                f"{LOSS_EXEMPTION}, profile {prof.name}: "
                f"{exempt.justification}", entry)
    for entry in entries:
        if entry.get("exemption"):
            add("(disclosure register)", str(entry.get("table")), "exemption", True,
                f"accepted exception, profile {entry.get('profile')}: {entry.get('exemption')}", entry)
    for entry in entries:
        ok = bool(entry.get("passed")) and entry.get("profile") == prof.name
        if not ok or entry.get("group_disclosures"):
            add("(disclosure register)", str(entry.get("table")), "disclosure_register", ok,
                _entry_detail(entry) + ("; " + "; ".join(entry.get("notes", [])) if entry.get("notes") else ""))
    for entry in entries:  # issue 13: each diary item or drawing used, with its consent
        if entry.get("kind") == "consented_items":
            for note in entry.get("notes", []):
                if note.startswith("consented item: "):
                    add("(consented items)", str(entry.get("table")), "consent", True,
                        note.removeprefix("consented item: "))
    if entries:
        add("(disclosure register)", "", "disclosure_register_summary",
            all(bool(e.get("passed")) and e.get("profile") == prof.name for e in entries),
            f"{len(entries)} table(s)/figure(s) released through the output gate (outputs.py)")
    add(fingerprints.LOG_BUILD_FILE, "", fingerprints.LOG_BUILD_CHECK, None,
        built_from.detail() or "no input fingerprints (not built by make)")
    return rows


def _loss_fields(entry: dict[str, Any] | None) -> tuple[str, str, str]:
    """The suppressed share, merged categories and modification columns of a log row."""
    if not entry or entry.get("kind") not in ("table", "figure_counts"):
        return "", "", ""
    share = suppressed_share(entry)
    modification = str(entry.get("modification") or "")
    if entry.get("exemption"):
        modification = modification or "study-participation count (exemption)"
    return ("" if share is None else f"{share:.3f}", str(int(entry.get("merged_categories") or 0)),
            modification)


LOSS_EXEMPTION: str = "accepted exception to the information-loss target"
"""How an ``exemption`` row granted by the policy's ``loss_exemptions`` begins its detail."""


def loss_target_met(entry: dict[str, Any], prof: Profile) -> tuple[bool, str]:
    """Whether a released table meets the profile's information-loss target, and why.

    A table replaced by a sentence meets it; a table released in parts (e.g. one block per
    characteristic) is measured over the count cells of its parts still shown as a table."""
    cells = int(entry.get("count_cells") or 0)
    hidden = int(entry.get("suppressed_cells") or 0)
    if cells == 0:
        return True, ("replaced by a sentence saying what can be said" if entry.get("replaced_by_sentence")
                      else "no count cells")
    share = hidden / cells
    text = (f"table {entry.get('table')}, profile {prof.name}: {hidden} of {cells} count cells "
            f"suppressed ({share:.0%}; target at most {prof.max_suppressed_share:.0%}, never all)"
            + ("; parts replaced by a sentence" if entry.get("replaced_by_sentence") else ""))
    return hidden < cells and share <= prof.max_suppressed_share + 1e-9, text


def _loss_result(entry: dict[str, Any], prof: Profile,
                 policy: Policy) -> tuple[bool | None, str]:
    """The ``information_loss`` result of a released table: pass when it meets the target;
    when it misses it, ``n/a`` under a profile that only reports the target or when the policy
    records an exemption (with its justification), else a failure that says what to do."""
    met, text = loss_target_met(entry, prof)
    if met:
        return True, text
    exempt = policy.loss_exemption(str(entry.get("table")), prof.name)
    if exempt is not None:
        return None, f"{text}; exempt by the policy's loss_exemptions: {exempt.justification}"
    if prof.loss_target != "enforce":
        return None, f"{text}; reported only (loss_target: report)"
    return False, (f"{text}: over the information-loss target and no exemption in the policy; "
                   "redesign it (a `redesign` rule in analysis/config/disclosure_policy.yml, released "
                   "through analysis.protect.outputs.release_sensitive_table) or record a justified "
                   "loss_exemptions entry")


def loss_summary(rows: Sequence[CheckRow]) -> str:
    """One line: tables shown in documents, the largest suppressed share, categories merged,
    tables redesigned or replaced, and exemptions."""
    shown = {r.table: r for r in rows if r.check == "information_loss"}
    shares = [float(r.suppressed_share) for r in shown.values() if r.suppressed_share]
    worst = max(shown.values(), key=lambda r: float(r.suppressed_share or 0), default=None)
    merged = sum(int(r.merged_categories or 0) for r in shown.values())
    redesigned = sum(1 for r in shown.values() if r.modification and "exemption" not in r.modification)
    loss_exempt = sum(1 for r in rows if r.check == "exemption" and LOSS_EXEMPTION in r.detail)
    exemptions = sum(1 for r in rows if r.check == "exemption") - loss_exempt
    missed = sum(1 for r in shown.values() if r.result == "fail")
    top = (f"largest {float(worst.suppressed_share or 0):.0%} ({worst.table})" if worst and shares
           else "largest 0%")
    return (f"information loss: {len(shown)} table(s) released, {top}, "
            f"{sum(1 for s in shares if s > 0)} with suppressed cells, {missed} over target, "
            f"{loss_exempt} exempt from it by the policy; "
            f"{merged} categories merged in {redesigned} redesigned table(s); "
            f"{exemptions} participation-count exemption(s)")


def write_log(rows: Sequence[CheckRow], target: Path) -> None:
    """Write the log CSV atomically (temporary file in the same folder, then replace)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(LOG_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(asdict(row))
    atomic.write_text(target, buffer.getvalue())


def summary(rows: Sequence[CheckRow]) -> str:
    """A readable summary: one line per failure, then the counts."""
    failures = [r for r in rows if r.result == "fail"]
    lines = [f"FAIL {r.file}{' [' + r.table + ']' if r.table else ''}: {r.check}: {r.detail}"
             for r in failures]
    files = len({r.file for r in rows})
    lines.append(loss_summary(rows))
    lines.append(f"output check: {len(rows)} check(s) on {files} file(s); "
                 f"{len(failures)} failed; profile {rows[0].profile if rows else '?'}; "
                 f"data {rows[0].data_fingerprint if rows else '?'}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: check the outputs, write the log, print a summary, exit 1 on any failure."""
    parser = argparse.ArgumentParser(prog="python -m analysis.protect.output_check",
                                     description="Check rendered outputs before release.")
    parser.add_argument("--outputs", type=Path, default=paths.reports_output())
    parser.add_argument("--profile", default=None, help="disclosure profile (default: "
                        "$DISCLOSURE_PROFILE or the policy default)")
    parser.add_argument("--register", type=Path, default=None,
                        help="disclosure register (default: $DATA_DERIVED/disclosure_register.jsonl)")
    parser.add_argument("--manifest", type=Path, default=None)
    parser.add_argument("--synthetic", choices=("auto", "yes", "no"), default="auto")
    args = parser.parse_args(argv)
    synthetic = None if args.synthetic == "auto" else args.synthetic == "yes"
    rows = check_outputs(args.outputs, profile=args.profile, register=args.register,
                         manifest=args.manifest, synthetic=synthetic)
    if args.outputs.is_dir():
        write_log(rows, args.outputs / LOG_NAME)
    print(summary(rows))
    return 1 if any(r.result == "fail" for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
