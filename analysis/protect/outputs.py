"""The one gate every table and every figure's counts pass through on the way out of ``analysis/``.

Fixed by ``analysis/CONTRACTS.md`` ("Notebook outputs that reports embed"):

- :func:`release_table` for a displayed table of counts (sites or other groups in rows, count
  columns as categories, optional ``Total`` row/column);
- :func:`release_counts` for the long-format counts behind a figure (suppressed counts become
  missing, with a boolean ``suppressed`` column so charts can draw a "suppressed" mark), and
  :func:`release_counts_by_row` when each row of a figure is its own distribution;
- :func:`release_sensitive_table` for tables the policy redesigns or replaces by a sentence.

Rows about individual people (participant-level tables, consented diary items and drawings)
leave through :mod:`analysis.protect.person_level`.

The rules come from ``analysis/config/disclosure_policy.yml`` (profile by argument, else
``$DISCLOSURE_PROFILE``, else ``study``); see :mod:`analysis.protect.disclosure` for the algorithms.
Each call appends what it did to the disclosure register, which the output check reads.
Name tables and figure counts after the Quarto label of the cell that shows them (for example
``name="tbl-placements-by-site"``) so the output check can match them to the rendered outputs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from analysis.protect.disclosure import group_disclosure_rows, redact_and_round, suppress_matrix
from analysis.protect.policy import DisclosureError, Policy, TOTAL_LABELS, get_profile, load_policy
from analysis.protect.register import RegisterEntry, record

__all__ = [
    "DisclosureError",
    "ReleasedTable",
    "disclosure_footnote",
    "release_sensitive_table",
    "release_counts",
    "release_table",
]


@dataclass(frozen=True)
class ReleasedTable:
    """What :func:`release_sensitive_table` publishes: a redesigned, suppressed table, or (when
    no design meets the profile's information-loss target) a sentence instead of the table."""

    name: str
    table: pd.DataFrame | None
    """The released table (``None`` when replaced by ``sentence``)."""
    sentence: str | None
    """What can be said when the table cannot be published."""
    note: str
    """Footnote for the document: how the table was modified and what the markers mean."""
    modification: str
    """How redesign changed the table ("" when published as designed)."""
    merged_categories: int
    suppressed_share: float | None
    count_columns: tuple[str, ...] = ()
    designs_tried: int = 1

    def display_table(self) -> pd.DataFrame:
        """The table to show; when replaced, a one-cell table holding the sentence."""
        if self.table is not None:
            return self.table
        return pd.DataFrame({"Not published": [self.sentence or ""]})


def disclosure_footnote(profile: str | None = None) -> str:
    """The sentence explaining the profile's markers, for a table or figure caption."""
    return get_profile(profile).footnote


def _check_counts(frame: pd.DataFrame, columns: Sequence[str], name: str) -> np.ndarray:
    """Return the count columns as a float matrix, or raise naming table, row, column and rule."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DisclosureError(f"table {name!r}: count column(s) {missing} not in the table "
                              f"(columns: {list(frame.columns)})")
    matrix = np.zeros((len(frame), len(columns)))
    for j, column in enumerate(columns):
        numbers = pd.to_numeric(frame[column], errors="coerce")
        for position, (label, raw, number) in enumerate(zip(frame.index, frame[column], numbers)):
            if pd.isna(number) or number < 0 or float(number) != int(number):
                raise DisclosureError(
                    f"table {name!r}, row {label!r}, column {column!r}: value {raw!r} breaks "
                    "the rule 'counts are whole numbers >= 0 with no gaps'"
                )
            matrix[position, j] = float(number)
    return matrix


def _total_row_mask(frame: pd.DataFrame, label_columns: Sequence[str]) -> np.ndarray:
    """Rows whose label (in any label column, or the index) says Total/All."""
    mask = np.zeros(len(frame), dtype=bool)
    for column in label_columns:
        mask |= frame[column].astype("string").str.strip().str.lower().isin(TOTAL_LABELS).fillna(False).to_numpy()
    mask |= pd.Index(frame.index).astype("string").str.strip().str.lower().isin(TOTAL_LABELS)
    return mask


def _format(value: float) -> int:
    return int(round(float(value)))


def release_table(
    table: pd.DataFrame,
    *,
    name: str,
    count_columns: Sequence[str],
    profile: str | None = None,
    row_totals_published: bool | None = None,
    percent: Literal["row", "column"] | None = None,
    policy: Policy | None = None,
    column_totals_published: bool | None = None,
) -> pd.DataFrame:
    """Return the display-safe version of a table of counts (see module docstring).

    ``count_columns`` hold counts (whole numbers >= 0); other columns are labels. A row labelled
    Total/All and a count column named Total/All are recognised as margins, checked against the
    cells, and released consistently. Margins are assumed to be published even when absent from
    ``table`` (row totals only when there are two or more category columns; set
    ``row_totals_published=False`` when the count columns do not add up to anything, e.g.
    different waves of the same women). Column totals are assumed published when there are two or
    more rows; set ``column_totals_published=False`` when the rows do not add up to anything
    published (e.g. rows affected by different cleaning rules).

    A table whose name the policy lists as a study-participation count is released as the
    profile's ``participation_counts`` says (``study``: published as counted; ``tre-release``:
    rounded, never redacted), and the exemption is recorded with its justification.

    ``study``: 1-4 become ``<5``, complementary cells ``[c]``, audited so no hidden count can be
    worked out. ``tre-release``: <=7 become ``[REDACTED]``, the rest rounded to 5, totals summed
    from the released counts. ``percent="row"|"column"`` adds ``<column> (%)`` columns computed
    only from released counts. Records the decisions in the disclosure register.
    """
    out, entry = _release_table(table, name=name, count_columns=count_columns, profile=profile,
                                row_totals_published=row_totals_published, percent=percent,
                                policy=policy, kind="table",
                                column_totals_published=column_totals_published)
    record(entry)
    return out


def _release_table(
    table: pd.DataFrame,
    *,
    name: str,
    count_columns: Sequence[str],
    profile: str | None,
    row_totals_published: bool | None,
    percent: Literal["row", "column"] | None,
    policy: Policy | None,
    kind: Literal["table", "figure_counts"],
    column_totals_published: bool | None = None,
) -> tuple[pd.DataFrame, RegisterEntry]:
    """Apply the profile to a table; return the released table and its (unrecorded) register entry."""
    prof = get_profile(profile, policy)
    pol = policy or load_policy()
    exempt = prof.participation_counts != "protect" and pol.is_participation(name)
    if exempt:  # nothing is unsafe; "round" keeps the profile's rounding
        prof = dataclasses.replace(
            prof, max_unsafe_count=0,
            method="suppress" if prof.participation_counts == "publish" else "redact_round")
    count_columns = list(count_columns)
    if not count_columns:
        raise DisclosureError(f"table {name!r}: count_columns is empty")
    label_columns = [c for c in table.columns if c not in count_columns]
    total_rows = _total_row_mask(table, label_columns)
    total_cols = [c for c in count_columns if str(c).strip().lower() in TOTAL_LABELS]
    category_cols = [c for c in count_columns if c not in total_cols]
    if len(total_cols) > 1:
        raise DisclosureError(f"table {name!r}: more than one total column {total_cols}")
    if total_rows.sum() > 1:
        raise DisclosureError(f"table {name!r}: more than one total row")
    all_values = _check_counts(table, count_columns, name)
    body = table.loc[~total_rows]
    interior = all_values[~total_rows][:, [count_columns.index(c) for c in category_cols]]
    # Given margins must agree with the cells, or suppression would protect the wrong numbers.
    if total_cols:
        given = all_values[~total_rows][:, count_columns.index(total_cols[0])]
        for label, have, want in zip(body.index, given, interior.sum(axis=1)):
            if have != want:
                raise DisclosureError(f"table {name!r}, row {label!r}, column {total_cols[0]!r}: "
                                      f"total {have:g} is not the row sum {want:g}")
    if total_rows.any():
        given_row = all_values[total_rows][0]
        sums = all_values[~total_rows].sum(axis=0)
        for column, have, want in zip(count_columns, given_row, sums):
            if have != want:
                raise DisclosureError(f"table {name!r}, total row, column {column!r}: total "
                                      f"{have:g} is not the column sum {want:g}")

    row_margin = len(category_cols) >= 2 if row_totals_published is None else (
        row_totals_published and len(category_cols) >= 2)
    if total_cols:
        row_margin = True
    column_margin = interior.shape[0] >= 2 or bool(total_rows.any())
    if column_totals_published is False and not total_rows.any():
        column_margin = False
    sensitive = pol.is_sensitive(name)
    mode = prof.group_disclosure_sensitive if sensitive else prof.group_disclosure
    if exempt:
        mode = "ignore"
    groups = group_disclosure_rows(interior) if (row_margin and mode != "ignore") else []
    hide_rows = groups if mode == "suppress" else []
    labels_of = ([" | ".join(str(v) for v in row) for row in body[label_columns].itertuples(index=False)]
                 if label_columns else [str(label) for label in body.index])
    entry = RegisterEntry(table=name, kind=kind, profile=prof.name, passed=True,
                          cells=int(interior.size))
    if exempt:
        entry.exemption = pol.participation_justification
        how = ("published as counted" if prof.participation_counts == "publish"
               else f"rounded to the nearest {prof.rounding_base}, not redacted")
        entry.notes.append(f"study-participation count {how} (accepted exception to "
                           "small-cell suppression)")
    if groups:
        entry.group_disclosures = [
            f"row {labels_of[i]!r}: only {category_cols[int(np.argmax(interior[i] > 0))]!r} non-zero"
            for i in groups]
        entry.notes.append(f"group disclosure {'suppressed' if hide_rows else 'flagged'}"
                           f"{' (sensitive table)' if sensitive else ''}")

    out = table.copy()
    display: dict[tuple[int, str], object] = {}
    body_positions = np.flatnonzero(~total_rows)
    total_position = int(np.flatnonzero(total_rows)[0]) if total_rows.any() else None
    if prof.method == "suppress":
        result = suppress_matrix(interior, prof, row_margin=row_margin,
                                 column_margin=column_margin, group_rows=hide_rows)
        marker = {"primary": prof.primary_marker, "secondary": prof.secondary_marker}
        n_cat = len(category_cols)
        for i, position in enumerate(body_positions):
            for j, column in enumerate(category_cols):
                state = result.status[i, j]
                display[(position, column)] = marker.get(state, _format(result.values[i, j]))
            if total_cols:
                state = result.status[i, n_cat] if row_margin else "shown"
                display[(position, total_cols[0])] = marker.get(state, _format(interior[i].sum()))
        if total_position is not None:
            last = result.values.shape[0] - 1
            for j, column in enumerate(category_cols):
                state = result.status[last, j]
                display[(total_position, column)] = marker.get(state, _format(result.values[last, j]))
            if total_cols:
                state = result.status[last, n_cat] if row_margin else "shown"
                display[(total_position, total_cols[0])] = marker.get(state, _format(interior.sum()))
        entry.primary_suppressed = result.primary
        entry.secondary_suppressed = result.secondary
        released_interior = np.where(result.status[: interior.shape[0], :n_cat] == "shown",
                                     interior, np.nan)
        row_denominator = np.where(
            (result.status[: interior.shape[0], n_cat] == "shown") if row_margin else True,
            interior.sum(axis=1), np.nan)
        col_denominator = np.where(
            (result.status[-1, :n_cat] == "shown") if column_margin else True,
            interior.sum(axis=0), np.nan)
    else:
        released, redacted = redact_and_round(interior, prof, group_rows=hide_rows)
        for i, position in enumerate(body_positions):
            for j, column in enumerate(category_cols):
                display[(position, column)] = (prof.primary_marker if redacted[i, j]
                                               else _format(released[i, j]))
            if total_cols:
                display[(position, total_cols[0])] = (
                    prof.primary_marker if redacted[i].all() and interior[i].sum() > 0
                    else _format(np.nansum(released[i])))
        if total_position is not None:
            for j, column in enumerate(category_cols):
                display[(total_position, column)] = _format(np.nansum(released[:, j]))
            if total_cols:
                display[(total_position, total_cols[0])] = _format(np.nansum(released))
        entry.primary_suppressed = int(redacted.sum())
        entry.rounded = True
        entry.notes.append(f"counts rounded to nearest {prof.rounding_base}; totals from released counts")
        released_interior = released
        row_denominator = np.nansum(released, axis=1)
        col_denominator = np.nansum(released, axis=0)

    for column in count_columns:
        values = [display.get((position, column)) for position in range(len(out))]
        if all(isinstance(v, int) for v in values):
            out[column] = pd.array(values, dtype="Int64")
        else:
            out[column] = pd.Series(values, index=out.index, dtype="object")
    entry.count_cells, entry.suppressed_cells = suppression_count(out, count_columns)
    if percent is not None:
        out = _add_percentages(out, body_positions, category_cols, released_interior,
                               row_denominator if percent == "row" else col_denominator,
                               percent, prof.secondary_marker)
    return out, entry


def release_sensitive_table(
    table: pd.DataFrame,
    *,
    name: str,
    count_columns: Sequence[str],
    what: str = "people",
    profile: str | None = None,
    row_totals_published: bool | None = None,
    column_totals_published: bool | None = None,
    policy: Policy | None = None,
) -> ReleasedTable:
    """Redesign a sensitive table before suppressing it; return the design that publishes most.

    Candidate designs come from the policy's ``redesign`` rule for ``name`` (see
    :mod:`analysis.protect.redesign`): the table as it is, then every subset of the declared steps applied
    in order. Each is released exactly as :func:`release_table` would (primary and secondary
    suppression with the exact recovery audit, or redaction and rounding); a design qualifies
    when every check passed, at most the profile's ``max_suppressed_share`` of its count cells is
    suppressed and at least one is shown. Among qualifying designs the one showing most count
    cells wins (ties: fewest categories merged, then the steps declared first). When none
    qualifies, the table is replaced by a sentence giving what can be said (the total, itself
    disclosure-controlled). ``what`` names the units counted ("babies"). The chosen design (or
    the replacement) is recorded in the disclosure register with its suppressed share, the
    categories merged and how it was modified.
    """
    from analysis.protect import redesign

    prof = get_profile(profile, policy)
    pol = policy or load_policy()
    designs = redesign.candidate_designs(table, count_columns, pol.redesign_rule(name), prof, name=name)
    best: tuple[tuple[int, int, tuple[int, ...]], redesign.Design, pd.DataFrame, RegisterEntry] | None = None
    for design in designs:
        out, entry = _release_table(design.table, name=name, count_columns=list(design.count_columns),
                                    profile=prof.name, row_totals_published=row_totals_published,
                                    percent=None, policy=pol, kind="table",
                                    column_totals_published=column_totals_published)
        shown = entry.count_cells - entry.suppressed_cells
        share = entry.suppressed_cells / entry.count_cells if entry.count_cells else 1.0
        if not entry.passed or shown == 0 or share > prof.max_suppressed_share + 1e-9:
            continue
        key = (-shown, design.merged_categories, design.steps)
        if best is None or key < best[0]:
            best = (key, design, out, entry)
    tried = f"{len(designs)} design(s) tried"
    if best is None:
        sentence = _replacement_sentence(table, count_columns, name=name, what=what, profile=prof,
                                         policy=pol, designs=designs)
        entry = RegisterEntry(table=name, kind="table", profile=prof.name, passed=True,
                              cells=int(len(table) * len(count_columns)), replaced_by_sentence=True,
                              modification=f"replaced by a sentence: no design showed any count with "
                                           f"at most {prof.max_suppressed_share:.0%} of cells suppressed",
                              notes=[tried])
        record(entry)
        return ReleasedTable(name=name, table=None, sentence=sentence, note=sentence,
                             modification=entry.modification, merged_categories=0,
                             suppressed_share=None, count_columns=tuple(count_columns),
                             designs_tried=len(designs))
    _key, design, out, entry = best
    entry.merged_categories = design.merged_categories
    entry.modification = "; ".join(design.descriptions)
    entry.notes.append(tried + (f"; chosen: {entry.modification}" if design.modified else "; chosen: as designed"))
    record(entry)
    share = entry.suppressed_cells / entry.count_cells if entry.count_cells else None
    return ReleasedTable(name=name, table=out, sentence=None,
                         note=_table_note(design, entry, prof), modification=entry.modification,
                         merged_categories=design.merged_categories, suppressed_share=share,
                         count_columns=design.count_columns, designs_tried=len(designs))


def _table_note(design: object, entry: RegisterEntry, prof: object) -> str:
    """Footnote: how the table was modified, then how many cells are withheld and why."""
    from analysis.protect.redesign import Design

    assert isinstance(design, Design)
    parts = []
    if design.modified:
        parts.append("To protect small counts the table was redesigned before any cell was "
                     f"withheld: {'; '.join(design.descriptions)}.")
    if entry.suppressed_cells:
        parts.append(f"{entry.suppressed_cells} of {entry.count_cells} cells withheld. "
                     f"{getattr(prof, 'footnote', '')}")
    elif entry.rounded:
        parts.append(f"No cell withheld. {getattr(prof, 'footnote', '')}")
    else:
        parts.append("No cell withheld.")
    return " ".join(parts)


def _replacement_sentence(table: pd.DataFrame, count_columns: Sequence[str], *, name: str, what: str,
                          profile: object, policy: Policy, designs: Sequence[object]) -> str:
    """What can be said of a table no design can publish: its total, disclosure-controlled."""
    from analysis.protect.policy import Profile

    assert isinstance(profile, Profile)
    total = int(pd.to_numeric(table[list(count_columns)].stack(), errors="coerce").fillna(0).sum())
    released, _entry = _release_table(pd.DataFrame({"item": ["covered"], "n": [total]}), name=name,
                                      count_columns=["n"], profile=profile.name,
                                      row_totals_published=False, percent=None, policy=policy,
                                      kind="table")
    value = released.at[0, "n"]
    if isinstance(value, str):
        amount = f"{profile.max_unsafe_count} or fewer {what}" if value == profile.primary_marker \
            else f"a small number of {what}"
    else:
        amount = f"{'about ' if profile.rounding_base and profile.method == 'redact_round' else ''}{int(value)} {what}"
    redesigned = "even after redesign (merging categories, combining rows) " if len(designs) > 1 else ""
    return (f"Not published: the table covers {amount}, but {redesigned}more than "
            f"{profile.max_suppressed_share:.0%} of its cells would have to be withheld to "
            "protect small counts.")


def suppression_count(released: pd.DataFrame, count_columns: Sequence[str]) -> tuple[int, int]:
    """(count cells shown, of which shown as a marker) in a released table's count columns."""
    cells = released[list(count_columns)]
    hidden = cells.map(lambda v: isinstance(v, str)).to_numpy()
    return int(cells.size), int(hidden.sum())


