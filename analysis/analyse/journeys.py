"""Journey maps: each woman's contacts, key events, baby's placements and interviews over time.

A journey map has weeks relative to birth on the x axis (from booking to +78 weeks), one lane
per service, contacts as marks, key events as labelled rules (the event name is written, not
only coloured), the baby's placements as labelled bars, and interview waves as labelled
triangles. Journey maps are participant-level pictures for the study team: they are not for
publication. The site overview (:mod:`analysis.analyse.journey_overview`) is the publishable
aggregate. Reads the ``contacts``, ``events``, ``interviews`` and ``placements`` derived tables
(CONTRACTS.md).
"""

from __future__ import annotations

from typing import Final

import altair as alt
import numpy as np
import pandas as pd

from analysis.analyse.site_profile import ordered_services, require_columns, service_labels
from analysis.core import palette

END_WEEK: Final[float] = 78.0
"""Journeys end at the 18-month interview (+78 weeks)."""

DEFAULT_START_WEEK: Final[float] = -40.0
"""Start of the x axis when a woman has no booking event."""


EVENT_LABELS: Final[dict[str, str]] = {
    "booking": "Booking",
    "pre_birth_assessment": "Pre-birth assessment",
    "child_protection_conference": "Child protection conference",
    "birth": "Birth",
    "neonatal_unit": "Neonatal unit",
    "nas_treatment": "NAS treatment",
    "placement_change": "Placement change",
    "rehab_start": "Rehab starts",
    "rehab_end": "Rehab ends",
}
"""Display names of the contract's key events (written on the chart)."""

PLACEMENT_LABELS: Final[dict[str, str]] = {
    "with_mother": "With mother",
    "mother_baby_placement": "Mother-and-baby placement",
    "kinship_care": "Kinship care",
    "foster_care": "Foster care",
    "adoption": "Adoption",
}
"""Display names of the baby's placements."""

CHART_WIDTH: Final[int] = 640
"""Width of a journey map's plotting area in pixels."""

CHAR_PIXELS: Final[float] = 6.5
"""Approximate width of one character of an 11 px event label, for staggering labels."""


INTERVIEW_LANE: Final[str] = "Research interviews"
PLACEMENT_LANE: Final[str] = "Baby's placement"


