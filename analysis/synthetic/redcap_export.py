"""The SYNTHETIC REDCap project: its data dictionary and a "raw" CSV export of the records.

The export follows REDCap's conventions: one row per record, ``record_id`` then
``redcap_data_access_group`` (the site's data access group), coded values (``1, Label`` choices;
``yesno`` as 1/0), checkbox fields as ``field___code`` columns holding 1/0, dates as
YYYY-MM-DD, fields hidden by branching logic left blank, and a ``<form>_complete`` status column
(0 Incomplete, 1 Unverified, 2 Complete) after each form's fields.
"""

from __future__ import annotations

import numpy as np

from analysis.synthetic.cohort import (
    AGE_BANDS,
    ETHNICITIES,
    HOUSING,
    MENTAL_HEALTH,
    SUBSTANCES,
    TREATMENTS,
    WAVE_STATUS,
    WITHDRAWAL_TYPES,
    Woman,
    date_string,
)

DICTIONARY_COLUMNS = [
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
    "Choices, Calculations, OR Slider Labels", "Field Note",
    "Text Validation Type OR Show Slider Number", "Text Validation Min", "Text Validation Max",
    "Identifier?", "Branching Logic (Show field only if...)", "Required Field?",
    "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name",
    "Matrix Ranking?", "Field Annotation",
]

DAG_NAMES = {
    "east_london": "east_london",
    "huddersfield": "huddersfield",
    "glasgow": "ggc",
    "ayrshire": "ayrshire_arran",
}
"""REDCap unique data access group names of the four sites."""

DAG_LABELS = {
    "east_london": "East London",
    "huddersfield": "Huddersfield",
    "glasgow": "Greater Glasgow & Clyde",
    "ayrshire": "Ayrshire & Arran",
}

CONSENTED = "[consent] = '1'"


def _choices(pairs) -> str:
    return " | ".join(f"{code}, {label}" for code, label, *_ in pairs)


def dictionary_rows() -> list[dict[str, str]]:
    """Return the data dictionary, one dict per field, in form order."""
    rows: list[dict[str, str]] = []

    def add(field, form, ftype, label, choices="", validation="", vmin="", vmax="",
            branching="", section="", note="", required="", annotation=""):
        rows.append({
            "Variable / Field Name": field, "Form Name": form, "Section Header": section,
            "Field Type": ftype, "Field Label": label,
            "Choices, Calculations, OR Slider Labels": choices, "Field Note": note,
            "Text Validation Type OR Show Slider Number": validation,
            "Text Validation Min": vmin, "Text Validation Max": vmax, "Identifier?": "",
            "Branching Logic (Show field only if...)": branching, "Required Field?": required,
            "Custom Alignment": "", "Question Number (surveys only)": "",
            "Matrix Group Name": "", "Matrix Ranking?": "", "Field Annotation": annotation,
        })

    add("record_id", "screening", "text", "Study ID",
        section="SYNTHETIC DATA - invented for software testing, not real people",
        note="SS-<site>-<number>")
    add("screening_date", "screening", "text", "Date screened (shifted)", validation="date_dmy",
        note="All dates are shifted by a random offset per participant")
    add("consent", "screening", "yesno", "Consented to take part?", required="y")
    add("consent_date", "screening", "text", "Date of consent (shifted)", validation="date_dmy",
        branching=CONSENTED)
    add("age_band", "baseline", "dropdown", "Age band at recruitment", _choices(AGE_BANDS),
        branching=CONSENTED, section="About the participant")
    add("ethnicity", "baseline", "dropdown", "Ethnic group (ONS 2021 categories)",
        _choices(ETHNICITIES), branching=CONSENTED)
    add("parity", "baseline", "text", "Number of previous births", validation="integer",
        vmin="0", vmax="15", branching=CONSENTED)
    add("prev_children_removed", "baseline", "yesno",
        "Has any previous child been removed from her care?", branching="[parity] > 0")
    add("care_experienced", "baseline", "yesno", "Care experienced (was in care as a child)?",
        branching=CONSENTED)
    add("substances", "baseline", "checkbox", "Substances used in the past year",
        _choices(SUBSTANCES), branching=CONSENTED, section="Substance use and treatment")
    add("treatment", "baseline", "radio", "Opioid substitution treatment at recruitment",
        _choices(TREATMENTS), branching=CONSENTED)
    add("housing", "baseline", "dropdown", "Housing at recruitment", _choices(HOUSING),
        branching=CONSENTED, section="Circumstances")
    add("mental_health", "baseline", "checkbox", "Mental health conditions (reported)",
        _choices(MENTAL_HEALTH), branching=CONSENTED)
    add("domestic_abuse", "baseline", "yesno", "Experience of domestic abuse?",
        branching=CONSENTED)
    add("gestation_weeks", "baseline", "text", "Gestation at recruitment (weeks)",
        validation="integer", vmin="4", vmax="42", branching=CONSENTED)
    wave_names = {1: "pregnancy", 2: "birth / 6-8 weeks", 3: "6 months", 4: "12 months",
                  5: "18 months"}
    for wave, name in wave_names.items():
        add(f"w{wave}_status", "interviews", "radio", f"Wave {wave} ({name}) interview",
            _choices(WAVE_STATUS), branching=CONSENTED,
            section="Interview waves" if wave == 1 else "")
        add(f"w{wave}_date", "interviews", "text", f"Wave {wave} interview date (shifted)",
            validation="date_dmy", branching=f"[w{wave}_status] = '1'")
    add("withdrawn", "withdrawal", "yesno", "Withdrawn or lost to follow-up?",
        branching=CONSENTED)
    add("withdrawal_type", "withdrawal", "radio", "Type of ending", _choices(WITHDRAWAL_TYPES),
        branching="[withdrawn] = '1'")
    add("withdrawal_date", "withdrawal", "text", "Date of withdrawal or last contact (shifted)",
        validation="date_dmy", branching="[withdrawn] = '1'")
    return rows