def _add_percentages(out: pd.DataFrame, body_positions: np.ndarray, category_cols: list[str],
                     released: np.ndarray, denominator: np.ndarray, direction: str,
                     marker: str) -> pd.DataFrame:
    """Insert ``<column> (%)`` after each category column, from released counts only."""
    out = out.copy()
    for j, column in enumerate(category_cols):
        shares: list[object] = [pd.NA] * len(out)
        for i, position in enumerate(body_positions):
            base = denominator[i] if direction == "row" else denominator[j]
            count = released[i, j]
            if np.isnan(count) or np.isnan(base):
                shares[position] = marker
            elif base == 0:
                shares[position] = pd.NA
            else:
                shares[position] = round(100.0 * count / base, 1)
        out.insert(out.columns.get_loc(column) + 1, f"{column} (%)",
                   pd.Series(shares, index=out.index, dtype="object"))
    return out


def release_counts(
    counts: pd.DataFrame,
    *,
    name: str,
    count_column: str,
    profile: str | None = None,
    by: Sequence[str] | None = None,
    policy: Policy | None = None,
) -> pd.DataFrame:
    """Make the counts behind a figure safe; same rows, plus a boolean ``suppressed`` column.

    ``counts`` is long format: label columns plus ``count_column``. The labels are pivoted into a
    two-way table (rows: ``by``, default the first label column; columns: the remaining labels)
    and treated exactly as :func:`release_table` would, margins assumed known. Suppressed or
    redacted counts become missing (``<NA>``); released counts are whole numbers (rounded to 5
    under ``tre-release``).
    """
    prof = get_profile(profile, policy)
    if count_column not in counts.columns:
        raise DisclosureError(f"figure counts {name!r}: no column {count_column!r} "
                              f"(columns: {list(counts.columns)})")
    labels = [c for c in counts.columns if c != count_column and c != "suppressed"]
    _check_counts(counts, [count_column], name)
    if counts.duplicated(labels).any():
        first = counts.index[counts.duplicated(labels)][0]
        raise DisclosureError(f"figure counts {name!r}, row {first!r}: labels {labels} repeat "
                              "(rule: one count per combination of labels)")
    if counts.empty:  # nothing to disclose; still recorded, so the output check sees the figure
        out = counts.copy()
        out[count_column] = pd.array([], dtype="Int64")
        out["suppressed"] = pd.array([], dtype="bool")
        record(RegisterEntry(table=name, kind="figure_counts", profile=prof.name, passed=True,
                             notes=["no counts to release"]))
        return out
    rows = list(by) if by is not None else labels[:1]
    cols = [c for c in labels if c not in rows]
    work = counts.reset_index(drop=True).copy()
    row_key = work[rows].astype("string").agg(" | ".join, axis=1) if rows else pd.Series("all", index=work.index)
    col_key = work[cols].astype("string").agg(" | ".join, axis=1) if cols else pd.Series("n", index=work.index)
    wide = (pd.DataFrame({"_row": row_key, "_col": col_key, "_n": pd.to_numeric(work[count_column])})
            .pivot(index="_row", columns="_col", values="_n").fillna(0))
    col_names = [str(c) for c in wide.columns]
    safe_wide = wide.copy()
    safe_wide.columns = col_names
    released, entry = _release_table(safe_wide.reset_index(), name=name, count_columns=col_names,
                                     profile=prof.name, row_totals_published=None, percent=None,
                                     policy=policy, kind="figure_counts")
    released = released.set_index("_row")
    out = counts.copy()
    values = []
    flags = []
    for r, c in zip(row_key, col_key):
        shown = released.loc[r, c]
        if isinstance(shown, str):
            values.append(pd.NA)
            flags.append(True)
        else:
            values.append(int(shown))
            flags.append(False)
    out[count_column] = pd.array(values, dtype="Int64")
    out["suppressed"] = pd.array(flags, dtype="bool")
    record(entry)
    return out


