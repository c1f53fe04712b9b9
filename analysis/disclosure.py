"""Statistical disclosure control: policy profiles, small-cell suppression, rounding, k-anonymity.

The rules live in ``analysis/config/disclosure_policy.yml``; this module reads them and applies
them to pandas tables. ``analysis/outputs.py`` is the one place where tables and figure counts
leave ``analysis/``; it calls the functions here and records every decision in the disclosure
register (see :func:`record`).

Two profiles ship:

``study``
    Counts of 1-4 are primary-suppressed (shown ``<5``). Secondary (complementary) suppression,
    shown ``[c]``, is added until no suppressed count can be worked out from the published
    cells and margins: first the classic line rule (no row or column of the table-with-totals
    holds exactly one suppressed cell), then an exact audit that solves small integer programs
    (scipy's HiGHS) for the range an intruder could deduce for every small count, given
    everything published *and* what the markers say (``<5`` = 1..4; ``[c]`` = 0 or at least 5).
    A small count is safe only when the intruder's range still holds at least ``min_range``
    whole numbers (policy; 3 by default, e.g. "1 to 3"; 4 demands the whole 1..4).
``tre-release``
    The OpenSAFELY / NHS England rule: any count of 7 or fewer redacted (``[REDACTED]``), all
    other counts rounded to the nearest 5, totals recomputed from the rounded released counts
    (so redacted cells cannot be recovered by differencing).

Zeros are structural and safe in both profiles. "Group disclosure" (a count equal to its row
total while the row's other categories are all zero) is flagged, or suppressed for tables whose
name matches ``sensitive_tables``.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from analysis import paths

POLICY_PATH: Path = paths.CONFIG_DIR / "disclosure_policy.yml"
"""The shipped disclosure policy."""

PROFILE_ENV: str = "DISCLOSURE_PROFILE"
"""Environment variable that picks the profile when no ``profile=`` argument is given."""

REGISTER_ENV: str = "DISCLOSURE_REGISTER"
"""Environment variable: path of the JSON-lines register (default ``$DATA_DERIVED/disclosure_register.jsonl``).
Set it to ``off`` to keep entries in memory only."""

TOTAL_LABELS: frozenset[str] = frozenset({"total", "totals", "all", "overall"})
"""Row labels / column names recognised as margins already present in an input table."""


class DisclosureError(ValueError):
    """Bad input to disclosure control (names the table, row, column and rule)."""


# --------------------------------------------------------------------------------------------
# Policy
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """One disclosure-control profile from the policy file."""

    name: str
    description: str
    method: Literal["suppress", "redact_round"]
    max_unsafe_count: int
    zero_is_safe: bool
    primary_marker: str
    secondary_marker: str
    rounding_base: int | None
    group_disclosure: Literal["ignore", "flag", "suppress"]
    group_disclosure_sensitive: Literal["ignore", "flag", "suppress"]
    k_anonymity: int
    footnote: str
    min_range: int = 3
    participation_counts: Literal["publish", "round", "protect"] = "protect"
    """How study-participation counts are released (policy ``participation_counts``)."""
    max_suppressed_share: float = 1.0
    """Information-loss target: the largest share of a shown table's count cells suppressed."""
    loss_target: Literal["enforce", "report"] = "report"
    """Whether the output check fails a document's table that misses the loss target."""

    def is_unsafe(self, value: float) -> bool:
        """Whether a single count is primary-unsafe under this profile."""
        if value == 0:
            return not self.zero_is_safe
        return 0 < value <= self.max_unsafe_count


@dataclass(frozen=True)
class RedesignRule:
    """Redesign steps declared for the sensitive tables whose name matches ``tables``."""

    name: str
    tables: tuple[str, ...]
    steps: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class LossExemption:
    """A table allowed to miss a profile's information-loss target, and why (the policy's
    ``loss_exemptions``)."""

    table: str
    """Regular expression matched against the table name."""
    profiles: tuple[str, ...]
    justification: str


