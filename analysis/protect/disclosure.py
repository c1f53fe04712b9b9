"""Statistical disclosure control: small-cell suppression, rounding, k-anonymity.

The rules live in ``analysis/config/disclosure_policy.yml`` (read by
:mod:`analysis.protect.policy`); this module applies them to pandas tables. ``analysis/protect/outputs.py`` is the one place where tables and figure counts
leave ``analysis/``; it calls the functions here and records every decision in the disclosure
register (:mod:`analysis.protect.register`). Reads no contract table itself: it works on the
tables the analyses build from the derived tables (CONTRACTS.md "Notebook outputs").

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

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from analysis.protect.policy import DisclosureError, Policy, Profile, load_policy



# --------------------------------------------------------------------------------------------
# Policy
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Register
# --------------------------------------------------------------------------------------------


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

    ``wide_enough`` is the audit's shortcut: a cell whose range is at least ``wide_enough`` wide
    may be reported as a sub-range of its true range that is already that wide, found without
    solving both programs; every other cell's range is exact. Any table the intruder cannot rule
    out bounds every cell's range: the true table (when it meets the intruder's bounds) and each
    optimum the solver returns (checked exactly before it is used). A cell that two such tables
    already show taking values ``wide_enough`` apart needs no program at all; otherwise its
    maximum is solved, and its minimum only if the maximum does not already show the width.
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
    n_lines = len(rows_a)
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

    # Tables the intruder cannot rule out, one row each (the suppressed cells' values).
    line_rows = np.vstack(rows_a[:n_lines])[:, :n_var] if n_lines else np.zeros((0, n_var))
    line_sums = np.asarray(lo_b[:n_lines], dtype=float)
    floors = [index[c] for c in switched]
    witnesses: list[np.ndarray] = []
    if true_is_solution:
        witnesses.append(np.array([float(values[c]) for c in suppressed]))

    def possible(table: np.ndarray) -> bool:
        """Whether ``table`` (whole counts) meets every line and every bound of the intruder."""
        return bool(np.array_equal(line_rows @ table, line_sums)
                    and np.all(table >= lower[:n_var]) and np.all(table <= upper[:n_var])
                    and all(table[k] == 0 or table[k] >= secondary_floor for k in floors))

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
        if wide_enough is not None:
            table = np.round(res.x[:n_var])
            if possible(table):
                witnesses.append(table)
        return float(direction * res.fun)

    def seen(cell: tuple[int, int]) -> tuple[float, float]:
        """The cell's lowest and highest value in the tables found so far."""
        column = [float(w[index[cell]]) for w in witnesses]
        return (min(column), max(column)) if column else (np.inf, -np.inf)

    ranges: dict[tuple[int, int], tuple[float, float]] = {}
    for cell in targets:
        if wide_enough is not None:
            low, high = seen(cell)
            if high - low >= wide_enough:
                ranges[cell] = (low, high)
                continue
        hi = extreme(cell, -1.0)
        low = seen(cell)[0]  # after the maximum: its optimum may be a new table
        if wide_enough is not None and hi - low >= wide_enough:
            ranges[cell] = (low, hi)
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
