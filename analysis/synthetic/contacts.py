"""SYNTHETIC service contacts and the four site contact logs, each kept its own way.

Contacts are drawn week by week from Poisson rates that depend on the site's model of care, the
service, and the phase relative to the birth (antenatal, birth, early and late postnatal): in the
sites without co-located or specialist care, drug-service and mental-health contacts fall away
after the birth (the "postnatal gap" of the study's findings); in the integrated sites they carry
on. Social care doubles when there is a child-protection concern; neonatal-unit, placement and
rehab contacts happen only while the baby is on the unit, in a placement, or the woman in rehab.

Each site's log is then written as that site keeps it (see ``LOG_STYLES``): different file type,
encoding, separator, date format, column names, service names and abbreviations, with duplicate
rows, misspelt service names (listed in ``service_map.csv``), blank lines and a stray total row.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.synthetic.cohort import EPOCH, Woman

SERVICES = [
    "specialist_midwife", "community_midwife", "obstetrics", "drug_service", "social_care",
    "health_visitor", "gp", "perinatal_mental_health", "housing", "third_sector",
]
"""Services with routine contact rates (the others are tied to events)."""

SEGMENT_EDGES = [-1, 2, 8, 26]
"""Week boundaries between phases: antenatal | birth | postnatal 2-8 | 8-26 | 26+."""

# contacts per week in phase segments (antenatal, birth, 2-8 wk, 8-26 wk, 26+ wk)
RATES: dict[str, dict[str, tuple[float, ...]]] = {
    "east_london": {  # integrated hub: specialist midwife and drug service co-located
        "specialist_midwife": (0.40, 1.0, 0.25, 0.04, 0.0),
        "community_midwife": (0.04, 0.4, 0.20, 0.0, 0.0),
        "obstetrics": (0.07, 0.6, 0.04, 0.0, 0.0),
        "drug_service": (0.35, 0.6, 0.32, 0.25, 0.20),
        "social_care": (0.08, 0.3, 0.14, 0.08, 0.05),
        "health_visitor": (0.02, 0.15, 0.25, 0.08, 0.04),
        "gp": (0.03, 0.0, 0.06, 0.04, 0.03),
        "perinatal_mental_health": (0.06, 0.07, 0.09, 0.06, 0.04),
        "housing": (0.02, 0.0, 0.02, 0.015, 0.01),
        "third_sector": (0.07, 0.0, 0.08, 0.07, 0.06),
    },
    "huddersfield": {  # specialist midwife, drug service elsewhere
        "specialist_midwife": (0.32, 0.9, 0.10, 0.0, 0.0),
        "community_midwife": (0.07, 0.4, 0.20, 0.0, 0.0),
        "obstetrics": (0.07, 0.6, 0.04, 0.0, 0.0),
        "drug_service": (0.25, 0.15, 0.10, 0.14, 0.14),
        "social_care": (0.08, 0.35, 0.14, 0.07, 0.04),
        "health_visitor": (0.02, 0.15, 0.21, 0.06, 0.03),
        "gp": (0.04, 0.0, 0.04, 0.03, 0.03),
        "perinatal_mental_health": (0.03, 0.0, 0.02, 0.015, 0.015),
        "housing": (0.02, 0.0, 0.02, 0.015, 0.01),
        "third_sector": (0.03, 0.0, 0.015, 0.015, 0.015),
    },
    "glasgow": {  # multidisciplinary special-needs-in-pregnancy service
        "specialist_midwife": (0.40, 1.0, 0.21, 0.06, 0.0),
        "community_midwife": (0.04, 0.2, 0.14, 0.0, 0.0),
        "obstetrics": (0.08, 0.6, 0.04, 0.0, 0.0),
        "drug_service": (0.32, 0.45, 0.28, 0.21, 0.18),
        "social_care": (0.10, 0.35, 0.18, 0.10, 0.07),
        "health_visitor": (0.02, 0.15, 0.25, 0.08, 0.04),
        "gp": (0.03, 0.0, 0.04, 0.035, 0.03),
        "perinatal_mental_health": (0.05, 0.07, 0.07, 0.05, 0.035),
        "housing": (0.02, 0.0, 0.02, 0.015, 0.01),
        "third_sector": (0.04, 0.0, 0.06, 0.04, 0.035),
    },
    "ayrshire": {  # dispersed generic services, no specialist team
        "specialist_midwife": (0.0, 0.0, 0.0, 0.0, 0.0),
        "community_midwife": (0.22, 0.85, 0.21, 0.0, 0.0),
        "obstetrics": (0.08, 0.6, 0.04, 0.0, 0.0),
        "drug_service": (0.21, 0.07, 0.05, 0.08, 0.10),
        "social_care": (0.07, 0.3, 0.10, 0.04, 0.03),
        "health_visitor": (0.015, 0.15, 0.21, 0.06, 0.03),
        "gp": (0.06, 0.0, 0.06, 0.04, 0.035),
        "perinatal_mental_health": (0.015, 0.0, 0.015, 0.007, 0.007),
        "housing": (0.02, 0.0, 0.015, 0.015, 0.01),
        "third_sector": (0.02, 0.0, 0.015, 0.015, 0.015),
    },
}

MODES = ["face_to_face", "home_visit", "telephone", "video"]
MODE_PROBS: dict[str, list[float]] = {
    "health_visitor": [0.25, 0.65, 0.08, 0.02],
    "community_midwife": [0.45, 0.45, 0.08, 0.02],
    "social_care": [0.45, 0.35, 0.17, 0.03],
}
DEFAULT_MODE_PROBS = [0.72, 0.04, 0.21, 0.03]


@dataclass(frozen=True)
class LogStyle:
    """How one site keeps its contact log."""

    site: str
    file: str
    kind: str  # "csv" or "xlsx"
    encoding: str
    separator: str
    line_end: str
    columns: dict[str, str]  # study_id/date/service/mode -> header text (mode optional)
    column_order: tuple[str, ...]
    date_format: str  # strftime pattern, or "excel_serial"
    services: dict[str, str]  # harmonised code -> raw name
    typos: dict[str, tuple[str, ...]]  # harmonised code -> misspellings seen in the log
    modes: dict[str, str]  # mode code -> raw label
    header_row: int = 1
    title: str | None = None
    blank_lines: float = 0.0
    duplicates: float = 0.0
    typo_rate: float = 0.0
    total_row: bool = False


LOG_STYLES: list[LogStyle] = [
    LogStyle(
        site="east_london", file="SYNTHETIC_contacts_east_london.csv", kind="csv",
        encoding="utf-8", separator=",", line_end="\n",
        columns={"study_id": "Study ID", "date": "Date", "service": "Service",
                 "mode": "Contact type"},
        column_order=("study_id", "date", "service", "mode"),
        date_format="%Y-%m-%d",
        services={"specialist_midwife": "Spec MW", "community_midwife": "Community MW",
                  "obstetrics": "Obs", "drug_service": "CGL", "social_care": "CSC",
                  "health_visitor": "HV", "gp": "GP", "perinatal_mental_health": "PMHS",
                  "housing": "Housing", "third_sector": "Peer support", "neonatal_unit": "NNU",
                  "mother_baby_placement": "MBU", "residential_rehab": "Rehab",
                  "family_court": "Family court"},
        typos={"specialist_midwife": ("Spec M/W", "Spec MW."), "drug_service": ("C.G.L",)},
        modes={"face_to_face": "Face to face", "home_visit": "Home visit",
               "telephone": "Telephone", "video": "Video"},
        duplicates=0.015, typo_rate=0.03,
    ),
    LogStyle(
        site="huddersfield", file="SYNTHETIC_contacts_huddersfield.csv", kind="csv",
        encoding="cp1252", separator=";", line_end="\r\n",
        columns={"study_id": "Client ref", "date": "Date of contact", "service": "Service",
                 "mode": "Type"},
        column_order=("date", "study_id", "service", "mode"),
        date_format="%d/%m/%Y",
        services={"specialist_midwife": "SMW", "community_midwife": "Midwife (community)",
                  "obstetrics": "Obstetrics", "drug_service": "D&A \u2013 Recovery service",
                  "social_care": "Children\u2019s Social Care", "health_visitor": "Health Visitor",
                  "gp": "GP", "perinatal_mental_health": "Perinatal MH", "housing": "Housing",
                  "third_sector": "Peer mentor", "neonatal_unit": "Neonatal Unit",
                  "mother_baby_placement": "Mother & Baby Unit",
                  "residential_rehab": "Residential Rehab", "family_court": "Family Court"},
        typos={"health_visitor": ("Helath Visitor",), "specialist_midwife": ("S.M.W",),
               "social_care": ("Childrens Social Care",)},
        modes={"face_to_face": "F2F", "home_visit": "Home", "telephone": "Tel",
               "video": "Video call"},
        blank_lines=0.01, duplicates=0.02, typo_rate=0.03,
    ),
    LogStyle(
        site="glasgow", file="SYNTHETIC_contacts_glasgow.xlsx", kind="xlsx",
        encoding="", separator="", line_end="",
        columns={"study_id": "ID", "date": "Contact date", "service": "Service/agency",
                 "mode": "Mode"},
        column_order=("study_id", "service", "date", "mode"),
        date_format="excel_serial",
        services={"specialist_midwife": "SNIPs MW", "community_midwife": "Community Midwife",
                  "obstetrics": "Obstetrician", "drug_service": "Addictions",
                  "social_care": "SW", "health_visitor": "HV", "gp": "GP",
                  "perinatal_mental_health": "PMHS", "housing": "Housing",
                  "third_sector": "Third sector", "neonatal_unit": "NNU",
                  "mother_baby_placement": "M&B placement", "residential_rehab": "Rehab",
                  "family_court": "Children's Hearing"},
        typos={"drug_service": ("Addictons",), "specialist_midwife": ("SNIPS MW", "Snips MW")},
        modes={"face_to_face": "Clinic", "home_visit": "Home visit", "telephone": "Phone",
               "video": "Near Me"},
        header_row=2,
        title="SYNTHETIC DATA - not real people - Special Needs in Pregnancy service contact log",
        duplicates=0.015, typo_rate=0.03,
    ),
    LogStyle(
        site="ayrshire", file="SYNTHETIC_contacts_ayrshire.csv", kind="csv",
        encoding="utf-8", separator=",", line_end="\n",
        columns={"study_id": "Participant", "date": "Date", "service": "Agency"},
        column_order=("study_id", "date", "service"),
        date_format="d-Mon-yy",
        services={"specialist_midwife": "Spec MW", "community_midwife": "Comm MW",
                  "obstetrics": "Obs", "drug_service": "D&A", "social_care": "SW",
                  "health_visitor": "HV", "gp": "GP", "perinatal_mental_health": "MH team",
                  "housing": "Housing", "third_sector": "Third sector", "neonatal_unit": "SCBU",
                  "mother_baby_placement": "MBU", "residential_rehab": "Rehab",
                  "family_court": "Childrens Hearing"},
        typos={"community_midwife": ("Comm M/W", "Com MW"), "drug_service": ("D & A",),
               "health_visitor": ("H.V.",)},
        modes={},
        blank_lines=0.02, duplicates=0.03, typo_rate=0.04, total_row=True,
    ),
]

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def simulate_contacts(rng: np.random.Generator, women: list[Woman]) -> pd.DataFrame:
    """Return one row per true contact: study_id, site, service, day, mode (sorted, no mess)."""
    recruited = [w for w in women if w.consented]
    weeks = np.arange(-44, 80)
    segment = np.searchsorted(SEGMENT_EDGES, weeks, side="right")  # 0..4 per week
    frames: list[pd.DataFrame] = []
    for site in RATES:
        group = [w for w in recruited if w.site == site]
        if not group:
            continue
        birth = np.array([w.birth_day for w in group])
        start_week = np.array([_first_week(w) for w in group])
        end_week = np.array([(w.end_day - w.birth_day) // 7 for w in group])
        active = (weeks[None, :] >= start_week[:, None]) & (weeks[None, :] <= end_week[:, None])
        concern = np.array([w.concern for w in group])
        has_mh = np.array([len(w.mental_health) > 0 for w in group])
        for service in SERVICES:
            rates = np.array(RATES[site][service])[segment][None, :].repeat(len(group), axis=0)
            if service == "social_care":
                rates = rates * np.where(concern, 2.2, 0.6)[:, None]
            if service == "perinatal_mental_health":
                rates = rates * np.where(has_mh, 1.4, 0.3)[:, None]
            counts = rng.poisson(rates * active)
            frames.append(_expand(rng, group, birth, weeks, counts, service))
        frames.append(_event_contacts(rng, group))
    contacts = pd.concat(frames, ignore_index=True)
    contacts["mode"] = _draw_modes(rng, contacts["service"].to_numpy())
    contacts = contacts.sort_values(["site", "study_id", "day", "service"], kind="mergesort")
    return contacts.reset_index(drop=True)


def _first_week(w: Woman) -> int:
    booking = min(day for event, day, _ in w.events if event == "booking") if w.events else w.consent_day
    return int(np.floor((min(booking, w.consent_day) - w.birth_day) / 7))


def _expand(
    rng: np.random.Generator,
    group: list[Woman],
    birth: np.ndarray,
    weeks: np.ndarray,
    counts: np.ndarray,
    service: str,
) -> pd.DataFrame:
    """Turn a women x weeks count matrix into contact rows on random days of those weeks."""
    who, week_index = np.nonzero(counts)
    repeat = counts[who, week_index]
    who = np.repeat(who, repeat)
    week_index = np.repeat(week_index, repeat)
    day = birth[who] + 7 * weeks[week_index] + rng.integers(0, 7, size=len(who))
    end = np.array([w.end_day for w in group])[who]
    keep = day <= end
    return pd.DataFrame({
        "study_id": np.array([w.study_id for w in group], dtype=object)[who][keep],
        "site": group[0].site,
        "service": service,
        "day": day[keep],
    })


def _event_contacts(rng: np.random.Generator, group: list[Woman]) -> pd.DataFrame:
    """Contacts tied to episodes: neonatal unit, mother-and-baby placement, rehab, court."""
    rows: list[tuple[str, str, str, int]] = []
    for w in group:
        if w.nnu:
            start, stay = w.nnu
            for day in range(start, start + stay, 3):
                rows.append((w.study_id, w.site, "neonatal_unit", day + int(rng.integers(0, 2))))
        spans = list(zip(w.placements, w.placements[1:] + [(w.end_day, "")]))
        for (start, placement), (stop, _) in spans:
            if placement == "mother_baby_placement":
                for day in range(start, min(stop, w.end_day), 7):
                    rows.append((w.study_id, w.site, "mother_baby_placement", day + int(rng.integers(0, 3))))
            if placement == "foster_care":
                for day in range(start + 14, min(stop, w.end_day, start + 7 * 40), 42):
                    rows.append((w.study_id, w.site, "family_court", day + int(rng.integers(0, 5))))
        if w.rehab:
            start, stop, _ = w.rehab
            for day in range(start, min(stop, w.end_day), 7):
                rows.append((w.study_id, w.site, "residential_rehab", day + int(rng.integers(0, 3))))
    frame = pd.DataFrame(rows, columns=["study_id", "site", "service", "day"])
    return frame.loc[frame["day"] <= frame["study_id"].map({w.study_id: w.end_day for w in group})]


def _draw_modes(rng: np.random.Generator, services: np.ndarray) -> np.ndarray:
    u = rng.random(len(services))
    modes = np.empty(len(services), dtype=object)
    for service in np.unique(services):
        mask = services == service
        probs = np.cumsum(MODE_PROBS.get(service, DEFAULT_MODE_PROBS))
        modes[mask] = np.array(MODES, dtype=object)[np.searchsorted(probs, u[mask] * probs[-1])]
    return modes


def format_dates(days: np.ndarray, date_format: str) -> list:
    """Format day numbers as a site writes them (strftime pattern, 'd-Mon-yy' or serials)."""
    if date_format == "excel_serial":
        return [int(d) + 25569 for d in days]  # Excel's 1900 date system: 1970-01-01 = 25569
    stamps = pd.to_datetime(np.asarray(days, dtype="int64"), unit="D", origin=pd.Timestamp(EPOCH))
    if date_format == "d-Mon-yy":
        return [f"{s.day}-{MONTHS[s.month - 1]}-{s.year % 100:02d}" for s in stamps]
    return list(stamps.strftime(date_format))


def site_log_rows(
    rng: np.random.Generator, contacts: pd.DataFrame, style: LogStyle
) -> tuple[list[str], list[list]]:
    """Return (header, rows) of one site's log with its mess: typos, duplicates, blank rows.

    Blank rows are empty lists; a total row (if the style has one) is last.
    """
    own = contacts.loc[contacts["site"] == style.site]
    services = own["service"].map(style.services).to_numpy(dtype=object)
    typo_draw = rng.random(len(own))
    for code, variants in style.typos.items():
        mask = (own["service"].to_numpy() == code) & (typo_draw < style.typo_rate)
        if mask.any():
            services[mask] = np.array(variants, dtype=object)[rng.integers(0, len(variants), mask.sum())]
    values = {
        "study_id": own["study_id"].to_numpy(dtype=object),
        "date": format_dates(own["day"].to_numpy(), style.date_format),
        "service": services,
        "mode": own["mode"].map(style.modes).to_numpy(dtype=object) if style.modes else None,
    }
    header = [style.columns[key] for key in style.column_order]
    rows = [list(r) for r in zip(*(values[key] for key in style.column_order))]
    out: list[list] = []
    dup_draw = rng.random(len(rows))
    blank_draw = rng.random(len(rows))
    for row, dup, blank in zip(rows, dup_draw, blank_draw):
        out.append(row)
        if dup < style.duplicates:
            out.append(list(row))
        if blank < style.blank_lines:
            out.append([])
    if style.total_row:
        total = ["" for _ in header]
        total[0] = "TOTAL CONTACTS"
        total[-1] = str(len(rows))
        out.append(total)
    return header, out


def csv_bytes(header: list[str], rows: list[list], style: LogStyle) -> bytes:
    """Serialise a CSV log in the site's encoding, separator and line ending."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=style.separator, lineterminator=style.line_end)
    writer.writerow(header)
    for row in rows:
        if row:
            writer.writerow(row)
        else:
            buffer.write(style.line_end)
    return buffer.getvalue().encode(style.encoding)