@dataclass(frozen=True)
class Policy:
    """The whole policy: profiles, sensitive-table and participation-count patterns, redesign
    rules and participant-level hierarchies."""

    default_profile: str
    profiles: Mapping[str, Profile]
    sensitive_tables: tuple[str, ...]
    participant_level: Mapping[str, Any]
    source: Path
    participation_tables: tuple[str, ...] = ()
    participation_justification: str = ""
    redesign: tuple[RedesignRule, ...] = ()
    loss_exemptions: tuple[LossExemption, ...] = ()

    def loss_exemption(self, table_name: str, profile: str) -> LossExemption | None:
        """The exemption from the information-loss target recorded for ``table_name`` under
        ``profile`` (``None``: the target holds)."""
        for exemption in self.loss_exemptions:
            if profile in exemption.profiles and re.search(exemption.table, table_name, flags=re.IGNORECASE):
                return exemption
        return None

    def is_sensitive(self, table_name: str) -> bool:
        """Whether ``table_name`` matches one of the sensitive-table patterns."""
        return any(re.search(p, table_name, flags=re.IGNORECASE) for p in self.sensitive_tables)

    def is_participation(self, table_name: str) -> bool:
        """Whether ``table_name`` is a study-participation count (and not sensitive)."""
        return (not self.is_sensitive(table_name)
                and any(re.search(p, table_name, flags=re.IGNORECASE) for p in self.participation_tables))

    def redesign_rule(self, table_name: str) -> RedesignRule | None:
        """The first redesign rule whose patterns match ``table_name`` (``None``: no rule)."""
        for rule in self.redesign:
            if any(re.search(p, table_name, flags=re.IGNORECASE) for p in rule.tables):
                return rule
        return None


_PROFILE_FIELDS = {
    "description": str,
    "method": str,
    "max_unsafe_count": int,
    "zero_is_safe": bool,
    "primary_marker": str,
    "secondary_marker": str,
    "group_disclosure": str,
    "group_disclosure_sensitive": str,
    "k_anonymity": int,
    "footnote": str,
}


def load_policy(path: Path | str | None = None) -> Policy:
    """Read and validate the disclosure policy YAML (default: the shipped policy file).

    The file is read at every call; parsing and validation are done once per distinct content
    (a notebook releases dozens of tables, and each release used to parse the YAML again).
    """
    policy_path = Path(path) if path is not None else POLICY_PATH
    try:
        text = policy_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DisclosureError(f"{policy_path}: cannot read disclosure policy: {exc}") from exc
    return _parse_policy(text, policy_path)


