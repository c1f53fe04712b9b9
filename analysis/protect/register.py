"""The disclosure register: one entry per table released under disclosure control.

Owns ``data_derived/disclosure_register.jsonl`` (``$DISCLOSURE_REGISTER``): each release records
its table name, profile, cells suppressed and rounded, and the rule applied; the output check
(:mod:`analysis.protect.output_check`) reads the register into ``output-check.csv``. Writes the
register; reads nothing else.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal


from analysis.core import paths
from analysis.protect.policy import DisclosureError

NOTEBOOK_ENV: str = "PAPERMILL_NOTEBOOK"
"""Environment variable: the stage notebook whose run records the entries (set by the stage
runner, :mod:`analysis.tools.stage`, e.g. ``02_site_profile_glasgow``)."""

REGISTER_ENV: str = "DISCLOSURE_REGISTER"
"""Environment variable: path of the JSON-lines register (default ``$DATA_DERIVED/disclosure_register.jsonl``).
Set it to ``off`` to keep entries in memory only."""


@dataclass
class RegisterEntry:
    """What one release call did; one JSON line in the disclosure register."""

    table: str
    kind: Literal["table", "figure_counts", "participant_level", "reference"]
    profile: str
    passed: bool
    cells: int = 0
    primary_suppressed: int = 0
    secondary_suppressed: int = 0
    rounded: bool = False
    group_disclosures: list[str] = field(default_factory=list)
    k_target: int | None = None
    k_achieved: int | None = None
    generalised: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    count_cells: int = 0
    """Count cells the released table shows (interior and any total row/column)."""
    suppressed_cells: int = 0
    """Of those, cells shown as a marker instead of a count."""
    merged_categories: int = 0
    """Categories merged away by redesign (e.g. 5 placements -> 2 is 3)."""
    modification: str = ""
    """How redesign changed the table (for the report's footnote and the output check)."""
    exemption: str = ""
    """Justification when the table was released as a study-participation count."""
    replaced_by_sentence: bool = False
    """Whether no design met the target and the table was replaced by a sentence."""
    notebook: str = ""
    """The stage notebook whose run recorded the entry (``$PAPERMILL_NOTEBOOK``; empty outside
    a stage)."""
    pid: int = 0
    time: float = 0.0


_REGISTER: list[RegisterEntry] = []

_REGISTER_LOCK = threading.Lock()


def register_path() -> Path | None:
    """Where the register is appended to, or ``None`` when ``$DISCLOSURE_REGISTER=off``."""
    value = os.environ.get(REGISTER_ENV)
    if value and value.lower() == "off":
        return None
    return Path(value) if value else paths.data_derived() / "disclosure_register.jsonl"


def record(entry: RegisterEntry) -> RegisterEntry:
    """Add an entry to this process's register and append it to the register file.

    Each line is written with a single ``write`` on a file opened in append mode, so entries
    from several notebook processes of one build interleave whole lines.
    """
    entry.pid = os.getpid()
    entry.time = time.time()
    entry.notebook = entry.notebook or os.environ.get(NOTEBOOK_ENV, "")
    with _REGISTER_LOCK:
        _REGISTER.append(entry)
        target = register_path()
        if target is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            line = json.dumps(asdict(entry), sort_keys=True) + "\n"
            with open(target, "a", encoding="utf-8") as handle:
                handle.write(line)
    return entry


def session_register() -> list[RegisterEntry]:
    """A copy of the entries recorded by this process."""
    with _REGISTER_LOCK:
        return list(_REGISTER)


def reset_register(*, delete_file: bool = False) -> None:
    """Forget this process's entries; with ``delete_file`` also remove the register file
    (do this once at the start of a build)."""
    with _REGISTER_LOCK:
        _REGISTER.clear()
        target = register_path()
        if delete_file and target is not None and target.exists():
            target.unlink()


def suppressed_share(entry: Mapping[str, Any] | RegisterEntry) -> float | None:
    """Share of a released table's count cells shown as a marker (``None``: no count cells)."""
    data = asdict(entry) if isinstance(entry, RegisterEntry) else entry
    cells = int(data.get("count_cells") or 0)
    return None if cells == 0 else int(data.get("suppressed_cells") or 0) / cells


def read_register(path: Path | str | None = None) -> list[dict[str, Any]]:
    """Read a register file (missing file: empty list), one combined entry per table name,
    sorted by name.

    A name may be recorded several times: by one process releasing a figure's counts group by
    group (combined: passed only if every call passed, counts summed, smallest k kept), or by a
    notebook re-run later in an incremental build (only the latest process's entries count).
    A stage notebook's latest run replaces everything its earlier runs recorded, so a table it
    no longer releases is no longer listed.
    """
    target = Path(path) if path is not None else register_path()
    if target is None or not target.exists():
        return []
    entries: list[dict[str, Any]] = []
    for number, line in enumerate(target.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise DisclosureError(f"{target}: line {number}: not JSON ({exc})") from exc
    latest_run: dict[str, tuple[float, Any]] = {}
    for entry in entries:
        notebook = entry.get("notebook") or ""
        if notebook and entry.get("time", 0) >= latest_run.get(notebook, (float("-inf"), None))[0]:
            latest_run[notebook] = (entry.get("time", 0), entry.get("pid"))
    by_name: dict[str, list[dict[str, Any]]] = {}
    for entry in sorted(entries, key=lambda e: str(e.get("table"))):
        notebook = entry.get("notebook") or ""
        if notebook and entry.get("pid") != latest_run[notebook][1]:
            continue  # an earlier run of this stage
        by_name.setdefault(str(entry.get("table")), []).append(entry)
    combined: list[dict[str, Any]] = []
    for entries in by_name.values():
        latest_pid = max(entries, key=lambda e: e.get("time", 0)).get("pid")
        mine = [e for e in entries if e.get("pid") == latest_pid]
        merged = dict(mine[-1])
        merged["passed"] = all(bool(e.get("passed")) for e in mine)
        for key in ("cells", "primary_suppressed", "secondary_suppressed", "count_cells",
                    "suppressed_cells", "merged_categories"):
            merged[key] = sum(int(e.get(key) or 0) for e in mine)
        merged["replaced_by_sentence"] = any(bool(e.get("replaced_by_sentence")) for e in mine)
        merged["modification"] = "; ".join(dict.fromkeys(str(e["modification"]) for e in mine
                                                         if e.get("modification")))
        merged["group_disclosures"] = [g for e in mine for g in e.get("group_disclosures") or []]
        merged["notes"] = list(dict.fromkeys(n for e in mine for n in e.get("notes") or []))
        ks = [e["k_achieved"] for e in mine if e.get("k_achieved") is not None]
        merged["k_achieved"] = min(ks) if ks else None
        merged["profile"] = mine[-1].get("profile") if len({e.get("profile") for e in mine}) == 1 else "mixed"
        merged["calls"] = len(mine)
        combined.append(merged)
    return combined
