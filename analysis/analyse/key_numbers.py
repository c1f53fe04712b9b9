"""The numbers the report's prose quotes, written to ``_variables.yml`` for Quarto ``{{< var >}}``.

``compute_key_numbers`` derives every number from the derived tables and passes each count
through ``analysis.protect.outputs`` (disclosure control), so the prose never quotes an unsafe number.
Values are already formatted for reading ("36", "<5", "2.3", "89%"); nested keys are read in
Quarto as ``{{< var contacts.east_london.before_per_woman >}}``. ``synthetic`` is always present.
``write_variables`` writes the YAML atomically.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import pandas as pd
import yaml

from analysis.analyse import prose
from analysis.analyse.models_of_care import (
    ALL_SITES, contacts_by_site_period, placements_by_site, release_placement_table,
    release_placements, women_by_site,
)
from analysis.analyse.site_profile import (
    interview_flow, read_sites, recruited_women, retention_summary,
)
from analysis.analyse.themes import themes_of
from analysis.core import atomic
from analysis.protect import outputs
from analysis.protect.outputs import ReleasedTable
from analysis.protect.policy import get_profile

WAVES: Final[tuple[int, ...]] = (1, 2, 3, 4, 5)
NAME_PREFIX: Final[str] = "key-numbers"
"""Prefix of the disclosure-register names of the key numbers."""


def is_synthetic(folder: str | os.PathLike[str] | None = None, tables: Mapping[str, pd.DataFrame] | None = None) -> bool:
    """Whether the derived data come from synthetic data.

    Looks, in order, at ``manifest.json`` in ``folder`` (a boolean ``synthetic`` key, else a
    ``data_raw``/``DATA_RAW`` path with a ``synthetic`` folder), then at the contact logs' source
    file names (the shipped study's files start with ``SYNTHETIC_``), then at ``$DATA_RAW``.
    When nothing tells, the answer is ``True`` (label too much rather than too little).
    """
    if folder is not None:
        manifest = Path(folder) / "manifest.json"
        if manifest.is_file():
            try:
                meta = json.loads(manifest.read_text(encoding="utf-8"))
            except json.JSONDecodeError as error:
                raise ValueError(f"{manifest}: not valid JSON ({error})") from error
            if isinstance(meta, dict):
                if isinstance(meta.get("synthetic"), bool):
                    return bool(meta["synthetic"])
                raw = str(meta.get("data_raw") or meta.get("DATA_RAW") or "")
                if raw:
                    return "synthetic" in Path(raw).as_posix().lower().split("/")
    if tables is not None and "contacts" in tables and "source_file" in tables["contacts"].columns:
        files = tables["contacts"]["source_file"].dropna().astype(str)
        if not files.empty:
            return bool(files.str.upper().str.startswith("SYNTHETIC_").all())
    raw_env = os.environ.get("DATA_RAW")
    return raw_env is None or "synthetic" in raw_env.lower()


def compute_key_numbers(
    tables: Mapping[str, pd.DataFrame], *, synthetic: bool, profile: str | None = None
) -> dict[str, Any]:
    """Return the nested dict of formatted, disclosure-safe key numbers (see module docstring)."""
    participants = tables["participants"]
    interviews = tables["interviews"]
    contacts = tables["contacts"]
    women = recruited_women(participants)
    n_recruited = len(women)
    numbers: dict[str, Any] = {"synthetic": bool(synthetic)}

    sites = women_by_site(participants)
    numbers["women"] = {
        "screened": _release_single(len(participants), f"{NAME_PREFIX}/screened", profile),
        "recruited": _release_single(n_recruited, f"{NAME_PREFIX}/recruited", profile),
        "sites": str(len(sites)),
        "by_site": _release_column(sites, "site", "women", f"{NAME_PREFIX}/women-by-site", profile),
    }

    done = interviews.loc[(interviews["status"] == "completed").fillna(False)]
    released_flow = release_retention(interviews, name=f"{NAME_PREFIX}/interviews-by-wave", profile=profile)
    completed = dict(zip(released_flow["Wave"], released_flow["Completed"], strict=True))
    wave_values = {f"wave_{w}": _fmt_value(completed.get(str(w), 0)) for w in WAVES}
    numbers["interviews"] = {**wave_values, "total": _fmt_value(completed.get("Total", 0))}
    numbers["retention"] = {
        "wave_5_pct": _pct(wave_values["wave_5"], n_recruited),
        "completed_all_waves": _release_single(
            int((done.groupby("study_id")["wave"].nunique() == len(WAVES)).sum()),
            f"{NAME_PREFIX}/completed-all-waves",
            profile,
        ),
    }

    periods = contacts_by_site_period(contacts, participants)
    released_periods = outputs.release_counts(
        periods[["site", "period", "contacts"]], name=f"{NAME_PREFIX}/contacts-by-site-period", count_column="contacts", profile=profile
    )
    contact_numbers: dict[str, Any] = {"total": _fmt_int(len(contacts))}
    women_at = dict(zip(sites["site"], sites["women"], strict=True))
    for site, group in released_periods.groupby("site", sort=False):
        entry = {}
        for row in group.itertuples(index=False):
            entry[f"{row.period}_per_woman"] = (
                _marker(profile) if bool(row.suppressed) else f"{int(row.contacts) / max(women_at[site], 1):.1f}"
            )
        contact_numbers[str(site)] = entry
    numbers["contacts"] = contact_numbers

    placements = placements_by_site(participants)
    placement_numbers: dict[str, Any] = {}
    site_codes = {label: code for code, label in read_sites()[["code", "label"]].itertuples(index=False)}
    all_sites = release_placements(placements, name=f"{NAME_PREFIX}/placements", profile=profile)
    all_sites = all_sites.loc[all_sites["site"] == ALL_SITES]
    prof = get_profile(profile)
    for time_label, key, lead, predicate in (
        ("At birth", "at_birth", "At birth,", "went home with their mother"),
        ("At 18 months", "at_18m", "At 18 months,", "were living with their mother"),
    ):
        overall = all_sites.loc[all_sites["time"] == time_label]
        entry: dict[str, Any] = {
            str(row.placement): (_marker(profile) if bool(row.suppressed) else _fmt_int(int(row.babies)))
            for row in overall.itertuples(index=False)
        }
        # The same redesigned release as the report's table, so prose and table agree.
        table = release_placement_table(placements, time_label, name=f"{NAME_PREFIX}/placements-{key}-by-site",
                                        profile=profile)
        with_mother, by_site = with_mother_counts(table, site_codes)
        entry["with_mother"] = with_mother
        entry["with_mother_by_site"] = by_site
        entry["with_mother_pct"] = _pct(with_mother, n_recruited) if with_mother else "not published"
        entry["table_note"] = table.note
        entry["sentence"] = prose.share_sentence(
            with_mother or None, n_recruited, prof, lead=lead, noun="babies", predicate=predicate,
            what=f"how many babies {predicate} {time_label.lower()}",
        )
        placement_numbers[key] = entry
    numbers["placements"] = placement_numbers

    professionals = tables.get("professionals", pd.DataFrame(columns=["prof_id", "data_collection", "document"]))
    numbers["professionals"] = {
        "total": _release_single(int(professionals["prof_id"].nunique()), f"{NAME_PREFIX}/professionals", profile),
        "focus_groups": _fmt_int(
            int(professionals.loc[professionals["data_collection"].astype(str).str.contains("focus", case=False), "document"].nunique())
        ),
        "interviews": _fmt_int(
            int(professionals.loc[professionals["data_collection"].astype(str).str.contains("interview", case=False), "document"].nunique())
        ),
    }
    segments = tables["segments"]
    prof_segments = tables.get("professional_segments", pd.DataFrame(columns=["segment_id", "coder"]))
    codebook = tables["codebook"]
    numbers["coding"] = {
        "segments_women": _fmt_int(len(segments)),
        "segments_professionals": _fmt_int(len(prof_segments)),
        "codes": _fmt_int(len(codebook)),
        "themes": _fmt_int(len(themes_of(codebook))),
        "coders": _fmt_int(int(pd.concat([segments["coder"], prof_segments["coder"]]).dropna().nunique())),
        "documents_women": _fmt_int(int(segments["document"].nunique())),
    }
    if "cleaning_log" in tables:  # the note under the report's cleaning summary (same release)
        from analysis.clean.report import release_cleaning_summary

        cleaning = release_cleaning_summary(tables["cleaning_log"], name=f"{NAME_PREFIX}/cleaning-summary",
                                            profile=profile)
        numbers["cleaning"] = {"table_note": cleaning.note}
    return numbers


def with_mother_counts(table: ReleasedTable, site_codes: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """From a released placements table: the all-sites "With mother" value (formatted, a marker,
    or "" when the design does not show it) and one value per site code ("not published" when
    the chosen design combined the sites or the table was replaced by a sentence)."""
    released = table.table
    sites = list(site_codes.values())
    hidden = {code: "not published" for code in sites}
    if released is None or "With mother" not in released.columns:
        return "", hidden
    labels = released.iloc[:, 0].astype(str)
    values = dict(zip(labels, released["With mother"], strict=True))
    by_site = {site_codes[label]: _fmt_value(value) for label, value in values.items() if label in site_codes}
    if by_site:
        shown = [int(str(v).replace(",", "")) for v in by_site.values() if str(v).replace(",", "").isdigit()]
        total = _fmt_int(sum(shown)) if len(shown) == len(by_site) else ""
        return total, {**hidden, **by_site}
    return (_fmt_value(next(iter(values.values()))) if len(values) == 1 else ""), hidden


def release_retention(interviews: pd.DataFrame, *, name: str, profile: str | None = None) -> pd.DataFrame:
    """Interview status by wave for all sites with a Total row, through ``release_table``.

    The same release feeds the synthesis table and the key numbers, so the prose and the table
    always show the same (suppressed) values. Rows sum to the women recruited.
    """
    table = retention_summary(interview_flow(interviews), with_total=True)
    counts = [c for c in table.columns if c not in ("Wave", "Timing")]
    return outputs.release_table(table, name=name, count_columns=counts, profile=profile)


def write_variables(numbers: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``numbers`` as YAML to ``path`` atomically (temporary file, then rename).

    Raises ``ValueError`` when ``synthetic`` is missing or not a boolean, or a value is not a
    string, number, boolean or nested mapping of those.
    """
    if not isinstance(numbers.get("synthetic"), bool):
        raise ValueError(f"key_numbers.write_variables: 'synthetic' must be present and true/false, got {numbers.get('synthetic')!r}")
    _check_values(numbers, "")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = (
        "# Key numbers quoted by the report ({{< var key >}}). Written by notebooks/03_synthesis via\n"
        "# key_numbers.write_variables; do not edit by hand. Values are disclosure-safe.\n"
        + yaml.safe_dump(_plain(numbers), sort_keys=True, allow_unicode=True, default_flow_style=False)
    )
    atomic.write_if_changed(target, text.encode("utf-8"))  # unchanged numbers keep their mtime
    return target


def flatten(numbers: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Return ``{"a.b.c": value}`` for a nested dict (the keys Quarto's ``var`` shortcode takes)."""
    flat: dict[str, Any] = {}
    for key, value in numbers.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            flat.update(flatten(value, name))
        else:
            flat[name] = value
    return flat


def _release_column(frame: pd.DataFrame, label: str, count: str, name: str, profile: str | None) -> dict[str, str]:
    """Release one count column (rows = categories sharing a known total) and format each value."""
    if frame.empty:
        return {}
    released = outputs.release_table(frame[[label, count]].reset_index(drop=True), name=name, count_columns=[count], profile=profile)
    return {str(k): _fmt_value(v) for k, v in zip(released[label], released[count], strict=True)}


def _release_single(value: int, name: str, profile: str | None) -> str:
    """Release one stand-alone count."""
    frame = pd.DataFrame({"item": ["n"], "n": [int(value)]})
    return _release_column(frame, "item", "n", name, profile)["n"]


def _marker(profile: str | None) -> str:
    """The primary-suppression marker of the active profile."""
    from analysis.protect.policy import get_profile

    return get_profile(profile).primary_marker


def _fmt_value(value: Any) -> str:
    """Format a released count: whole numbers with thousands separators, markers unchanged."""
    if isinstance(value, str):
        return value
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return ""
    return _fmt_int(int(value))


def _fmt_int(value: int) -> str:
    """1234 -> '1,234'."""
    return f"{int(value):,}"


def _pct(released_count: str, denominator: int) -> str:
    """Percentage of a released count (a marker stays a marker)."""
    try:
        count = int(str(released_count).replace(",", ""))
    except ValueError:
        return str(released_count)
    if denominator <= 0:
        return ""
    return f"{100 * count / denominator:.0f}%"


def _check_values(numbers: Mapping[str, Any], where: str) -> None:
    """Every leaf must be a plain scalar."""
    for key, value in numbers.items():
        name = f"{where}.{key}" if where else str(key)
        if isinstance(value, Mapping):
            _check_values(value, name)
        elif not isinstance(value, str | int | float | bool):
            raise ValueError(f"key_numbers.write_variables: value of {name!r} is {type(value).__name__}, not a formatted scalar")


def _plain(numbers: Mapping[str, Any]) -> dict[str, Any]:
    """Copy into plain dicts (YAML safe_dump rejects other mapping types)."""
    return {str(k): (_plain(v) if isinstance(v, Mapping) else v) for k, v in numbers.items()}