def export_header(dictionary: list[dict[str, str]]) -> list[str]:
    """Column names of a raw export: fields (checkboxes expanded), DAG, form status columns."""
    header: list[str] = []
    forms: list[str] = []
    for row in dictionary:
        field, form = row["Variable / Field Name"], row["Form Name"]
        if forms and form != forms[-1]:
            header.append(f"{forms[-1]}_complete")
        if not forms or form != forms[-1]:
            forms.append(form)
        if row["Field Type"] == "checkbox":
            codes = [c.split(",", 1)[0].strip()
                     for c in row["Choices, Calculations, OR Slider Labels"].split("|")]
            header += [f"{field}___{code}" for code in codes]
        else:
            header.append(field)
        if field == "record_id":
            header.append("redcap_data_access_group")
    header.append(f"{forms[-1]}_complete")
    return header


def export_rows(rng: np.random.Generator, women: list[Woman]) -> list[list[str]]:
    """Return the raw export rows (strings), one per screened woman, ordered as REDCap does."""
    header = export_header(dictionary_rows())
    rows: list[list[str]] = []
    stale_done = False
    for w in women:
        value: dict[str, str] = {name: "" for name in header}
        value["record_id"] = w.study_id
        value["redcap_data_access_group"] = DAG_NAMES[w.site]
        value["screening_date"] = date_string(w.screen_day)
        value["consent"] = "1" if w.consented else "0"
        value["screening_complete"] = "2"
        for code, *_ in SUBSTANCES:
            value[f"substances___{code}"] = "0"
        for code, *_ in MENTAL_HEALTH:
            value[f"mental_health___{code}"] = "0"
        for form in ("baseline", "interviews", "withdrawal"):
            value[f"{form}_complete"] = "0"
        if w.consented:
            value["consent_date"] = date_string(w.consent_day)
            value["age_band"] = str(w.age_band)
            value["ethnicity"] = str(w.ethnicity)
            value["parity"] = str(w.parity)
            if w.previous_removed is not None:
                value["prev_children_removed"] = str(w.previous_removed)
            elif not stale_done and rng.random() < 0.3:
                # a value left behind after parity was corrected to 0 (hidden by branching)
                value["prev_children_removed"] = "0"
                stale_done = True
            value["care_experienced"] = str(w.care_experienced)
            for code in w.substances:
                value[f"substances___{code}"] = "1"
            value["treatment"] = str(w.treatment)
            value["housing"] = str(w.housing)
            for code in w.mental_health:
                value[f"mental_health___{code}"] = "1"
            value["domestic_abuse"] = str(w.domestic_abuse)
            value["gestation_weeks"] = str(w.gestation)
            value["baseline_complete"] = "2" if rng.random() < 0.9 else "1"
            for wave, status in w.wave_status.items():
                value[f"w{wave}_status"] = str(status)
                if status == 1:
                    value[f"w{wave}_date"] = date_string(w.wave_day[wave])
            value["interviews_complete"] = "2" if len(w.wave_status) == 5 or w.withdrawal_type else "1"
            value["withdrawn"] = "1" if w.withdrawal_type else "0"
            if w.withdrawal_type:
                value["withdrawal_type"] = str(w.withdrawal_type)
                value["withdrawal_date"] = date_string(w.withdrawal_day)
            value["withdrawal_complete"] = "2"
        rows.append([value[name] for name in header])
    return rows