def journey_frames(
    study_id: str,
    contacts: pd.DataFrame,
    events: pd.DataFrame,
    interviews: pd.DataFrame,
    placements: pd.DataFrame,
    *,
    end_week: float = END_WEEK,
) -> dict[str, pd.DataFrame]:
    """Return the four layers of one woman's journey map, clipped to booking..``end_week``.

    Keys: ``contacts`` (lane, week), ``events`` (label, week, row for staggered labels),
    ``interviews`` (wave label, week), ``placements`` (label, start, end), and ``window``
    (one row: start, end).
    """
    require_columns(contacts, ["study_id", "service", "week_rel_birth"], table_name="contacts")
    require_columns(events, ["study_id", "event", "week_rel_birth"], table_name="events")
    require_columns(interviews, ["study_id", "wave", "status", "week_rel_birth"], table_name="interviews")
    require_columns(placements, ["study_id", "placement", "from_week", "to_week"], table_name="placements")
    own_events = events.loc[events["study_id"] == study_id].copy()
    booking = pd.to_numeric(own_events.loc[(own_events["event"] == "booking").fillna(False), "week_rel_birth"], errors="coerce")
    own_contacts = contacts.loc[contacts["study_id"] == study_id].copy()
    weeks = pd.to_numeric(own_contacts["week_rel_birth"], errors="coerce")
    if not booking.dropna().empty:
        start = float(booking.min())
    elif not weeks.dropna().empty:
        start = float(min(weeks.min(), 0.0))
    else:
        start = DEFAULT_START_WEEK
    start = float(np.floor(start / 4.0) * 4.0)
    labels = service_labels()
    own_contacts = own_contacts.assign(week=weeks)
    own_contacts = own_contacts.loc[(own_contacts["week"] >= start) & (own_contacts["week"] <= end_week)]
    contact_layer = pd.DataFrame(
        {
            "lane": own_contacts["service"].map(lambda s: labels.get(s, s)),
            "week": own_contacts["week"].astype(float),
        }
    ).sort_values(["lane", "week"], kind="stable").reset_index(drop=True)

    own_events = own_events.assign(week=pd.to_numeric(own_events["week_rel_birth"], errors="coerce"))
    own_events = own_events.loc[(own_events["week"] >= start) & (own_events["week"] <= end_week)]
    own_events = own_events.sort_values(["week", "event"], kind="stable").reset_index(drop=True)
    event_labels = own_events["event"].map(lambda e: EVENT_LABELS.get(e, str(e).replace("_", " ")))
    if "detail" in own_events.columns:
        detail = own_events["detail"].astype("object").where(own_events["detail"].notna(), "").astype(str)
        detail = detail.map(lambda d: PLACEMENT_LABELS.get(d, d).lower() if d in PLACEMENT_LABELS else d)
        event_labels = event_labels.where(detail == "", event_labels + " (" + detail + ")")
    event_layer = pd.DataFrame({"label": event_labels, "week": own_events["week"].astype(float)})
    weeks_per_char = CHAR_PIXELS * (end_week - start) / CHART_WIDTH
    event_layer["row"] = _stagger(
        event_layer["week"].tolist(), [len(text) * weeks_per_char + 1.0 for text in event_layer["label"]]
    )

    own_interviews = interviews.loc[((interviews["study_id"] == study_id) & (interviews["status"] == "completed")).fillna(False)]
    interview_layer = pd.DataFrame(
        {
            "lane": INTERVIEW_LANE,
            "label": "W" + own_interviews["wave"].astype(int).astype(str),
            "week": pd.to_numeric(own_interviews["week_rel_birth"], errors="coerce").astype(float),
        }
    ).dropna(subset=["week"]).reset_index(drop=True)

    own_placements = placements.loc[placements["study_id"] == study_id]
    placement_layer = pd.DataFrame(
        {
            "lane": PLACEMENT_LANE,
            "label": own_placements["placement"].map(lambda p: PLACEMENT_LABELS.get(p, str(p))),
            "start": pd.to_numeric(own_placements["from_week"], errors="coerce").clip(lower=start).astype(float),
            "end": pd.to_numeric(own_placements["to_week"], errors="coerce").fillna(end_week).clip(upper=end_week).astype(float),
        }
    ).sort_values("start").reset_index(drop=True)
    chars_fit = ((placement_layer["end"] - placement_layer["start"]) / weeks_per_char - 1).astype(int)
    placement_layer["text"] = [_fit(label, n) for label, n in zip(placement_layer["label"], chars_fit)]
    last_interview = interview_layer["week"].max() if not interview_layer.empty else end_week
    window_end = float(max(end_week, np.ceil(last_interview + 1.0)))
    return {
        "contacts": contact_layer,
        "events": event_layer,
        "interviews": interview_layer,
        "placements": placement_layer,
        "window": pd.DataFrame({"start": [start], "end": [window_end]}),
    }


