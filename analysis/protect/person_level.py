"""Releasing rows about individual people: participant-level tables and consented items.

Owns :func:`release_participant_level` (quasi-identifiers generalised until k-anonymity holds)
and :func:`release_items` (only the diary items and drawings whose consent permits the use, their
text screened for identifiers, each item recorded with its consent in the register). Reads the
``participants``, ``diary_entries`` and ``drawings`` derived tables as the analyses pass them;
the released rows go to the notebooks' outputs (CONTRACTS.md "Notebook outputs").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import pandas as pd

from analysis.protect.disclosure import anonymise_participant_level
from analysis.protect.policy import DisclosureError, Policy, get_profile, load_policy
from analysis.protect.register import RegisterEntry, record

CONSENT_ALLOWS: dict[str, tuple[str, ...]] = {"quote": ("quote", "image"), "image": ("image",)}
"""Which consent levels permit each use of a participant's diary item or drawing in an output:
words (``quote``: a transcript quote, her own label, the coded description) or the image
itself, de-identified (``image``). Consent ``none`` permits nothing."""


def release_participant_level(
    table: pd.DataFrame,
    *,
    name: str,
    quasi_identifiers: Sequence[str],
    k: int = 3,
    profile: str | None = None,
    id_column: str | None = None,
    policy: Policy | None = None,
) -> tuple[pd.DataFrame, int]:
    """Generalise quasi-identifiers until k-anonymity holds; return (table, achieved k).

    Hierarchies from the policy: ethnicity -> broad group -> Any; age band -> wider band -> Any;
    parity -> 0/1/2+ -> Any; site (and any other column) -> Any, site only as a last resort.
    The target is the larger of ``k`` and the profile's ``k_anonymity``. ``id_column`` makes k
    count distinct people when a person has several rows. If even "Any" everywhere cannot reach
    the target (too few people), the fully generalised table is returned and the register
    entry fails, so the output check stops the build.
    """
    prof = get_profile(profile, policy)
    pol = policy or load_policy()
    target = max(int(k), int(prof.k_anonymity))
    out, achieved, levels = anonymise_participant_level(table, list(quasi_identifiers), k=target,
                                                        policy=pol, id_column=id_column)
    entry = RegisterEntry(table=name, kind="participant_level", profile=prof.name,
                          passed=achieved >= target, cells=int(len(table)), k_target=target,
                          k_achieved=achieved, generalised={c: int(v) for c, v in levels.items() if v})
    if achieved < target:
        entry.notes.append(f"k={achieved} below target {target} even fully generalised")
    record(entry)
    return out, achieved


def release_items(
    items: pd.DataFrame,
    *,
    name: str,
    use: Literal["quote", "image"],
    id_column: str,
    consent_column: str = "consent",
    text_columns: Sequence[str] = (),
    kind: str = "item",
    profile: str | None = None,
    policy: Policy | None = None,
) -> pd.DataFrame:
    """Release participants' diary items or drawings: only those whose consent permits ``use``.

    Rows whose consent does not permit the use are dropped (never shown); the text in
    ``text_columns`` of the rows kept goes through the same identifier screening as cleaning
    (:func:`analysis.protect.identifiers.scan_text`): a hit raises :class:`DisclosureError`. The
    register entry lists every item used with its consent, so the output-check log records
    each diary item or drawing that reached an output.
    """
    from analysis.protect import identifiers

    prof = get_profile(profile, policy)
    if use not in CONSENT_ALLOWS:
        raise ValueError(f"use must be one of {sorted(CONSENT_ALLOWS)}, not {use!r}")
    for column in (id_column, consent_column, *text_columns):
        if column not in items.columns:
            raise DisclosureError(f"{name}: column {column!r} missing (rule: consent per item)")
    consent = items[consent_column].astype("string")
    if consent.isna().any():
        item = items.loc[consent.isna(), id_column].iloc[0]
        raise DisclosureError(f"{name}: {kind} {item} has no consent recorded (rule: consent per item)")
    keep = consent.isin(CONSENT_ALLOWS[use]).to_numpy()
    out = items.loc[keep].reset_index(drop=True)
    for column in text_columns:
        for item, text in zip(out[id_column], out[column]):
            hits = identifiers.scan_text(str(text), file=name) if isinstance(text, str) else []
            if hits:
                raise DisclosureError(f"{name}: {kind} {item}, column {column!r}: possible "
                                      f"{hits[0].kind} {hits[0].masked} (rule: no identifiers)")
    used = list(dict.fromkeys(zip(out[id_column].astype(str), out[consent_column].astype(str))))
    notes = [f"consented item: {kind} {item} used as {use}, consent {level}" for item, level in used]
    withheld = int((~keep).sum())
    if withheld:
        notes.append(f"{withheld} row(s) withheld: consent does not permit {use}")
    record(RegisterEntry(table=name, kind="consented_items", profile=prof.name, passed=True,  # type: ignore[arg-type]
                         cells=int(len(out)), notes=notes))
    return out