def release_reference_table(table: pd.DataFrame, *, name: str, source: str,
                            profile: str | None = None, policy: Policy | None = None) -> pd.DataFrame:
    """Release a table that holds no data about participants: configuration or definitions.

    For example the sites' models of care (from ``analysis/config/sites.csv``) or the definitions
    of trajectory classes. It is recorded in the register (so the output check sees that it went
    through the gate, and from where) but nothing is suppressed. A numeric column is refused:
    counts must go through :func:`release_table`.
    """
    prof = get_profile(profile, policy)
    numeric = [str(c) for c in table.columns if pd.api.types.is_numeric_dtype(table[c])
               and not pd.api.types.is_bool_dtype(table[c])]
    if numeric:
        raise DisclosureError(f"table {name!r}: numeric column(s) {numeric} in a reference table "
                              "(rule: counts go through release_table)")
    record(RegisterEntry(table=name, kind="reference", profile=prof.name, passed=True,
                         cells=int(table.size), notes=[f"reference table from {source}: no data about participants"]))
    return table.copy()


def release_text_columns(released: pd.DataFrame, columns: Sequence[str], *, name: str, of: str,
                         profile: str | None = None, policy: Policy | None = None) -> pd.DataFrame:
    """Show label and text columns of a table :func:`release_table` already released (its
    example quotations, say) as a table of their own, so a wide table can be set as two.

    Only columns of ``released`` are shown, and no numeric one (counts stay in the released
    table, under its disclosure control). Recorded in the register as part of ``of``.
    """
    prof = get_profile(profile, policy)
    missing = [str(c) for c in columns if c not in released.columns]
    numeric = [str(c) for c in columns if c in released.columns
               and pd.api.types.is_numeric_dtype(released[c]) and not pd.api.types.is_bool_dtype(released[c])]
    if missing or numeric:
        raise DisclosureError(f"table {name!r}: " + (f"column(s) {missing} not in the released table {of!r}"
                                                     if missing else f"numeric column(s) {numeric} (rule: "
                                                     "counts are shown only in the table released with them)"))
    shown = released.loc[:, list(columns)].copy()
    record(RegisterEntry(table=name, kind="reference", profile=prof.name, passed=True, cells=int(shown.size),
                         notes=[f"text columns of {of}, released with its counts"]))
    return shown


def release_counts_by_row(
    counts: pd.DataFrame,
    *,
    name: str,
    count_column: str,
    row_columns: list[str],
    profile: str | None = None,
) -> pd.DataFrame:
    """Release figure counts one row group at a time through :func:`release_counts`.

    Use this when each row of a figure is its own distribution and the figure publishes no
    totals across rows (e.g. one service's contacts over time, one service's hand-offs to the
    next service): each group is protected against its own row total, and the cost of the exact
    secondary-suppression audit stays small. Rows keep their order; empty input gives an empty
    frame with a ``suppressed`` column.
    """
    if counts.empty:
        return counts.assign(suppressed=pd.Series(dtype=bool))
    parts = [
        release_counts(group.reset_index(drop=True), name=name, count_column=count_column, by=row_columns, profile=profile)
        for _, group in counts.groupby(row_columns, sort=False)
    ]
    return pd.concat(parts, ignore_index=True)