def journey_chart(frames: dict[str, pd.DataFrame], *, title: str, lanes: list[str] | None = None) -> alt.LayerChart:
    """Draw one journey map from ``journey_frames`` output.

    ``lanes`` fixes the service lanes (labels, top to bottom); by default the services the
    woman met, in the configured service order, then the placement and interview lanes.
    """
    start = float(frames["window"]["start"].iloc[0])
    end = float(frames["window"]["end"].iloc[0])
    services = lanes if lanes is not None else _lane_order(frames["contacts"]["lane"])
    all_lanes = [*services, PLACEMENT_LANE, INTERVIEW_LANE]
    x_scale = alt.Scale(domain=[start, end], nice=False)
    x = alt.X("week:Q", scale=x_scale, title="Weeks relative to birth (0 = birth)")
    y = alt.Y("lane:N", sort=all_lanes, scale=alt.Scale(domain=all_lanes), title=None)
    height = 26 * len(all_lanes)
    lane_rows = pd.DataFrame({"lane": all_lanes, "start": start, "end": end})
    guide = alt.Chart(lane_rows).mark_rule(color=palette.GRID).encode(
        y=y, x=alt.X("start:Q", scale=x_scale), x2="end:Q"
    )
    layers: list[alt.Chart] = [guide]
    if not frames["placements"].empty:
        placements = frames["placements"]
        layers.append(
            alt.Chart(placements)
            .mark_bar(height=16, color=palette.LIGHT_PURPLE, stroke=palette.DARK_GREY, strokeWidth=0.5)
            .encode(y=y, x=alt.X("start:Q", scale=x_scale, title="Weeks relative to birth (0 = birth)"), x2="end:Q")
        )
        layers.append(
            alt.Chart(placements)
            .mark_text(align="left", dx=3, fontSize=11, color=palette.TEXT)
            .encode(y=y, x=alt.X("start:Q", scale=x_scale), text="text:N")
        )
    if not frames["contacts"].empty:
        layers.append(
            alt.Chart(frames["contacts"])
            .mark_tick(thickness=2, size=16, color=palette.DARK_BLUE, opacity=1)
            .encode(y=y, x=x, tooltip=["lane:N", alt.Tooltip("week:Q", format=".1f")])
        )
    if not frames["interviews"].empty:
        interviews = frames["interviews"]
        layers.append(
            alt.Chart(interviews)
            .mark_point(shape="triangle-down", filled=True, size=110, color=palette.ORANGE, stroke=palette.TEXT, strokeWidth=0.5)
            .encode(y=y, x=x)
        )
        layers.append(
            alt.Chart(interviews).mark_text(dy=-12, fontSize=11, color=palette.TEXT).encode(y=y, x=x, text="label:N")
        )
    chart_lanes = alt.layer(*layers).properties(width=CHART_WIDTH, height=height)
    events = frames["events"]
    if events.empty:
        return chart_lanes.properties(title=title)
    rules = alt.Chart(events).mark_rule(color=palette.DARK_PINK, strokeDash=[4, 3]).encode(x=x)
    main = alt.layer(*layers, rules).properties(width=CHART_WIDTH, height=height)
    n_rows = int(events["row"].max()) + 1
    labels = (
        alt.Chart(events)
        .mark_text(align="left", dx=3, fontSize=11, color=palette.DARK_PINK)
        .encode(
            x=alt.X("week:Q", scale=x_scale, axis=None),
            y=alt.Y("row:O", axis=None, scale=alt.Scale(domain=list(range(n_rows)))),
            text="label:N",
        )
        .properties(width=CHART_WIDTH, height=14 * n_rows)
    )
    ticks = (
        alt.Chart(events)
        .mark_rule(color=palette.DARK_PINK, strokeDash=[4, 3])
        .encode(x=alt.X("week:Q", scale=x_scale, axis=None))
        .properties(width=CHART_WIDTH, height=14 * n_rows)
    )
    return alt.vconcat(alt.layer(ticks, labels), main, spacing=2).properties(title=title)


BROWSER_LANE_SEPARATOR: Final[str] = "|"
"""Separates a lane's sort key from its label in the journey browser (``03|Drug service``)."""

BROWSER_COLUMNS: Final[dict[str, list[str]]] = {
    "contacts": ["study_id", "lane_key", "week"],
    "events": ["study_id", "label", "week", "row"],
    "interviews": ["study_id", "lane_key", "label", "week"],
    "placements": ["study_id", "lane_key", "label", "text", "start", "end"],
    "lanes": ["study_id", "lane_key", "start", "end"],
}
"""The journey browser's tables and their columns (only what the chart draws)."""


