"""Table redesign before suppression: merge categories, move a breakdown up a level, band.

Output-checking practice (UK TRE guidance, SACRO, tau-argus, sdcMicro) protects a sensitive table
by *redesigning* it first and suppressing last. The steps are declared per table family in
``analysis/config/disclosure_policy.yml`` (``redesign``); this module applies them to a wide table
of counts (label columns plus one count column per category) and enumerates the candidate
designs. :func:`analysis.protect.outputs.release_sensitive_table` suppresses each candidate, measures the
loss and keeps the design that publishes most.

Step kinds (pure functions over data frames, each returning ``None`` when it changes nothing):

``merge``
    Fixed groups of categories become one category each (``groups: {new label: [old, ...]}``);
    categories the table does not have are ignored, a group with one present category is renamed.
``up_level``
    Every row is added into one row labelled ``label`` (e.g. sites -> all sites, waves -> all
    waves); the first label column carries the label, other label columns are emptied.
``collapse_rare``
    Categories holding any count from 1 to the profile's ``max_unsafe_count`` are merged into one
    ("A or B" for two, "Other (A, B, C)" for more); when only one category is rare it is merged
    with the smallest other category (merging one category with nothing protects nothing).
``band``
    Ordered categories merged into declared bands (``bands: {band label: [old, ...]}``).
``merge_rows``
    Rows holding any count from 1 to the profile's ``max_unsafe_count`` (sparse rows: rare
    categories listed in rows, rules, sites or waves with few people) are added into one row
    labelled ``label`` (``{n}`` in it becomes the number of rows combined) in the column
    ``label_column`` (default: the first label column); other label columns keep a value the
    combined rows share, else are emptied. When only one row is sparse it is combined with the
    smallest other row. A row labelled Total/All is never combined; combining every other row is
    left to ``up_level``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from analysis.protect.policy import DisclosureError, Profile, RedesignRule


@dataclass(frozen=True)
class Design:
    """One candidate design of a table: the counts and what was done to get them."""

    table: pd.DataFrame
    count_columns: tuple[str, ...]
    steps: tuple[int, ...] = ()
    """Indices (in the rule's declared order) of the steps applied."""
    descriptions: tuple[str, ...] = ()
    """What each applied step did, for the footnote (e.g. "Kinship care and Foster care
    combined as Not with mother")."""
    merged_categories: int = 0
    """Categories merged away (count columns before minus after, plus category rows combined
    by ``merge_rows``)."""
    rows_combined: int = 0
    """Rows merged away by moving the breakdown up a level."""
    notes: tuple[str, ...] = field(default=())

    @property
    def modified(self) -> bool:
        """Whether any step changed the table."""
        return bool(self.steps)


def _counts(table: pd.DataFrame, count_columns: Sequence[str], name: str) -> None:
    missing = [c for c in count_columns if c not in table.columns]
    if missing:
        raise DisclosureError(f"table {name!r}: count column(s) {missing} not in the table "
                              f"(columns: {list(table.columns)})")


def _merge_columns(design: Design, groups: Mapping[str, Sequence[str]], description: str,
                   step: int) -> Design | None:
    """Replace each group of present count columns by one column holding their sum."""
    table = design.table.copy()
    columns = list(design.count_columns)
    done: list[str] = []
    merged = 0
    for label, members in groups.items():
        present = [c for c in columns if c in {str(m) for m in members}]
        if not present or (len(present) == 1 and present[0] == label):
            continue
        position = columns.index(present[0])
        summed = table[present].sum(axis=1).astype("int64")
        table = table.drop(columns=present)
        columns = [c for c in columns if c not in present]
        if label in columns:
            raise DisclosureError(f"redesign step {step + 1}: new category {label!r} is already a "
                                  f"column of the table")
        columns.insert(min(position, len(columns)), str(label))
        table[str(label)] = summed
        merged += len(present) - 1
        done.append(f"{_join(present)} combined as {label}" if len(present) > 1
                    else f"{present[0]} shown as {label}")
    if not done:
        return None
    labels = [c for c in table.columns if c not in columns]
    table = table[labels + columns]
    return Design(table=table, count_columns=tuple(columns), steps=(*design.steps, step),
                  descriptions=(*design.descriptions, f"{description}: {'; '.join(done)}"),
                  merged_categories=design.merged_categories + merged,
                  rows_combined=design.rows_combined)


def merge_categories(design: Design, spec: Mapping[str, Any], step: int = 0) -> Design | None:
    """``merge`` step: declared groups of categories become one category each."""
    return _merge_columns(design, spec["groups"], str(spec["description"]), step)


def band_categories(design: Design, spec: Mapping[str, Any], step: int = 0) -> Design | None:
    """``band`` step: ordered categories merged into declared bands."""
    return _merge_columns(design, spec["bands"], str(spec["description"]), step)


def up_level(design: Design, spec: Mapping[str, Any], step: int = 0) -> Design | None:
    """``up_level`` step: all rows added into one row labelled ``spec['label']``."""
    table = design.table
    if len(table) < 2:
        return None
    labels = [c for c in table.columns if c not in design.count_columns]
    row: dict[str, Any] = {c: "" for c in labels}
    if labels:
        row[labels[0]] = str(spec["label"])
    for column in design.count_columns:
        row[column] = int(table[column].sum())
    combined = pd.DataFrame([row], columns=list(table.columns))
    for column in design.count_columns:
        combined[column] = combined[column].astype("int64")
    return Design(table=combined, count_columns=design.count_columns, steps=(*design.steps, step),
                  descriptions=(*design.descriptions, str(spec["description"])),
                  merged_categories=design.merged_categories,
                  rows_combined=design.rows_combined + len(table) - 1)


def sparse_rows(design: Design, profile: Profile) -> list[int]:
    """Positions of the rows (Total/All rows excepted) holding any count from 1 to the profile's
    ``max_unsafe_count``."""
    table = design.table
    counts = table[list(design.count_columns)].apply(pd.to_numeric, errors="raise")
    small = counts.map(lambda v: 0 < int(v) <= profile.max_unsafe_count).any(axis=1).to_numpy()
    totals = _total_rows(design)
    return [i for i in range(len(table)) if small[i] and not totals[i]]


def merge_rows(design: Design, spec: Mapping[str, Any], profile: Profile, step: int = 0) -> Design | None:
    """``merge_rows`` step: sparse rows added into one combined row (see module docstring).

    Pure: returns a new :class:`Design` (the combined row after the rows kept, before any total
    row) or ``None`` when there is nothing to combine."""
    table = design.table.reset_index(drop=True)
    labels = [c for c in table.columns if c not in design.count_columns]
    if not labels:
        raise DisclosureError(f"redesign step {step + 1} (merge_rows): the table has no label column")
    column = str(spec.get("label_column") or labels[0])
    if column not in labels:
        raise DisclosureError(f"redesign step {step + 1} (merge_rows): label_column {column!r} is not a "
                              f"label column of the table (label columns: {labels})")
    totals = _total_rows(design)
    body = [i for i in range(len(table)) if not totals[i]]
    group = sparse_rows(design, profile)
    if not group:
        return None
    if len(group) == 1:
        others = [i for i in body if i not in group]
        if not others:
            return None
        sums = table[list(design.count_columns)].sum(axis=1)
        group.append(min(others, key=lambda i: (int(sums.iloc[i]), i)))
        group.sort()
    if len(group) >= len(body):
        return None  # combining every row is moving the breakdown up a level (up_level)
    merged = table.iloc[group]
    row: dict[str, Any] = {}
    for label in labels:
        values = merged[label].astype(str).unique()
        row[label] = values[0] if len(values) == 1 else ""
    row[column] = str(spec["label"]).format(n=len(group))
    for count in design.count_columns:
        row[count] = int(merged[count].sum())
    kept = [i for i in body if i not in group]
    pieces = [table.iloc[kept], pd.DataFrame([row], columns=list(table.columns)),
              table.iloc[[i for i in range(len(table)) if totals[i]]]]
    combined = pd.concat(pieces, ignore_index=True)
    for count in design.count_columns:
        combined[count] = combined[count].astype("int64")
    names = [str(v) for v in merged[column]]
    return Design(table=combined, count_columns=design.count_columns, steps=(*design.steps, step),
                  descriptions=(*design.descriptions,
                                f"{spec['description']}: {_join(names)} combined as {row[column]}"),
                  merged_categories=design.merged_categories + len(group) - 1,
                  rows_combined=design.rows_combined + len(group) - 1)


def _total_rows(design: Design) -> list[bool]:
    """Whether each row is a Total/All row (by any label column)."""
    from analysis.protect.policy import TOTAL_LABELS

    table = design.table
    labels = [c for c in table.columns if c not in design.count_columns]
    flags = [False] * len(table)
    for label in labels:
        for i, value in enumerate(table[label].astype(str).str.strip().str.lower()):
            flags[i] = flags[i] or value in TOTAL_LABELS
    return flags


def rare_categories(design: Design, profile: Profile) -> list[str]:
    """Count columns holding any count from 1 to the profile's ``max_unsafe_count``."""
    return [c for c in design.count_columns
            if design.table[c].map(lambda v: 0 < int(v) <= profile.max_unsafe_count).any()]


def collapse_rare(design: Design, spec: Mapping[str, Any], profile: Profile, step: int = 0) -> Design | None:
    """``collapse_rare`` step: rare categories merged into one (see module docstring)."""
    rare = rare_categories(design, profile)
    if not rare or len(design.count_columns) < 2:
        return None
    group = list(rare)
    if len(group) == 1:
        others = [c for c in design.count_columns if c not in group]
        if not others:
            return None
        group.append(min(others, key=lambda c: (int(design.table[c].sum()), design.count_columns.index(c))))
    if len(group) == len(design.count_columns):
        return None  # merging every category leaves only the total: that is not a table
    group = [c for c in design.count_columns if c in group]
    label = (_join(group, "or") if len(group) == 2
             else f"Other ({', '.join(_lower_first(g) for g in group)})")
    return _merge_columns(design, {label: group}, str(spec["description"]), step)


def apply_step(design: Design, spec: Mapping[str, Any], profile: Profile, step: int = 0) -> Design | None:
    """Apply one declared step; ``None`` when it does not change the table."""
    kind = spec.get("kind")
    if kind == "merge":
        return merge_categories(design, spec, step)
    if kind == "band":
        return band_categories(design, spec, step)
    if kind == "up_level":
        return up_level(design, spec, step)
    if kind == "collapse_rare":
        return collapse_rare(design, spec, profile, step)
    if kind == "merge_rows":
        return merge_rows(design, spec, profile, step)
    raise DisclosureError(f"redesign step {step + 1}: unknown kind {kind!r}")


def candidate_designs(table: pd.DataFrame, count_columns: Sequence[str], rule: RedesignRule | None,
                      profile: Profile, *, name: str = "table") -> list[Design]:
    """The original design and every design made by applying a subset of the rule's steps in
    their declared order (steps that change nothing are skipped; duplicates dropped). The
    original comes first, then designs by number of steps, then by declared order."""
    _counts(table, count_columns, name)
    original = Design(table=table.reset_index(drop=True), count_columns=tuple(count_columns))
    designs = [original]
    if rule is None:
        return designs
    seen = {_key(original)}
    steps = list(rule.steps)
    for size in range(1, len(steps) + 1):
        for chosen in itertools.combinations(range(len(steps)), size):
            current: Design | None = original
            for index in chosen:
                assert current is not None
                current = apply_step(current, steps[index], profile, index)
                if current is None:
                    break
            if current is None:
                continue
            key = _key(current)
            if key not in seen:
                seen.add(key)
                designs.append(current)
    return designs


def _key(design: Design) -> tuple[Any, ...]:
    return (design.count_columns, tuple(map(tuple, design.table.astype(str).to_numpy().tolist())))


def _join(items: Sequence[str], word: str = "and") -> str:
    """"A", "A and B", "A, B and C" (the first letter of later items lower-cased)."""
    words = [str(items[0])] + [_lower_first(str(i)) for i in items[1:]]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {word} {words[-1]}"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text