@functools.lru_cache(maxsize=8)
def _parse_policy(text: str, policy_path: Path) -> Policy:
    """The validated policy of one file content (cached: ``Policy`` is frozen)."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DisclosureError(f"{policy_path}: cannot read disclosure policy: {exc}") from exc
    if not isinstance(raw, dict) or "profiles" not in raw:
        raise DisclosureError(f"{policy_path}: policy needs a 'profiles' mapping")
    profiles: dict[str, Profile] = {}
    for name, spec in raw["profiles"].items():
        for key, kind in _PROFILE_FIELDS.items():
            if key not in spec:
                raise DisclosureError(f"{policy_path}: profile {name!r} lacks {key!r}")
            if not isinstance(spec[key], kind):
                raise DisclosureError(
                    f"{policy_path}: profile {name!r} field {key!r} must be {kind.__name__}"
                )
        if spec["method"] not in ("suppress", "redact_round"):
            raise DisclosureError(f"{policy_path}: profile {name!r} method must be suppress|redact_round")
        for key in ("group_disclosure", "group_disclosure_sensitive"):
            if spec[key] not in ("ignore", "flag", "suppress"):
                raise DisclosureError(f"{policy_path}: profile {name!r} {key} must be ignore|flag|suppress")
        base = spec.get("rounding_base")
        if spec["method"] == "redact_round" and not (isinstance(base, int) and base > 0):
            raise DisclosureError(f"{policy_path}: profile {name!r} needs a positive rounding_base")
        profiles[name] = Profile(
            name=name,
            description=" ".join(spec["description"].split()),
            method=spec["method"],
            max_unsafe_count=spec["max_unsafe_count"],
            zero_is_safe=spec["zero_is_safe"],
            primary_marker=spec["primary_marker"],
            secondary_marker=spec["secondary_marker"],
            rounding_base=base,
            group_disclosure=spec["group_disclosure"],
            group_disclosure_sensitive=spec["group_disclosure_sensitive"],
            k_anonymity=spec["k_anonymity"],
            footnote=" ".join(spec["footnote"].split()),
            min_range=int(spec.get("min_range", 3)),
            participation_counts=_participation_mode(spec, name, policy_path),
            max_suppressed_share=_share(spec, name, policy_path),
            loss_target=_loss_target(spec, name, policy_path),
        )
    default = raw.get("default_profile", "study")
    if default not in profiles:
        raise DisclosureError(f"{policy_path}: default_profile {default!r} is not a profile")
    participation = raw.get("participation_counts") or {}
    if not isinstance(participation, dict):
        raise DisclosureError(f"{policy_path}: participation_counts must be a mapping")
    patterns = tuple(str(p) for p in participation.get("tables") or [])
    justification = " ".join(str(participation.get("justification") or "").split())
    if patterns and not justification:
        raise DisclosureError(f"{policy_path}: participation_counts needs a justification "
                              "(it is written into output-check.csv with every exemption)")
    for pattern in (*patterns, *(raw.get("sensitive_tables") or [])):
        try:
            re.compile(str(pattern))
        except re.error as exc:
            raise DisclosureError(f"{policy_path}: table pattern {pattern!r} is not a regular "
                                  f"expression ({exc})") from exc
    return Policy(
        default_profile=default,
        profiles=profiles,
        sensitive_tables=tuple(raw.get("sensitive_tables", []) or []),
        participant_level=raw.get("participant_level", {}) or {},
        source=policy_path,
        participation_tables=patterns,
        participation_justification=justification,
        redesign=_redesign_rules(raw.get("redesign") or {}, policy_path),
        loss_exemptions=_loss_exemptions(raw.get("loss_exemptions") or [], profiles, policy_path),
    )


def _loss_exemptions(raw: Any, profiles: Mapping[str, Profile], policy_path: Path) -> tuple[LossExemption, ...]:
    """Validate ``loss_exemptions``: each needs a table pattern, known profiles and a justification."""
    if not isinstance(raw, list):
        raise DisclosureError(f"{policy_path}: loss_exemptions must be a list")
    found = []
    for number, spec in enumerate(raw, start=1):
        where = f"{policy_path}: loss_exemptions entry {number}"
        if not isinstance(spec, dict):
            raise DisclosureError(f"{where} must be a mapping with table, profiles and justification")
        table = str(spec.get("table") or "")
        names = spec.get("profiles")
        justification = " ".join(str(spec.get("justification") or "").split())
        if not table or not justification:
            raise DisclosureError(f"{where} needs 'table' and 'justification' (the justification is "
                                  "written into output-check.csv)")
        if not isinstance(names, list) or not names or any(str(n) not in profiles for n in names):
            raise DisclosureError(f"{where}: 'profiles' must list profiles of this policy "
                                  f"({', '.join(profiles)}), got {names!r}")
        try:
            re.compile(table)
        except re.error as exc:
            raise DisclosureError(f"{where}: table pattern {table!r} is not a regular expression ({exc})") from exc
        found.append(LossExemption(table=table, profiles=tuple(str(n) for n in names),
                                   justification=justification))
    return tuple(found)


_STEP_KINDS: dict[str, tuple[str, ...]] = {
    "merge": ("groups",),
    "up_level": ("label",),
    "collapse_rare": (),
    "band": ("bands",),
    "merge_rows": ("label",),
}
"""Redesign step kinds and the keys each needs (besides ``kind`` and ``description``)."""


def _redesign_rules(raw: Any, policy_path: Path) -> tuple[RedesignRule, ...]:
    """Validate the ``redesign`` section: named rules, each with table patterns and steps."""
    if not isinstance(raw, dict):
        raise DisclosureError(f"{policy_path}: redesign must be a mapping of named rules")
    rules = []
    for name, spec in raw.items():
        where = f"{policy_path}: redesign rule {name!r}"
        if not isinstance(spec, dict) or not spec.get("tables") or not spec.get("steps"):
            raise DisclosureError(f"{where} needs 'tables' and 'steps' lists")
        steps = []
        for number, step in enumerate(spec["steps"], start=1):
            kind = step.get("kind") if isinstance(step, dict) else None
            if kind not in _STEP_KINDS:
                raise DisclosureError(f"{where}, step {number}: kind must be one of "
                                      f"{', '.join(_STEP_KINDS)} (got {kind!r})")
            for key in ("description", *_STEP_KINDS[kind]):
                if not step.get(key):
                    raise DisclosureError(f"{where}, step {number} ({kind}) lacks {key!r}")
            if kind in ("merge", "band"):
                groups = step["groups" if kind == "merge" else "bands"]
                if not isinstance(groups, dict) or not all(
                        isinstance(v, list) and v for v in groups.values()):
                    raise DisclosureError(f"{where}, step {number} ({kind}): groups must map a "
                                          "new label to a list of categories")
            steps.append(dict(step))
        rules.append(RedesignRule(name=str(name), tables=tuple(str(t) for t in spec["tables"]),
                                  steps=tuple(steps)))
    return tuple(rules)


def _participation_mode(spec: Mapping[str, Any], name: str, policy_path: Path) -> Literal["publish", "round", "protect"]:
    mode = spec.get("participation_counts", "protect")
    if mode not in ("publish", "round", "protect"):
        raise DisclosureError(f"{policy_path}: profile {name!r} participation_counts must be "
                              "publish|round|protect")
    base = spec.get("rounding_base")
    if mode == "round" and not (isinstance(base, int) and base > 0):
        raise DisclosureError(f"{policy_path}: profile {name!r} participation_counts 'round' needs "
                              "a positive rounding_base")
    return mode  # type: ignore[no-any-return]


def _loss_target(spec: Mapping[str, Any], name: str, policy_path: Path) -> Literal["enforce", "report"]:
    value = spec.get("loss_target", "report")
    if value not in ("enforce", "report"):
        raise DisclosureError(f"{policy_path}: profile {name!r} loss_target must be enforce|report")
    return value  # type: ignore[no-any-return]


def _share(spec: Mapping[str, Any], name: str, policy_path: Path) -> float:
    value = spec.get("max_suppressed_share", 1.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise DisclosureError(f"{policy_path}: profile {name!r} max_suppressed_share must be a "
                              "number from 0 to 1")
    return float(value)


def get_profile(profile: str | Profile | None = None, policy: Policy | None = None) -> Profile:
    """Return the profile named by the argument, else ``$DISCLOSURE_PROFILE``, else the default."""
    if isinstance(profile, Profile):
        return profile
    pol = policy or load_policy()
    name = profile or os.environ.get(PROFILE_ENV) or pol.default_profile
    if name not in pol.profiles:
        raise DisclosureError(
            f"unknown disclosure profile {name!r} (from "
            f"{'argument' if profile else PROFILE_ENV if os.environ.get(PROFILE_ENV) else 'policy'}); "
            f"known: {', '.join(sorted(pol.profiles))}"
        )
    return pol.profiles[name]


# --------------------------------------------------------------------------------------------
# Register
# --------------------------------------------------------------------------------------------


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
    entry.notebook = entry.notebook or os.environ.get("PAPERMILL_NOTEBOOK", "")
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
    """Read a register file (missing file: empty list), one combined entry per table name.

    A name may be recorded several times: by one process releasing a figure's counts group by
    group (combined: passed only if every call passed, counts summed, smallest k kept), or by a
    notebook re-run later in an incremental build (only the latest process's entries count).
    """
    target = Path(path) if path is not None else register_path()
    if target is None or not target.exists():
        return []
    by_name: dict[str, list[dict[str, Any]]] = {}
    for number, line in enumerate(target.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DisclosureError(f"{target}: line {number}: not JSON ({exc})") from exc
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


# --------------------------------------------------------------------------------------------
# Cell-level suppression on a matrix with margins
# --------------------------------------------------------------------------------------------

CellStatus = Literal["shown", "primary", "secondary"]


@dataclass
class SuppressionResult:
    """Outcome of suppressing one count matrix.

    ``status`` has the shape of the augmented matrix (interior plus a total column when
    ``row_margin`` and a total row when ``column_margin``) and holds ``"shown"``, ``"primary"``
    or ``"secondary"``. ``values`` is that augmented matrix of true counts.
    """

    values: np.ndarray
    status: np.ndarray
    row_margin: bool
    column_margin: bool
    group_rows: list[int]

    @property
    def primary(self) -> int:
        """Number of primary-suppressed cells (including margins)."""
        return int((self.status == "primary").sum())

    @property
    def secondary(self) -> int:
        """Number of secondary-suppressed cells (including margins)."""
        return int((self.status == "secondary").sum())


def augment(interior: np.ndarray, *, row_margin: bool, column_margin: bool) -> np.ndarray:
    """Return the matrix with a total column (``row_margin``) and/or total row appended."""
    out = np.asarray(interior, dtype=float)
    if row_margin:
        out = np.hstack([out, out.sum(axis=1, keepdims=True)])
    if column_margin:
        out = np.vstack([out, out.sum(axis=0, keepdims=True)])
    return out


def table_lines(shape: tuple[int, int], *, row_margin: bool, column_margin: bool) -> list[list[tuple[int, int]]]:
    """The additive lines of an augmented matrix: each is a list of cells whose last cell is the
    sum of the others (a row with its row total, a column with its column total)."""
    n_rows, n_cols = shape
    lines: list[list[tuple[int, int]]] = []
    if row_margin:
        for i in range(n_rows):
            lines.append([(i, j) for j in range(n_cols)])
    if column_margin:
        for j in range(n_cols):
            lines.append([(i, j) for i in range(n_rows)])
    return lines


def _is_margin(cell: tuple[int, int], shape: tuple[int, int], row_margin: bool, column_margin: bool) -> bool:
    i, j = cell
    return (row_margin and j == shape[1] - 1) or (column_margin and i == shape[0] - 1)


def intruder_ranges(
    values: np.ndarray,
    status: np.ndarray,
    *,
    row_margin: bool,
    column_margin: bool,
    primary_bounds: tuple[float, float] | None,
    secondary_floor: float | None,
    cells: Iterable[tuple[int, int]] | None = None,
    wide_enough: float | None = None,
) -> dict[tuple[int, int], tuple[float, float]]:
    """The range an intruder can deduce for each suppressed cell (default: every suppressed cell).

    Solves, for each cell, two small mixed-integer programs over the suppressed cells subject to
    every additive line of the published table, with the intruder's knowledge from the markers:
    primary cells lie in ``primary_bounds`` (``None``: anything >= 0) and secondary cells are 0
    or at least ``secondary_floor`` (``None``: anything >= 0). Counts are integers.

    ``wide_enough`` is the audit's shortcut. The true table is one solution, so every cell's
    range holds its true value ``v``; once the maximum ``hi`` is at least ``v + wide_enough``,
    the range is at least that wide whatever its minimum, and the minimum is not solved: the
    cell is reported as ``(v, hi)``, a sub-range of the true one that already shows the width
    asked for. Every other cell's range is exact. (Taken only when the true table meets the
    intruder's bounds, so that it is a solution.)
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    shape = values.shape
    suppressed = [tuple(c) for c in np.argwhere(status != "shown")]
    if not suppressed:
        return {}
    index = {c: k for k, c in enumerate(suppressed)}
    n_var = len(suppressed)
    # Binary switches for secondary cells with a floor: y = 0 or y >= floor.
    switched = [c for c in suppressed if status[c] == "secondary" and secondary_floor is not None]
    n_total = n_var + len(switched)
    big = float(max(values.sum(), 1.0)) * 10 + 100
    lower = np.zeros(n_total)
    upper = np.full(n_total, np.inf)
    for c in suppressed:
        if status[c] == "primary" and primary_bounds is not None:
            lower[index[c]], upper[index[c]] = primary_bounds
    rows_a: list[np.ndarray] = []
    lo_b: list[float] = []
    hi_b: list[float] = []
    for line in table_lines(shape, row_margin=row_margin, column_margin=column_margin):
        coef = np.zeros(n_total)
        known = 0.0
        for position, cell in enumerate(line):
            sign = -1.0 if position == len(line) - 1 else 1.0
            if cell in index:
                coef[index[cell]] += sign
            else:
                known += sign * values[cell]
        if coef.any():
            rows_a.append(coef)
            lo_b.append(-known)
            hi_b.append(-known)
    for offset, cell in enumerate(switched):
        switch = n_var + offset
        upper[switch] = 1.0
        assert secondary_floor is not None
        at_least = np.zeros(n_total)  # floor * b - y <= 0   (y >= floor when switched on)
        at_least[switch], at_least[index[cell]] = secondary_floor, -1.0
        at_most = np.zeros(n_total)  # y - big * b <= 0      (y = 0 when switched off)
        at_most[index[cell]], at_most[switch] = 1.0, -big
        for coef in (at_least, at_most):
            rows_a.append(coef)
            lo_b.append(-np.inf)
            hi_b.append(0.0)
    constraints = [LinearConstraint(np.vstack(rows_a), lo_b, hi_b)] if rows_a else []
    integrality = np.ones(n_total)
    targets = suppressed if cells is None else [tuple(c) for c in cells]
    true_is_solution = all(
        lower[index[c]] <= values[c] <= upper[index[c]]
        and (status[c] != "secondary" or secondary_floor is None or values[c] == 0 or values[c] >= secondary_floor)
        for c in suppressed
    )

    def extreme(cell: tuple[int, int], direction: float) -> float:
        """The cell's minimum (``direction`` 1) or maximum (-1) over every table the intruder
        cannot rule out."""
        objective = np.zeros(n_total)
        objective[index[cell]] = direction
        res = milp(objective, constraints=constraints, integrality=integrality, bounds=Bounds(lower, upper))
        # HiGHS may answer "infeasible or unbounded" without saying which; when the true table
        # is a solution the model is feasible, so that answer means unbounded.
        if res.status == 3 or (true_is_solution and not res.success and "unbounded" in str(res.message).lower()):
            return np.inf if direction < 0 else -np.inf
        if not res.success:
            raise DisclosureError(f"audit of cell {cell} failed: {res.message}")
        return float(direction * res.fun)

    ranges: dict[tuple[int, int], tuple[float, float]] = {}
    for cell in targets:
        hi = extreme(cell, -1.0)
        if wide_enough is not None and true_is_solution and hi - float(values[cell]) >= wide_enough:
            ranges[cell] = (float(values[cell]), hi)
        else:
            ranges[cell] = (extreme(cell, 1.0), hi)
    return ranges


def _line_rule(status: np.ndarray, values: np.ndarray, lines: list[list[tuple[int, int]]],
               shape: tuple[int, int], row_margin: bool, column_margin: bool) -> None:
    """Add complementary suppressions until no line holds exactly one suppressed cell."""
    cell_lines: dict[tuple[int, int], list[int]] = {}
    for k, line in enumerate(lines):
        for cell in line:
            cell_lines.setdefault(cell, []).append(k)
    changed = True
    while changed:
        changed = False
        for k, line in enumerate(lines):
            hidden = [c for c in line if status[c] != "shown"]
            if len(hidden) != 1:
                continue
            candidates = [c for c in line if status[c] == "shown"]
            if not candidates:
                continue

            def preference(cell: tuple[int, int]) -> tuple[int, int, int, float, tuple[int, int]]:
                crossing = [m for m in cell_lines.get(cell, []) if m != k]
                closes = any(sum(status[c] != "shown" for c in lines[m]) == 1 for m in crossing)
                return (
                    int(values[cell] == 0),  # zeros protect little: last resort
                    int(_is_margin(cell, shape, row_margin, column_margin)),
                    0 if closes else 1,  # prefer a cell that also fixes its crossing line
                    float(values[cell]),  # then the smallest count (least information lost)
                    cell,
                )

            choice = min(candidates, key=preference)
            status[choice] = "secondary"
            changed = True


def suppress_matrix(
    interior: np.ndarray,
    profile: Profile,
    *,
    row_margin: bool = True,
    column_margin: bool = True,
    group_rows: Sequence[int] = (),
) -> SuppressionResult:
    """Primary and secondary suppression of a count matrix and its margins (``study`` profile).

    ``group_rows`` are interior rows to hide completely (group disclosure in sensitive tables).
    Returns the status of every cell of the augmented matrix; guarantees (by audit) that every
    primary cell's intruder range holds at least ``profile.min_range`` values and that, for every group
    row, the published table is consistent with the row's other categories being non-zero.
    """
    values = augment(interior, row_margin=row_margin, column_margin=column_margin)
    shape = values.shape
    status = np.full(shape, "shown", dtype=object)
    for cell in itertools.product(range(shape[0]), range(shape[1])):
        if profile.is_unsafe(values[cell]):
            status[cell] = "primary"
    for i in group_rows:
        for j in range(shape[1]):
            if status[i, j] == "shown":
                status[i, j] = "secondary"
    lines = table_lines(shape, row_margin=row_margin, column_margin=column_margin)
    distinct = profile.primary_marker != profile.secondary_marker
    primary_bounds = (1.0, float(profile.max_unsafe_count)) if distinct else None
    secondary_floor = float(profile.max_unsafe_count + 1) if distinct else None
    for _round in range(values.size + 1):
        _line_rule(status, values, lines, shape, row_margin, column_margin)
        if not (status != "shown").any():
            break
        failing = _audit_failures(values, status, row_margin, column_margin, list(group_rows),
                                  primary_bounds, secondary_floor, profile)
        if not failing:
            break
        # Widen protection around the first failing cell: suppress the largest shown cell in its
        # row or column (large complements leave the widest range), margins last.
        cell = failing[0]
        options = [c for line in lines if cell in line for c in line if status[c] == "shown"]
        if not options:
            options = [tuple(c) for c in np.argwhere(status == "shown")]
        if not options:
            break
        options.sort(key=lambda c: (int(values[c] == 0),
                                    int(_is_margin(c, shape, row_margin, column_margin)),
                                    -values[c], c))
        status[options[0]] = "secondary"
    return SuppressionResult(values=values, status=status, row_margin=row_margin,
                             column_margin=column_margin, group_rows=list(group_rows))


def _audit_failures(values: np.ndarray, status: np.ndarray, row_margin: bool, column_margin: bool,
                    group_rows: list[int], primary_bounds: tuple[float, float] | None,
                    secondary_floor: float | None, profile: Profile) -> list[tuple[int, int]]:
    """Primary cells whose intruder range is narrower than the marker allows, and group rows
    whose cells can be shown to be the only non-zero category."""
    failing: list[tuple[int, int]] = []
    primaries = [tuple(c) for c in np.argwhere(status == "primary")]
    if primaries:
        ranges = intruder_ranges(values, status, row_margin=row_margin, column_margin=column_margin,
                                 primary_bounds=primary_bounds, secondary_floor=secondary_floor,
                                 cells=primaries, wide_enough=profile.min_range - 1)
        for cell, (lo, hi) in ranges.items():
            if hi - lo + 1 < profile.min_range - 1e-6:
                failing.append(cell)
    for i in group_rows:
        ranges = intruder_ranges(values, status, row_margin=row_margin, column_margin=column_margin,
                                 primary_bounds=primary_bounds, secondary_floor=secondary_floor,
                                 cells=[(i, j) for j in range(values.shape[1])
                                        if status[i, j] != "shown"], wide_enough=1)
        # Group row is protected when every hidden cell could take more than one value.
        if any(hi - lo < 1 - 1e-6 for lo, hi in ranges.values()):
            failing.append((i, 0))
    return failing


def round_to_base(values: np.ndarray, base: int) -> np.ndarray:
    """Round counts to the nearest ``base`` (halves away from zero, as OpenSAFELY's
    ``round(x / 5) * 5`` on non-negative integers with ties up)."""
    return np.floor(np.asarray(values, dtype=float) / base + 0.5) * base


def redact_and_round(interior: np.ndarray, profile: Profile, *, group_rows: Sequence[int] = ()) -> tuple[np.ndarray, np.ndarray]:
    """``tre-release`` treatment of a count matrix: returns (released values, redacted mask).

    Counts 1..max_unsafe_count (and whole group rows) are redacted; the rest are rounded to
    ``rounding_base``. Totals are not returned: compute them from the released values.
    """
    values = np.asarray(interior, dtype=float)
    redacted = np.vectorize(profile.is_unsafe)(values) if values.size else np.zeros_like(values, dtype=bool)
    redacted = np.asarray(redacted, dtype=bool)
    for i in group_rows:
        redacted[i, :] = True
    released = round_to_base(values, int(profile.rounding_base or 1))
    released[redacted] = np.nan
    return released, redacted


def group_disclosure_rows(interior: np.ndarray) -> list[int]:
    """Rows in which exactly one category is non-zero (and the row is not empty): the count
    equals the row total, so it describes everyone in the group."""
    values = np.asarray(interior, dtype=float)
    if values.ndim != 2 or values.shape[1] < 2:
        return []
    return [i for i in range(values.shape[0]) if (values[i] > 0).sum() == 1]


# --------------------------------------------------------------------------------------------
# Participant-level tables: k-anonymity by generalisation
# --------------------------------------------------------------------------------------------


def k_of(table: pd.DataFrame, quasi_identifiers: Sequence[str], id_column: str | None = None) -> int:
    """The k of k-anonymity: the size of the smallest equivalence class over the QIs
    (counting distinct ``id_column`` values when given). An empty table has k = 0."""
    if table.empty:
        return 0
    if not quasi_identifiers:
        return int(table[id_column].nunique()) if id_column else len(table)
    keys = table[list(quasi_identifiers)].astype("string").fillna("<NA>")
    grouped = keys.groupby(list(quasi_identifiers), dropna=False)
    if id_column:
        sizes = table[id_column].groupby([keys[c] for c in quasi_identifiers], dropna=False).nunique()
    else:
        sizes = grouped.size()
    return int(sizes.min())


def _age_wider(value: Any, bands: list[list[Any]]) -> str:
    numbers = re.findall(r"\d+", str(value))
    if not numbers:
        return str(value)
    low = int(numbers[0])
    for lo, hi, label in bands:
        if int(lo) <= low <= int(hi):
            return str(label)
    return str(value)


def _ethnic_group(value: Any, mapping: Mapping[str, str]) -> str:
    text = str(value).strip().lower()
    if text in mapping:
        return mapping[text]
    for separator in (":", " - ", ",", "("):
        head = text.split(separator)[0].strip()
        if head in mapping:
            return mapping[head]
    first = text.split()[0] if text.split() else text
    return mapping.get(first, "Mixed or other" if text and text != "<na>" else "Not stated")


def _parity_group(value: Any) -> str:
    try:
        number = int(float(value))
    except (TypeError, ValueError):
        return str(value)
    return str(number) if number < 2 else "2+"


def generalise(series: pd.Series, column: str, level: int, hierarchies: Mapping[str, Any],
               any_label: str = "Any") -> pd.Series:
    """Generalise one quasi-identifier column to ``level`` (0 = as is; last level = "Any")."""
    if level == 0:
        return series
    spec = hierarchies.get(column)
    top = len(hierarchy_levels(column, hierarchies)) - 1
    if level >= top or spec is None:
        label = (spec or {}).get("any_label", any_label)
        return pd.Series([label] * len(series), index=series.index, dtype="object")
    kind = spec.get("kind")
    if kind == "map":
        mapping = {str(k).lower(): str(v) for k, v in (spec.get("map") or {}).items()}
        return series.map(lambda v: _ethnic_group(v, mapping)).astype("object")
    if kind == "numeric_band":
        return series.map(lambda v: _age_wider(v, spec.get("wider_bands", []))).astype("object")
    if kind == "parity":
        return series.map(_parity_group).astype("object")
    raise DisclosureError(f"hierarchy for {column!r}: unknown kind {kind!r}")


def hierarchy_levels(column: str, hierarchies: Mapping[str, Any]) -> list[str]:
    """Names of the generalisation levels of a column ("value", [broad group,] "Any")."""
    spec = hierarchies.get(column)
    if spec is None:
        return ["value", "any"]
    return ["value", spec.get("kind", "group"), "any"]


def anonymise_participant_level(
    table: pd.DataFrame,
    quasi_identifiers: Sequence[str],
    *,
    k: int,
    policy: Policy | None = None,
    id_column: str | None = None,
) -> tuple[pd.DataFrame, int, dict[str, int]]:
    """Full-domain generalisation to k-anonymity with the least information loss.

    Tries every combination of hierarchy levels (small: a few QIs with 2-3 levels each), keeps
    those that reach ``k``, and picks the one with the fewest generalisation steps, columns
    listed in ``suppress_last`` (site) generalised only when nothing else works. Returns
    (generalised table, achieved k, level per QI). When even "Any" everywhere fails (fewer than
    k people), the fully generalised table and its k are returned; the caller records the
    failure.
    """
    pol = policy or load_policy()
    missing = [c for c in quasi_identifiers if c not in table.columns]
    if missing:
        raise DisclosureError(f"participant-level table lacks quasi-identifier column(s) {missing}")
    spec = pol.participant_level
    hierarchies = spec.get("hierarchies", {}) or {}
    any_label = spec.get("any_label", "Any")
    last = set(spec.get("suppress_last", []) or [])
    level_counts = [len(hierarchy_levels(c, hierarchies)) for c in quasi_identifiers]
    cache: dict[tuple[str, int], pd.Series] = {}

    def column_at(column: str, level: int) -> pd.Series:
        key = (column, level)
        if key not in cache:
            cache[key] = generalise(table[column], column, level, hierarchies, any_label)
        return cache[key]

    best: tuple[tuple[int, int, int], dict[str, int], int] | None = None
    fallback_levels = {c: n - 1 for c, n in zip(quasi_identifiers, level_counts)}
    for combo in itertools.product(*[range(n) for n in level_counts]):
        levels = dict(zip(quasi_identifiers, combo))
        candidate = table.copy()
        for column, level in levels.items():
            candidate[column] = column_at(column, level)
        achieved = k_of(candidate, quasi_identifiers, id_column)
        if achieved < k:
            continue
        cost = (
            sum(level for c, level in levels.items() if c in last),
            sum(combo),
            -achieved,
        )
        if best is None or cost < best[0]:
            best = (cost, levels, achieved)
    levels = best[1] if best else fallback_levels
    out = table.copy()
    for column, level in levels.items():
        out[column] = column_at(column, level)
    return out, k_of(out, quasi_identifiers, id_column), levels