def journey_browser_frames(
    study_ids: list[str],
    contacts: pd.DataFrame,
    events: pd.DataFrame,
    interviews: pd.DataFrame,
    placements: pd.DataFrame,
    *,
    end_week: float = END_WEEK,
) -> dict[str, pd.DataFrame]:
    """Return every listed woman's journey-map layers in one set of tables (the journey browser).

    The same layers as ``journey_frames`` (same windows, clipping, labels, label rows and
    placement texts; ``woman_frames`` gives one woman's back), computed for all women at once
    with a ``study_id`` column, so one chart (``journey_browser_chart``) can show any woman
    picked from a list while its data are stored once, and the cost grows linearly with the
    number of women. Layers that sit on a lane carry ``lane_key`` (the lane's rank for that
    woman, ``BROWSER_LANE_SEPARATOR``, its label) so lanes keep their order; ``lanes`` has one
    row per woman and lane (the grey guide rules) with the woman's window ``start``/``end``.
    """
    require_columns(contacts, ["study_id", "service", "week_rel_birth"], table_name="contacts")
    require_columns(events, ["study_id", "event", "week_rel_birth"], table_name="events")
    require_columns(interviews, ["study_id", "wave", "status", "week_rel_birth"], table_name="interviews")
    require_columns(placements, ["study_id", "placement", "from_week", "to_week"], table_name="placements")
    ids = pd.Index(list(dict.fromkeys(study_ids)), name="study_id")
    if ids.empty:
        return {name: pd.DataFrame(columns=columns) for name, columns in BROWSER_COLUMNS.items()}
    labels = service_labels()

    own_contacts = contacts.loc[contacts["study_id"].isin(ids)]
    contact_week = pd.to_numeric(own_contacts["week_rel_birth"], errors="coerce")
    own_events = events.loc[events["study_id"].isin(ids)]
    event_week = pd.to_numeric(own_events["week_rel_birth"], errors="coerce")
    booking = event_week.loc[(own_events["event"] == "booking").fillna(False).to_numpy()]
    booking = booking.groupby(own_events.loc[booking.index, "study_id"]).min().reindex(ids)
    first_contact = contact_week.groupby(own_contacts["study_id"]).min().reindex(ids).clip(upper=0.0)
    start = booking.fillna(first_contact).fillna(DEFAULT_START_WEEK)
    start = np.floor(start / 4.0) * 4.0
    weeks_per_char = CHAR_PIXELS * (end_week - start) / CHART_WIDTH

    contact_layer = pd.DataFrame(
        {"study_id": own_contacts["study_id"], "service": own_contacts["service"], "week": contact_week.astype(float)}
    )
    contact_layer = contact_layer.loc[
        (contact_layer["week"] >= contact_layer["study_id"].map(start)) & (contact_layer["week"] <= end_week)
    ]
    contact_layer["lane"] = contact_layer["service"].map(lambda code: labels.get(code, code))

    event_layer = own_events.assign(week=event_week)
    event_layer = event_layer.loc[(event_layer["week"] >= event_layer["study_id"].map(start)) & (event_layer["week"] <= end_week)]
    event_layer = event_layer.sort_values(["study_id", "week", "event"], kind="stable")
    text = event_layer["event"].map(lambda e: EVENT_LABELS.get(e, str(e).replace("_", " ")))
    if "detail" in event_layer.columns:
        detail = event_layer["detail"].astype("object").where(event_layer["detail"].notna(), "").astype(str)
        detail = detail.map(lambda d: PLACEMENT_LABELS.get(d, d).lower() if d in PLACEMENT_LABELS else d)
        text = text.where(detail == "", text + " (" + detail + ")")
    event_layer = pd.DataFrame(
        {"study_id": event_layer["study_id"], "label": text, "week": event_layer["week"].astype(float)}
    ).reset_index(drop=True)
    event_layer["row"] = 0
    for study_id, group in event_layer.groupby("study_id", sort=False):
        per_char = float(weeks_per_char[study_id])
        event_layer.loc[group.index, "row"] = _stagger(
            group["week"].tolist(), [len(label) * per_char + 1.0 for label in group["label"]]
        )

    done = interviews.loc[(interviews["study_id"].isin(ids) & (interviews["status"] == "completed")).fillna(False)]
    interview_layer = pd.DataFrame(
        {
            "study_id": done["study_id"],
            "lane": INTERVIEW_LANE,
            "label": "W" + done["wave"].astype(int).astype(str),
            "week": pd.to_numeric(done["week_rel_birth"], errors="coerce").astype(float),
        }
    ).dropna(subset=["week"])

    own_placements = placements.loc[placements["study_id"].isin(ids)]
    placement_layer = pd.DataFrame(
        {
            "study_id": own_placements["study_id"],
            "lane": PLACEMENT_LANE,
            "label": own_placements["placement"].map(lambda p: PLACEMENT_LABELS.get(p, str(p))),
            "start": pd.to_numeric(own_placements["from_week"], errors="coerce"),
            "end": pd.to_numeric(own_placements["to_week"], errors="coerce").fillna(end_week).clip(upper=end_week),
        }
    )
    placement_layer["start"] = np.maximum(placement_layer["start"], placement_layer["study_id"].map(start)).astype(float)
    placement_layer["end"] = placement_layer["end"].astype(float)
    placement_layer = placement_layer.sort_values(["study_id", "start"], kind="stable")
    fit = ((placement_layer["end"] - placement_layer["start"]) / placement_layer["study_id"].map(weeks_per_char) - 1).astype(int)
    placement_layer["text"] = [_fit(label, n) for label, n in zip(placement_layer["label"], fit)]

    last_interview = interview_layer.groupby("study_id")["week"].max().reindex(ids)
    window_end = np.maximum(end_week, np.ceil(last_interview.fillna(end_week) + 1.0))

    order = {code: rank for rank, code in enumerate(ordered_services(contact_layer["service"]))}
    lane_rows = (
        contact_layer.drop_duplicates(["study_id", "service"])
        .assign(rank=lambda t: t["service"].map(order))
        .sort_values(["study_id", "rank"], kind="stable")
    )
    lane_rows = lane_rows.assign(rank=lane_rows.groupby("study_id").cumcount())[["study_id", "lane", "rank"]]
    n_services = lane_rows.groupby("study_id").size().reindex(ids, fill_value=0)
    fixed = pd.DataFrame(
        {
            "study_id": np.repeat(ids.to_numpy(), 2),
            "lane": [PLACEMENT_LANE, INTERVIEW_LANE] * len(ids),
            "rank": np.column_stack([n_services.to_numpy(), n_services.to_numpy() + 1]).ravel(),
        }
    )
    lanes = pd.concat([lane_rows, fixed], ignore_index=True)
    lanes["lane_key"] = lanes["rank"].map(lambda r: f"{int(r):02d}") + BROWSER_LANE_SEPARATOR + lanes["lane"]
    lanes = lanes.assign(
        start=lanes["study_id"].map(start).astype(float), end=lanes["study_id"].map(window_end).astype(float),
        position=lanes["study_id"].map({study_id: i for i, study_id in enumerate(ids)}),
    ).sort_values(["position", "rank"], kind="stable")
    keys = lanes.set_index(["study_id", "lane"])["lane_key"]

    def keyed(table: pd.DataFrame) -> pd.DataFrame:
        index = pd.MultiIndex.from_frame(table[["study_id", "lane"]])
        return table.assign(lane_key=keys.reindex(index).to_numpy())

    tables = {
        "contacts": keyed(contact_layer).sort_values(["study_id", "lane", "week"], kind="stable"),
        "events": event_layer,
        "interviews": keyed(interview_layer),
        "placements": keyed(placement_layer),
        "lanes": lanes,
    }
    return {name: tables[name][columns].reset_index(drop=True) for name, columns in BROWSER_COLUMNS.items()}


