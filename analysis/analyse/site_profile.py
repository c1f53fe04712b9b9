"""One site's profile: who took part, who stayed, and which services they met when.

Pure functions over the derived tables of ``analysis/CONTRACTS.md``. Each returns a tidy count
table (one count column, ready for ``analysis.protect.outputs.release_table`` / ``release_counts``)
or an altair chart built from an already-released table. A site's results depend only on that
site's rows, so running one site alone gives the same result as running all four.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Final

import altair as alt
import pandas as pd

from analysis.core import palette
from analysis.core.paths import CONFIG_DIR

PHASES: Final[tuple[str, ...]] = ("antenatal", "birth", "postnatal")
"""Contact phases of the contract, in time order."""

PHASE_LABELS: Final[dict[str, str]] = {
    "antenatal": "Antenatal",
    "birth": "Birth (weeks -0.5 to +2)",
    "postnatal": "Postnatal",
}

INTERVIEW_STATUSES: Final[tuple[str, ...]] = ("completed", "missed", "withdrawn", "lost")
"""Interview statuses of the contract, in display order."""


WAVE_LABELS: Final[dict[int, str]] = {
    1: "Pregnancy",
    2: "Birth / 6-8 weeks",
    3: "6 months",
    4: "12 months",
    5: "18 months",
}


class ProfileInputError(ValueError):
    """A derived table does not have what the site profile needs (names table, column, rule)."""


@functools.lru_cache(maxsize=1)
def _sites_config() -> pd.DataFrame:
    sites = pd.read_csv(CONFIG_DIR / "sites.csv", dtype=str)
    for column in ("colocated", "lead_professional", "specialist_midwife"):
        sites[column] = sites[column].str.lower().map({"true": True, "false": False})
    return sites


@functools.lru_cache(maxsize=1)
def _services_config() -> pd.DataFrame:
    services = pd.read_csv(CONFIG_DIR / "services.csv")
    return services.sort_values("order", kind="stable").reset_index(drop=True)


def read_sites() -> pd.DataFrame:
    """Return ``analysis/config/sites.csv`` (one row per site, in the file's order)."""
    return _sites_config().copy()


def read_services() -> pd.DataFrame:
    """Return ``analysis/config/services.csv`` sorted by its ``order`` column."""
    return _services_config().copy()


def site_label(site: str) -> str:
    """Return the display label of a site code (the code itself if it is not configured)."""
    sites = _sites_config()
    labels = dict(zip(sites["code"], sites["label"], strict=True))
    return labels.get(site, site)


def service_labels() -> dict[str, str]:
    """Map harmonised service code to label."""
    services = _services_config()
    return dict(zip(services["code"], services["label"], strict=True))


def require_columns(table: pd.DataFrame, columns: Iterable[str], *, table_name: str) -> None:
    """Raise ``ProfileInputError`` naming the table and the missing columns."""
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise ProfileInputError(
            f"table '{table_name}': missing column(s) {missing}; the contract (analysis/CONTRACTS.md) requires them"
        )


def for_site(table: pd.DataFrame, site: str | None, *, table_name: str = "table") -> pd.DataFrame:
    """Return the rows of ``table`` for ``site`` (all rows when ``site`` is None)."""
    if site is None:
        return table.copy()
    require_columns(table, ["site"], table_name=table_name)
    return table.loc[table["site"] == site].copy()


def recruited_women(participants: pd.DataFrame, site: str | None = None) -> pd.DataFrame:
    """Return the recruited women (optionally of one site), sorted by study ID."""
    require_columns(participants, ["study_id", "site", "recruited"], table_name="participants")
    women = for_site(participants, site, table_name="participants")
    recruited = women["recruited"].map(_as_bool)
    return women.loc[recruited.fillna(False).astype(bool)].sort_values("study_id").reset_index(drop=True)


def participant_characteristics(
    participants: pd.DataFrame,
    substances: pd.DataFrame,
    mental_health: pd.DataFrame,
    site: str | None = None,
) -> pd.DataFrame:
    """Return "Table 1": characteristic, category, n (women), for the recruited women of a site.

    Substances and mental health are multi-select, so their categories can sum to more than
    the number of women. Only categories present in the site's data are listed (so a site's
    table does not depend on other sites).
    """
    women = recruited_women(participants, site)
    ids = set(women["study_id"])
    rows: list[tuple[str, str, int]] = [("Women recruited", "Women", len(women))]

    def add_single(column: str, label: str, mapping: dict[object, str] | None = None) -> None:
        require_columns(women, [column], table_name="participants")
        values = women[column].map(lambda v: _category_text(v, mapping))
        for category, n in _ordered_counts(values):
            rows.append((label, category, n))

    def add_bool(column: str, label: str) -> None:
        require_columns(women, [column], table_name="participants")
        values = women[column].map(_as_bool).map({True: "Yes", False: "No"}).fillna("Not known")
        for category in ("Yes", "No", "Not known"):
            n = int((values == category).sum())
            if n or category != "Not known":
                rows.append((label, category, n))

    def add_multi(table: pd.DataFrame, column: str, label: str, table_name: str) -> None:
        require_columns(table, ["study_id", column], table_name=table_name)
        chosen = table.loc[table["study_id"].isin(ids)].drop_duplicates(["study_id", column])
        values = chosen[column].map(lambda v: _category_text(v, None))
        for category, n in _ordered_counts(values):
            rows.append((label, category, n))
        none_reported = len(ids - set(chosen["study_id"]))
        if none_reported:
            rows.append((label, "None recorded", none_reported))

    add_single("age_band", "Age band")
    add_single("ethnicity", "Ethnicity")
    require_columns(women, ["parity"], table_name="participants")
    parity = pd.to_numeric(women["parity"], errors="coerce")
    parity_text = parity.map(lambda p: "Not known" if pd.isna(p) else ("3 or more" if p >= 3 else str(int(p))))
    for category, n in _ordered_counts(parity_text):
        rows.append(("Parity (previous births)", category, n))
    add_bool("previous_children_removed", "Previous children removed")
    add_bool("care_experienced", "Care-experienced")
    add_multi(substances, "substance", "Substances used (any)", "participant_substances")
    add_single("treatment", "Opioid substitution treatment")
    add_single("housing", "Housing")
    add_multi(mental_health, "condition", "Mental health (any)", "participant_mental_health")
    add_bool("domestic_abuse", "Domestic abuse")
    return pd.DataFrame(rows, columns=["characteristic", "category", "n"])


def add_percentages(released: pd.DataFrame, denominator: int, *, count_column: str = "n") -> pd.DataFrame:
    """Add a ``%`` column computed from released counts (blank where a count was suppressed)."""
    out = released.copy()
    numeric = pd.to_numeric(out[count_column], errors="coerce")
    out["%"] = (numeric / denominator * 100).round(0) if denominator else float("nan")
    out["%"] = out["%"].map(lambda v: "" if pd.isna(v) else f"{v:.0f}")
    return out


def interview_flow(interviews: pd.DataFrame, site: str | None = None) -> pd.DataFrame:
    """Return wave, wave_label, status, women: interview status counts per wave (long format).

    Every status of ``INTERVIEW_STATUSES`` appears for every wave present (zero-filled), so
    the flow from recruitment to 18 months can be read across waves.
    """
    require_columns(interviews, ["study_id", "site", "wave", "status"], table_name="interviews")
    rows = for_site(interviews, site, table_name="interviews")
    unknown = sorted(set(rows["status"].dropna()) - set(INTERVIEW_STATUSES))
    if unknown:
        raise ProfileInputError(
            f"table 'interviews', column 'status': unknown value(s) {unknown}; expected {list(INTERVIEW_STATUSES)}"
        )
    waves = sorted(int(w) for w in rows["wave"].dropna().unique())
    grid = pd.MultiIndex.from_product([waves, list(INTERVIEW_STATUSES)], names=["wave", "status"])
    counts = (
        rows.assign(wave=rows["wave"].astype(int))
        .groupby(["wave", "status"])["study_id"]
        .nunique()
        .reindex(grid, fill_value=0)
        .rename("women")
        .reset_index()
    )
    counts.insert(1, "wave_label", counts["wave"].map(WAVE_LABELS))
    return counts


def retention_summary(flow: pd.DataFrame, *, with_total: bool = False) -> pd.DataFrame:
    """Pivot an interview flow into one row per wave with a column per status.

    With ``with_total`` a last row ``Total`` sums the interviews of every wave (so
    ``release_table`` treats it as the column margin). ``Wave`` is text so the total row fits.
    """
    wide = flow.pivot_table(
        index=["wave", "wave_label"], columns="status", values="women", aggfunc="first", sort=False
    ).reset_index()
    wide.columns.name = None
    statuses = [s for s in INTERVIEW_STATUSES if s in wide.columns]
    wide = wide[["wave", "wave_label", *statuses]].rename(columns={"wave": "Wave", "wave_label": "Timing"})
    wide["Wave"] = wide["Wave"].astype(int).astype(str)
    wide = wide.rename(columns={s: s.capitalize() for s in INTERVIEW_STATUSES})
    if with_total:
        counts = [s.capitalize() for s in statuses]
        total = {"Wave": "Total", "Timing": "All waves", **{c: int(wide[c].sum()) for c in counts}}
        wide = pd.concat([wide, pd.DataFrame([total])], ignore_index=True)
    return wide


def contacts_by_service_phase(contacts: pd.DataFrame, site: str | None = None) -> pd.DataFrame:
    """Return service, service_label, phase, contacts: contact counts per service and phase.

    Only services with at least one contact at the site appear; phases are zero-filled.
    """
    require_columns(contacts, ["study_id", "site", "service", "phase"], table_name="contacts")
    rows = for_site(contacts, site, table_name="contacts")
    _check_phases(rows)
    services = ordered_services(rows["service"])
    grid = pd.MultiIndex.from_product([services, list(PHASES)], names=["service", "phase"])
    counts = rows.groupby(["service", "phase"]).size().reindex(grid, fill_value=0).rename("contacts").reset_index()
    counts.insert(1, "service_label", counts["service"].map(lambda s, labels=service_labels(): labels.get(s, s)))
    return counts


def contacts_per_woman(contacts: pd.DataFrame, women: pd.DataFrame, site: str | None = None) -> pd.DataFrame:
    """Return study_id and one contact count per phase plus ``total`` (participant level, internal).

    Women with no contacts in a phase get 0. ``women`` is the recruited-women table.
    """
    require_columns(contacts, ["study_id", "phase"], table_name="contacts")
    rows = for_site(contacts, site, table_name="contacts")
    ids = for_site(women, site, table_name="participants")["study_id"].sort_values().tolist()
    wide = (
        rows.groupby(["study_id", "phase"]).size().unstack("phase").reindex(index=ids, columns=list(PHASES))
    )
    wide = wide.fillna(0).astype(int)
    wide["total"] = wide.sum(axis=1)
    wide.columns.name = None
    return wide.reset_index().rename(columns={"index": "study_id"})


def contacts_per_woman_summary(per_woman: pd.DataFrame) -> pd.DataFrame:
    """Summarise ``contacts_per_woman``: phase, women, contacts, median and IQR per woman."""
    rows = []
    for phase in [*PHASES, "total"]:
        values = per_woman[phase]
        rows.append(
            {
                "phase": phase,
                "women": int(len(values)),
                "contacts": int(values.sum()),
                "median_per_woman": float(values.median()) if len(values) else float("nan"),
                "q1": float(values.quantile(0.25)) if len(values) else float("nan"),
                "q3": float(values.quantile(0.75)) if len(values) else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def flow_chart(released_flow: pd.DataFrame, *, title: str) -> alt.Chart:
    """Interview flow: one small panel per status, bars per wave with the count written on them.

    The status is carried by the panel (position) and the panel header (text), not by colour.
    """
    data = released_flow.copy()
    data["women_value"] = pd.to_numeric(data["women"], errors="coerce")
    if "suppressed" not in data.columns:
        data["suppressed"] = False
    data["label"] = [
        "suppressed" if bool(s) else f"{int(v)}" for v, s in zip(data["women_value"].fillna(0), data["suppressed"])
    ]
    data["wave_text"] = "W" + data["wave"].astype(int).astype(str) + " " + data["wave_label"].astype(str)
    data["status_label"] = data["status"].str.capitalize()
    status_order = [s.capitalize() for s in INTERVIEW_STATUSES]
    colour = alt.Color(
        "status_label:N",
        scale=alt.Scale(domain=status_order, range=palette.categorical(len(status_order))),
        legend=None,
    )
    data["x"] = data["women_value"].fillna(0)
    base = alt.Chart(data).encode(y=alt.Y("wave_text:N", title=None, sort=sorted(data["wave_text"].unique())))
    bars = base.mark_bar().encode(x=alt.X("x:Q", title="Women"), color=colour)
    labels = base.mark_text(align="left", dx=4).encode(x=alt.X("x:Q"), text="label:N")
    return (
        alt.layer(bars, labels, data=data)
        .properties(width=170, height=170)
        .facet(column=alt.Column("status_label:N", sort=status_order, title=None))
        .properties(title=title)
    )


def flow_alt_text(released_flow: pd.DataFrame, site_name: str) -> str:
    """Describe the interview flow: completed interviews at the first and last wave and losses."""
    data = released_flow.assign(value=pd.to_numeric(released_flow["women"], errors="coerce"))
    completed = data.loc[data["status"] == "completed"].sort_values("wave")
    if completed.empty:
        return f"Bar charts of interview status by wave at {site_name}: no interviews recorded."
    first, last = completed.iloc[0], completed.iloc[-1]

    def fmt(value: float) -> str:
        return "a suppressed number of" if pd.isna(value) else f"{int(value)}"

    lost = data.loc[data["status"].isin(["lost", "withdrawn"])].groupby("wave")["value"].sum(min_count=1)
    text = (
        f"Bar charts, one panel per interview status (completed, missed, withdrawn, lost), of women by wave at "
        f"{site_name}. {fmt(first['value'])} women completed the wave {int(first['wave'])} interview and "
        f"{fmt(last['value'])} the wave {int(last['wave'])} interview."
    )
    if not lost.dropna().empty:
        text += f" By wave {int(lost.index.max())}, {fmt(lost.iloc[-1])} women had withdrawn or been lost to follow-up."
    return text


def contacts_phase_chart(released: pd.DataFrame, *, title: str) -> alt.Chart:
    """Contacts by service (rows) and phase (panels), counts written beside the bars."""
    data = released.copy()
    data["value"] = pd.to_numeric(data["contacts"], errors="coerce")
    if "suppressed" not in data.columns:
        data["suppressed"] = False
    data["label"] = ["suppressed" if bool(s) else f"{int(v)}" for v, s in zip(data["value"].fillna(0), data["suppressed"])]
    data["phase_label"] = data["phase"].map(PHASE_LABELS)
    order = data.drop_duplicates("service_label")["service_label"].tolist()
    data["x"] = data["value"].fillna(0)
    base = alt.Chart(data).encode(y=alt.Y("service_label:N", sort=order, title=None))
    bars = base.mark_bar(color=palette.DARK_BLUE).encode(x=alt.X("x:Q", title="Contacts"))
    labels = base.mark_text(align="left", dx=3).encode(x="x:Q", text="label:N")
    return (
        alt.layer(bars, labels, data=data)
        .properties(width=180, height=max(120, 24 * len(order)))
        .facet(column=alt.Column("phase_label:N", sort=[PHASE_LABELS[p] for p in PHASES], title=None))
        .properties(title=title)
    )


def contacts_alt_text(released: pd.DataFrame, site_name: str) -> str:
    """Describe the contacts-by-phase chart: the busiest service in each phase."""
    data = released.assign(value=pd.to_numeric(released["contacts"], errors="coerce"))
    parts = []
    for phase in PHASES:
        subset = data.loc[data["phase"] == phase].dropna(subset=["value"])
        if subset.empty or subset["value"].max() == 0:
            parts.append(f"{PHASE_LABELS[phase].split(' (')[0].lower()}: none shown")
            continue
        top = subset.sort_values(["value", "service_label"], ascending=[False, True]).iloc[0]
        parts.append(f"{PHASE_LABELS[phase].split(' (')[0].lower()}: {top['service_label']} ({int(top['value'])})")
    return (
        f"Bar charts of service contacts at {site_name} by service, one panel per phase (antenatal, birth, "
        f"postnatal). Most contacts per phase: " + "; ".join(parts) + "."
    )


def _check_phases(rows: pd.DataFrame) -> None:
    """Raise if a contact has a phase outside the contract's three."""
    bad = rows.loc[~rows["phase"].isin(PHASES)]
    if not bad.empty:
        first = bad.index[0]
        raise ProfileInputError(
            f"table 'contacts', row {first}, column 'phase': value {bad.loc[first, 'phase']!r} is not one of {list(PHASES)}"
        )


def ordered_services(values: pd.Series) -> list[str]:
    """Return the distinct services in ``values`` in config order (unknown codes last, sorted)."""
    order = {code: i for i, code in enumerate(_services_config()["code"])}
    present = sorted(set(values.dropna()), key=lambda code: (order.get(code, len(order)), code))
    return present


def _ordered_counts(values: pd.Series) -> list[tuple[str, int]]:
    """Counts of each category, in natural sort order with 'Not known' last."""
    counts = values.value_counts()
    keys = sorted(counts.index, key=lambda k: (k in ("Not known", "None recorded"), str(k)))
    return [(str(k), int(counts[k])) for k in keys]


def _category_text(value: object, mapping: dict[object, str] | None) -> str:
    """Display text for a category value (missing -> 'Not known'; snake_case -> words)."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return "Not known"
    if mapping and value in mapping:
        return mapping[value]
    text = str(value).replace("_", " ")
    return text[:1].upper() + text[1:]


def _as_bool(value: object) -> bool | None:
    """Interpret True/False/1/0/yes/no (any case); missing -> None."""
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes", "y"}:
        return True
    if text in {"false", "0", "no", "n"}:
        return False
    return None


MULTI_SELECT_SUFFIX: str = "(any)"
"""Characteristics whose label ends so are multi-select (a woman can be in several categories)."""


def release_characteristics(table: pd.DataFrame, *, name: str, profile: str | None = None) -> pd.DataFrame:
    """Release "Table 1" block by block (each characteristic is its own distribution).

    Each block goes through ``analysis.protect.outputs.release_sensitive_table`` separately (the policy's
    ``characteristics`` redesign rule: categories with small counts combined into one row), so
    secondary suppression works within a characteristic whose categories add up to the women
    (the column margin), and a block that no design can show with at most the profile's
    ``max_suppressed_share`` withheld is replaced by one row saying what can be said. Adds
    ``%`` of the site's women computed from released counts only, and renames columns for
    display. ``attrs["note"]`` holds the footnote: how each block was modified.
    """
    from analysis.protect import outputs

    blocks = []
    notes: list[str] = []
    total = int(table.loc[table["characteristic"] == "Women recruited", "n"].sum())
    for characteristic, block in table.groupby("characteristic", sort=False):
        released = outputs.release_sensitive_table(
            block.reset_index(drop=True), name=name, count_columns=["n"], what="women", profile=profile
        )
        if released.table is None:
            blocks.append(pd.DataFrame({"characteristic": [characteristic], "category": [released.sentence],
                                        "n": pd.Series([""], dtype="object")}))
            continue
        shown = released.table.copy()
        combined = ~shown["category"].isin(set(block["category"]))
        if str(characteristic).endswith(MULTI_SELECT_SUFFIX) and combined.any():
            # A combined row of a multi-select characteristic counts mentions, not women.
            shown.loc[combined, "category"] = shown.loc[combined, "category"].astype(str) + ", mentions"
        shown["_mentions"] = combined & str(characteristic).endswith(MULTI_SELECT_SUFFIX)
        blocks.append(shown)
        if released.modification:
            notes.append(f"{characteristic}: {released.modification}.")
    out = pd.concat(blocks, ignore_index=True) if blocks else table.iloc[0:0].copy()
    out = add_percentages(out, total)
    if "_mentions" in out.columns:
        mentions = out["_mentions"].eq(True)  # missing: not a mentions row (no fillna downcasting warning)
        out.loc[mentions, "%"] = ""
        if mentions.any():
            notes.append("In a multi-select characteristic a combined row counts mentions: a woman "
                         "can be in several of its categories, so no percentage is given.")
        out = out.drop(columns="_mentions")
    out = out.rename(columns={"characteristic": "Characteristic", "category": "Category", "n": "n"})
    out.attrs["note"] = " ".join(notes)
    return out


def contacts_summary_table(per_woman: pd.DataFrame) -> pd.DataFrame:
    """``contacts_per_woman_summary`` ready for display: readable names, ``Total`` row, rounded.

    ``Contacts`` is the count column to release (row totals are not published: the phases
    share the same women).
    """
    summary = contacts_per_woman_summary(per_woman)
    summary["phase"] = summary["phase"].map({**PHASE_LABELS, "total": "Total"})
    summary = summary.round(1)
    return summary.rename(
        columns={
            "phase": "Phase",
            "women": "Women",
            "contacts": "Contacts",
            "median_per_woman": "Median per woman",
            "q1": "Lower quartile",
            "q3": "Upper quartile",
        }
    )
