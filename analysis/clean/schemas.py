"""Declared rules for every table the cleaning stage makes (pandera schemas) and checks.

Schemas hold the per-table rules: types, allowed values, ranges, patterns and uniqueness. The
cross-table rules (every contact belongs to a known recruited woman at the same site, every
segment document maps to a completed interview, ...) are :func:`require_known` calls in the
cleaning stage. Both report the first broken rule as a
:class:`analysis.core.errors.DataValidationError` naming the raw file and row the value came from:
frames validated here may carry ``_file`` and ``_row`` columns (ignored by the schemas).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import pandas as pd
import pandera.pandas as pa

from analysis.core import tables as t
from analysis.core.errors import DataValidationError

CONTACT_WEEKS: tuple[float, float] = (-52.0, 104.0)
"""A contact must fall between a year before and two years after the birth."""
EVENT_WEEKS: tuple[float, float] = (-60.0, 120.0)
"""A key event must fall between 60 weeks before and 120 weeks after the birth."""
INTERVIEW_WEEKS: tuple[float, float] = (-45.0, 110.0)


def _in(values: Collection[str], what: str) -> pa.Check:
    return pa.Check.isin(list(values), error=f"{what} in ({', '.join(map(str, values))})")


def _range(low: float, high: float, what: str) -> pa.Check:
    return pa.Check.in_range(low, high, error=f"{what} within {low:g}..{high:g}")


def derived_schemas(id_pattern: str, sites: Collection[str],
                    services: Collection[str]) -> dict[str, pa.DataFrameSchema]:
    """Return the pandera schema of each derived table.

    Args:
        id_pattern: regular expression of a study ID (from ``sources.yml``).
        sites: site codes (``analysis/config/sites.csv``).
        services: harmonised service codes (``analysis/config/services.csv``).
    """
    study_id = pa.Column(t.STRING, pa.Check.str_matches(id_pattern,
                                                         error=f"study ID pattern {id_pattern}"))
    site = pa.Column(t.STRING, _in(sites, "site"))
    week_rel = pa.Column(t.FLOAT, nullable=True)

    def col(dtype: str, *checks: pa.Check, nullable: bool = False, unique: bool = False):
        return pa.Column(dtype, list(checks), nullable=nullable, unique=unique)

    return {
        "participants": pa.DataFrameSchema({
            "study_id": pa.Column(t.STRING, study_id.checks, unique=True),
            "site": site,
            "recruited": col(t.BOOL),
            "age_band": col(t.STRING, nullable=True),
            "ethnicity": col(t.STRING, nullable=True),
            "parity": col(t.INT, _range(0, 15, "parity"), nullable=True),
            "previous_children_removed": col(t.BOOL, nullable=True),
            "care_experienced": col(t.BOOL, nullable=True),
            "treatment": col(t.STRING, _in(t.TREATMENTS, "treatment"), nullable=True),
            "housing": col(t.STRING, nullable=True),
            "domestic_abuse": col(t.BOOL, nullable=True),
            "gestation_at_recruitment_weeks": col(t.INT, _range(4, 42, "gestation"),
                                                  nullable=True),
            "status": col(t.STRING, _in(t.PARTICIPANT_STATUSES, "status"), nullable=True),
            "waves_completed": col(t.INT, _range(0, 5, "waves completed"), nullable=True),
            "last_wave": col(t.INT, _range(1, 5, "last wave"), nullable=True),
            "placement_at_birth": col(t.STRING, _in(t.PLACEMENTS, "placement"), nullable=True),
            "placement_at_18m": col(t.STRING, _in(t.PLACEMENTS, "placement"), nullable=True),
        }),
        "participant_substances": pa.DataFrameSchema(
            {"study_id": study_id, "substance": col(t.STRING)},
            unique=["study_id", "substance"]),
        "participant_mental_health": pa.DataFrameSchema(
            {"study_id": study_id, "condition": col(t.STRING)},
            unique=["study_id", "condition"]),
        "interviews": pa.DataFrameSchema({
            "study_id": study_id, "site": site,
            "wave": col(t.INT, _in(list(t.WAVE_LABELS), "wave")),
            "wave_label": col(t.STRING, _in(list(t.WAVE_LABELS.values()), "wave label")),
            "status": col(t.STRING, _in(t.INTERVIEW_STATUSES, "interview status")),
            "week_rel_birth": col(t.FLOAT, _range(*INTERVIEW_WEEKS, "interview week"),
                                  nullable=True),
        }, unique=["study_id", "wave"], checks=[pa.Check(
            lambda d: d["week_rel_birth"].isna() | (d["status"] == "completed"),
            error="week only for completed interviews")]),
        "events": pa.DataFrameSchema({
            "study_id": study_id, "site": site,
            "event": col(t.STRING, _in(t.EVENTS, "event")),
            "week_rel_birth": col(t.FLOAT, _range(*EVENT_WEEKS, "event week relative to birth")),
            "detail": col(t.STRING, nullable=True),
            "phase": col(t.STRING, _in(t.PHASES, "phase")),
        }),
        "placements": pa.DataFrameSchema({
            "study_id": study_id, "site": site,
            "placement": col(t.STRING, _in(t.PLACEMENTS, "placement")),
            "from_week": col(t.FLOAT),
            "to_week": week_rel,
        }, checks=[pa.Check(lambda d: d["to_week"].isna() | (d["to_week"] > d["from_week"]),
                            error="placement ends after it starts")]),
        "contacts": pa.DataFrameSchema({
            "contact_id": col(t.STRING, unique=True),
            "study_id": study_id, "site": site,
            "service": col(t.STRING, _in(services, "service")),
            "contact_date": col(t.DATE),
            "week_rel_birth": col(t.FLOAT, _range(*CONTACT_WEEKS, "contact weeks relative to birth")),
            "phase": col(t.STRING, _in(t.PHASES, "phase")),
            "contact_mode": col(t.STRING, _in(t.CONTACT_MODES, "contact mode"), nullable=True),
            "source_file": col(t.STRING),
            "source_row": col(t.INT, pa.Check.ge(1, error="source row >= 1")),
        }),
        "codebook": pa.DataFrameSchema({
            "code_id": col(t.STRING, unique=True),
            "code": col(t.STRING, unique=True),
            "parent_id": col(t.STRING, nullable=True),
            "theme_id": col(t.STRING),
            "theme": col(t.STRING),
            "level": col(t.INT, pa.Check.ge(1, error="level >= 1")),
            "description": col(t.STRING, nullable=True),
            "colour": col(t.STRING, pa.Check.str_matches(r"^#[0-9A-Fa-f]{6}$",
                                                         error="colour #RRGGBB"), nullable=True),
        }),
        "segments": _segment_schema(study_id, site, professional=False),
        "professionals": pa.DataFrameSchema({
            "prof_id": col(t.STRING, unique=True),
            "site": site,
            "role": col(t.STRING),
            "service": col(t.STRING, _in(services, "service"), nullable=True),
            "data_collection": col(t.STRING, _in(t.DATA_COLLECTIONS, "data collection")),
            "document": col(t.STRING),
        }),
        "professional_segments": _segment_schema(study_id, site, professional=True),
        "cleaning_log": pa.DataFrameSchema({
            "stage": col(t.STRING), "file": col(t.STRING), "rule": col(t.STRING),
            "rows_affected": col(t.INT, pa.Check.ge(0, error="rows affected >= 0")),
            "action": col(t.STRING), "detail": col(t.STRING, nullable=True),
        }),
    }


def _segment_schema(study_id: pa.Column, site: pa.Column, professional: bool) -> pa.DataFrameSchema:
    columns: dict[str, pa.Column] = {"segment_id": pa.Column(t.STRING, unique=True)}
    if professional:
        columns["prof_id"] = pa.Column(t.STRING, nullable=True)
        columns["site"] = site
    else:
        columns["study_id"] = study_id
        columns["site"] = site
        columns["wave"] = pa.Column(t.INT, _in(list(t.WAVE_LABELS), "wave"))
    columns |= {
        "document": pa.Column(t.STRING),
        "code_id": pa.Column(t.STRING),
        "theme_id": pa.Column(t.STRING),
        "text": pa.Column(t.STRING),
        "start": pa.Column(t.INT, pa.Check.ge(0, error="Start >= 0")),
        "end": pa.Column(t.INT),
        "coder": pa.Column(t.STRING, nullable=True),
    }
    return pa.DataFrameSchema(columns, checks=[pa.Check(lambda d: d["end"] > d["start"],
                                                        error="End > Start")])


def validate(frame: pd.DataFrame, schema: pa.DataFrameSchema, table: str,
             column_names: Mapping[str, str] | None = None) -> None:
    """Validate ``frame`` (all failures collected) and raise the first as DataValidationError.

    ``frame`` may hold ``_file`` and ``_row`` (where each row came from); ``column_names`` maps
    a derived column to its name in the raw file, for the message.
    """
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        first = cases.iloc[0]
        group = cases.loc[(cases["column"] == first["column"]) & (cases["check"] == first["check"])]
        located = group.loc[group["index"].notna()]
        index = None
        if len(located):
            index = located["index"].max() if "uniqueness" in str(first["check"]) else located["index"].min()
            first = located.loc[located["index"] == index].iloc[0]
        column = str(first["column"]) if first["column"] is not None else None
        file, row = table, None
        if index is not None and "_file" in frame.columns:
            file = str(frame.at[index, "_file"])
        if index is not None and "_row" in frame.columns and pd.notna(frame.at[index, "_row"]):
            row = int(frame.at[index, "_row"])
        shown = (column_names or {}).get(column, column) if column else None
        rule = str(first["check"])
        if rule == "field_uniqueness":
            rule = f"unique {column}"
        elif rule == "multiple_fields_uniqueness":
            rule = "unique combination of " + ", ".join(schema.unique or [])
        raise DataValidationError(
            file, row, shown, rule,
            f"value {first['failure_case']!r} breaks rule {first['check']!r} of table "
            f"{table!r} ({len(cases)} failing check(s) in all)",
        ) from None