BROWSER_PARAM: Final[str] = "woman"
"""Name of the journey browser's parameter holding the chosen woman's study ID (a Vega signal)."""


BROWSER_WEEK_DECIMALS: Final[int] = 2
"""Decimals of the weeks the journey browser stores (0.01 week is about a quarter of an hour)."""


def browser_datasets(frames: dict[str, pd.DataFrame]) -> tuple[dict[str, alt.NamedData], dict[str, str]]:
    """The journey browser's tables as named CSV datasets: ``(data by layer, CSV text by name)``.

    The browser holds every row of every woman of a site (about 78,000 contacts for one site at
    100x), so its tables are stored once each, at the top of the spec, as CSV text (Vega-Lite's
    inline datasets may be strings parsed by their ``format``) with weeks rounded to
    :data:`BROWSER_WEEK_DECIMALS`: about a third of the size of the same rows as JSON objects.
    """
    data: dict[str, alt.NamedData] = {}
    texts: dict[str, str] = {}
    for layer, columns in BROWSER_COLUMNS.items():
        table = frames[layer][columns].copy()
        parse: dict[str, str] = {}
        for column in columns:
            if pd.api.types.is_numeric_dtype(table[column]):
                table[column] = table[column].astype(float).round(BROWSER_WEEK_DECIMALS)
                parse[column] = "number"
            else:
                table[column] = table[column].astype("string").fillna("")
                parse[column] = "string"
        name = f"journey-browser-{layer}"
        texts[name] = table.to_csv(index=False, lineterminator="\n")
        data[layer] = alt.NamedData(name=name, format=alt.DataFormat(type="csv", parse=parse))
    return data, texts


def journey_browser_chart(frames: dict[str, pd.DataFrame], *, title: str) -> alt.VConcatChart:
    """One journey map for any woman chosen from a list: the journey browser.

    Draws the same layers as ``journey_chart`` (lanes, placements with their names written,
    contacts as ticks, interviews as labelled triangles, key events as dashed rules with their
    names written above) from ``journey_browser_frames``, filtered to the woman picked in the
    drop-down list (every woman of the frames is in the list; the first is shown first). The
    x axis spans the chosen woman's window and the lanes are hers, in the configured order.
    """
    ids = list(dict.fromkeys(frames["lanes"]["study_id"]))
    if not ids:
        raise ValueError("journeys.journey_browser_chart: no women in the frames")
    data, csv_texts = browser_datasets(frames)
    woman = alt.param(name=BROWSER_PARAM, value=ids[0], bind=alt.binding_select(options=ids, name="Woman: "))
    chosen = alt.datum.study_id == woman
    x_scale = alt.Scale(nice=False, zero=False)
    x_title = "Weeks relative to birth (0 = birth)"
    y = alt.Y(
        "lane_key:N",
        sort="ascending",
        title=None,
        axis=alt.Axis(labelExpr=f"split(datum.label, '{BROWSER_LANE_SEPARATOR}')[1]"),
    )
    guide = (
        alt.Chart(data["lanes"]).transform_filter(chosen).mark_rule(color=palette.GRID)
        .encode(y=y, x=alt.X("start:Q", scale=x_scale, title=x_title), x2="end:Q")
    )
    bars = (
        alt.Chart(data["placements"]).transform_filter(chosen)
        .mark_bar(height=16, color=palette.LIGHT_PURPLE, stroke=palette.DARK_GREY, strokeWidth=0.5)
        .encode(y=y, x=alt.X("start:Q", scale=x_scale, title=x_title), x2="end:Q")
    )
    bar_text = (
        alt.Chart(data["placements"]).transform_filter(chosen)
        .mark_text(align="left", dx=3, fontSize=11, color=palette.TEXT)
        .encode(y=y, x=alt.X("start:Q", scale=x_scale, title=x_title), text="text:N")
    )
    ticks = (
        alt.Chart(data["contacts"]).transform_filter(chosen)
        .mark_tick(thickness=2, size=16, color=palette.DARK_BLUE, opacity=1)
        .encode(y=y, x=alt.X("week:Q", scale=x_scale, title=x_title), tooltip=[alt.Tooltip("week:Q", format=".1f")])
    )
    interviews = alt.Chart(data["interviews"]).transform_filter(chosen)
    triangles = interviews.mark_point(
        shape="triangle-down", filled=True, size=110, color=palette.ORANGE, stroke=palette.TEXT, strokeWidth=0.5
    ).encode(y=y, x=alt.X("week:Q", scale=x_scale, title=x_title))
    wave_text = interviews.mark_text(dy=-12, fontSize=11, color=palette.TEXT).encode(
        y=y, x=alt.X("week:Q", scale=x_scale, title=x_title), text="label:N"
    )
    events = alt.Chart(data["events"]).transform_filter(chosen)
    rules = events.mark_rule(color=palette.DARK_PINK, strokeDash=[4, 3]).encode(
        x=alt.X("week:Q", scale=x_scale, title=x_title)
    )
    main = alt.layer(guide, bars, bar_text, ticks, triangles, wave_text, rules).properties(
        width=CHART_WIDTH, height=alt.Step(26)
    )
    event_rows = alt.Y("row:O", axis=None)
    label_panel = alt.layer(
        events.mark_rule(color=palette.DARK_PINK, strokeDash=[4, 3]).encode(x=alt.X("week:Q", scale=x_scale, axis=None)),
        events.mark_text(align="left", dx=3, fontSize=11, color=palette.DARK_PINK).encode(
            x=alt.X("week:Q", scale=x_scale, axis=None), y=event_rows, text="label:N"
        ),
    ).properties(width=CHART_WIDTH, height=alt.Step(14))
    return (
        alt.vconcat(label_panel, main, spacing=2)
        .resolve_scale(x="shared")
        .add_params(woman)
        .properties(title=alt.TitleParams(text={"expr": f"{title!r} + ': ' + {BROWSER_PARAM}"}),
                    datasets=csv_texts)
    )


def journey_browser_alt_text(frames: dict[str, pd.DataFrame], site_name: str) -> str:
    """Describe the journey browser: how many women it holds and what it shows for each."""
    ids = list(dict.fromkeys(frames["lanes"]["study_id"]))
    contacts = frames["contacts"]
    return (
        f"Journey browser for {site_name}: choose any of the {len(ids)} women from the list above the chart "
        f"(the first, {ids[0] if ids else 'none'}, is shown first) to see her journey map: weeks relative to birth "
        f"across, one lane per service she met with her contacts as ticks, key events as dashed lines with their "
        f"names written above, the baby's placements as named bars and research interviews as triangles labelled "
        f"W1 to W5. {len(contacts)} contacts in all."
    )


def woman_frames(browser: dict[str, pd.DataFrame], study_id: str) -> dict[str, pd.DataFrame]:
    """One woman's ``journey_frames``-shaped layers taken from the journey browser's tables."""
    lanes = browser["lanes"].loc[browser["lanes"]["study_id"] == study_id]
    if lanes.empty:
        raise KeyError(f"journeys.woman_frames: {study_id!r} is not in the journey browser")
    out = {}
    for name in ("contacts", "events", "interviews", "placements"):
        table = browser[name].loc[browser[name]["study_id"] == study_id].drop(columns="study_id")
        if "lane_key" in table.columns:
            table = table.assign(lane=table["lane_key"].str.split(BROWSER_LANE_SEPARATOR, n=1).str[1]).drop(
                columns="lane_key"
            )
        out[name] = table.reset_index(drop=True)
    out["window"] = pd.DataFrame({"start": [float(lanes["start"].iloc[0])], "end": [float(lanes["end"].iloc[0])]})
    return out


def journey_alt_text(frames: dict[str, pd.DataFrame], study_id: str) -> str:
    """Describe one journey map from its data (contacts before/after birth, events, placements)."""
    contacts = frames["contacts"]
    before = int((contacts["week"] < 0).sum())
    after = int((contacts["week"] >= 0).sum())
    lanes = contacts["lane"].nunique()
    text = (
        f"Journey map for {study_id}: {len(contacts)} service contacts across {lanes} services between weeks "
        f"{frames['window']['start'].iloc[0]:.0f} and {frames['window']['end'].iloc[0]:.0f}, "
        f"{before} before birth and {after} after."
    )
    if not frames["events"].empty:
        text += " Key events: " + "; ".join(
            f"{label} at week {week:.0f}" for label, week in zip(frames["events"]["label"], frames["events"]["week"])
        ) + "."
    if not frames["placements"].empty:
        text += " Baby's placement: " + ", then ".join(frames["placements"]["label"]) + "."
    if not frames["interviews"].empty:
        text += f" Research interviews: {', '.join(frames['interviews']['label'])}."
    return text


def _lane_order(lanes: pd.Series) -> list[str]:
    """Service lane labels in configured order."""
    labels = service_labels()
    codes = {label: code for code, label in labels.items()}
    ordered_codes = ordered_services(lanes.map(lambda lane: codes.get(lane, lane)))
    return [labels.get(code, code) for code in ordered_codes]


def _fit(label: str, chars: int) -> str:
    """Shorten ``label`` to ``chars`` characters (with an ellipsis); empty if too short to read."""
    if chars >= len(label):
        return label
    if chars < 4:
        return ""
    return label[: chars - 1].rstrip() + "\u2026"


def _stagger(weeks: list[float], widths: list[float]) -> list[int]:
    """Give each event label (starting at ``weeks[i]``, ``widths[i]`` weeks long) a text row.

    Labels are placed greedily in the first row where they do not overlap the previous label,
    so no two labels in one row overlap.
    """
    row_ends: list[float] = []
    rows: list[int] = []
    for week, width in zip(weeks, widths, strict=True):
        for row, end in enumerate(row_ends):
            if week >= end:
                row_ends[row] = week + width
                rows.append(row)
                break
        else:
            row_ends.append(week + width)
            rows.append(len(row_ends) - 1)
    return rows
