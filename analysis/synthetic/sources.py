"""The folder description files of the synthetic export: ``sources.yml`` and ``service_map.csv``.

``sources.yml`` tells the cleaning stage which file is which and how each is kept, so that a real
team's export needs only its own copy of these two files. Its format is documented in the
comments written into it.
"""

from __future__ import annotations

from analysis.synthetic.cohort import EVENT_LABELS, PLACEMENT_LABELS
from analysis.synthetic.contacts import LOG_STYLES
from analysis.synthetic.coproduction import ROLES
from analysis.synthetic.diaries import LIFE_EVENT_KINDS
from analysis.synthetic.redcap_export import DAG_LABELS, DAG_NAMES


def _q(value: str) -> str:
    """Quote a string for YAML (single quotes, doubled inside)."""
    return "'" + value.replace("'", "''") + "'"


def service_map_rows() -> list[list[str]]:
    """(site, raw service name as written in that site's log, harmonised service code)."""
    rows: list[list[str]] = []
    for style in LOG_STYLES:
        for code, raw in style.services.items():
            rows.append([style.site, raw, code])
        for code, variants in style.typos.items():
            for raw in variants:
                rows.append([style.site, raw, code])
    return sorted(rows)


CODED_DATA_FORMS = ("csv", "qdpx")
"""The two forms in which ``sources.yml`` can declare the coded qualitative data."""


def sources_yaml(coded_data: str = "csv") -> str:
    """Return the text of ``sources.yml`` for the synthetic export.

    Args:
        coded_data: ``"csv"`` (the shipped file): codebook, coded segments and transcripts are
            read from the CSV files and ``transcripts/``; ``"qdpx"``: they are read from
            ``SYNTHETIC_project.qdpx`` through ``qda_map.csv``. The export folder holds both
            forms; the rest of the file is the same.
    """
    if coded_data not in CODED_DATA_FORMS:
        raise ValueError(f"coded_data must be one of {CODED_DATA_FORMS}, not {coded_data!r}")
    lines = [
        "# SYNTHETIC DATA - invented for software testing, not real people.",
        "# sources.yml: which file of this export folder is which, and how each is kept.",
        "# The cleaning stage (analysis/cleaning.py) reads only what is declared here, so a real",
        "# export folder needs its own sources.yml and service_map.csv, not code changes.",
        "# Per file: file, encoding (Python codec name), separator, header_row (1-based row of",
        "# the column names; rows above it are titles), sheet (xlsx), columns (derived name ->",
        "# column name as written in the file), date_format (strftime pattern, or excel_serial).",
        "synthetic: true",
        "study_id_pattern: '^SS-(EL|HD|GG|AA)-[0-9]{3,}$'",
        "",
        "redcap:",
        "  dictionary: {file: SYNTHETIC_redcap_data_dictionary.csv, encoding: utf-8-sig}",
        "  # export: raw (codes), label (labels), or auto (detected from the values)",
        "  records: {file: SYNTHETIC_redcap_participants_raw.csv, encoding: utf-8-sig, export: auto}",
        "  site_field: redcap_data_access_group",
        "  sites:  # data access group, unique name or label -> site code",
    ]
    for site in DAG_NAMES:
        lines.append(f"    {_q(DAG_NAMES[site])}: {site}")
        lines.append(f"    {_q(DAG_LABELS[site])}: {site}")
    lines += [
        "  fields:  # derived column -> REDCap field",
        "    study_id: record_id",
        "    consent: consent",
        "    consent_date: consent_date",
        "    age_band: age_band",
        "    ethnicity: ethnicity",
        "    parity: parity",
        "    previous_children_removed: prev_children_removed",
        "    care_experienced: care_experienced",
        "    substances: substances",
        "    treatment: treatment",
        "    housing: housing",
        "    mental_health: mental_health",
        "    domestic_abuse: domestic_abuse",
        "    gestation_at_recruitment_weeks: gestation_weeks",
        "    withdrawn: withdrawn",
        "    withdrawal_type: withdrawal_type",
        "    withdrawal_date: withdrawal_date",
        "  waves:  # wave -> interview status and date fields",
    ]
    for wave in range(1, 6):
        lines.append(f"    {wave}: {{status: w{wave}_status, date: w{wave}_date}}")
    lines += [
        "  values:  # choice label -> code used in the derived tables (other labels pass through)",
        "    treatment: {'Methadone': methadone, 'Buprenorphine': buprenorphine, 'None': none}",
        "    wave_status: {'Completed': completed, 'Missed': missed}",
        "    withdrawal_type: {'Withdrew consent': withdrawn, 'Lost to follow-up': lost_to_follow_up}",
        "",
        "key_events:",
        "  file: SYNTHETIC_key_events.csv",
        "  encoding: utf-8",
        "  separator: ','",
        "  header_row: 1",
        "  date_format: '%d/%m/%Y'",
        "  columns: {study_id: 'Study ID', event: 'Event', date: 'Date', detail: 'Detail'}",
        "  events:  # value in the Event column -> event code",
    ]
    for code, label in EVENT_LABELS.items():
        lines.append(f"    {_q(label)}: {code}")
    lines.append("  placements:  # Detail of a 'Placement change' -> placement code")
    for code, label in PLACEMENT_LABELS.items():
        lines.append(f"    {_q(label)}: {code}")
    lines += ["", "contact_logs:"]
    for style in LOG_STYLES:
        lines.append(f"  - site: {style.site}")
        lines.append(f"    file: {style.file}")
        lines.append(f"    format: {style.kind}")
        if style.kind == "xlsx":
            lines.append("    sheet: Contacts")
        else:
            lines.append(f"    encoding: {style.encoding}")
            lines.append(f"    separator: {_q(style.separator)}")
        lines.append(f"    header_row: {style.header_row}")
        date_format = "%d-%b-%y" if style.date_format == "d-Mon-yy" else style.date_format
        lines.append(f"    date_format: {_q(date_format)}")
        columns = ", ".join(f"{key}: {_q(style.columns[key])}"
                            for key in ("study_id", "date", "service", "mode")
                            if key in style.columns)
        lines.append(f"    columns: {{{columns}}}")
        if style.modes:
            modes = ", ".join(f"{_q(raw)}: {code}" for code, raw in style.modes.items())
            lines.append(f"    modes: {{{modes}}}")
        if style.total_row:
            lines.append("    junk_rows: '(?i)^\\s*total'  # rows whose first cell matches are dropped")
    lines += ["", "service_map: {file: service_map.csv, encoding: utf-8}", ""]
    lines += _coded_data_lines(coded_data)
    lines += [
        "professionals:",
        "  file: SYNTHETIC_professionals.csv",
        "  encoding: utf-8",
        "  columns: {prof_id: prof_id, site: site, role: role, service: service,"
        " data_collection: data_collection, document: document}",
        "",
        "transcripts:",
    ]
    if coded_data == "qdpx":
        lines.append("  # the transcripts are read from the project (the folder is not needed)")
    else:
        lines += ["  folder: transcripts", "  encoding: utf-8"]
    lines += [
        "  # a line starting with a professional's ID names the speaker of focus-group segments",
        "  speaker_pattern: '^(?P<speaker>PR-[A-Z]{2}-[0-9]+) \\('",
        "",
    ]
    lines += study_material_lines()
    return "\n".join(lines)


def study_material_lines() -> list[str]:
    """The ``sources.yml`` sections of issue 13's inputs: diaries, drawings, EACG, model.

    Every one of these sections is optional (a real export may not have them yet); a section
    that is left out gives empty tables and a line in the cleaning log.
    """
    consent = "{'None': none, 'Quote only': quote, 'Image de-identified': image}"
    segment_columns = ("{document: 'Document', code: 'Code', start: 'Start', end: 'End',"
                       " text: 'Coded text', coder: 'Coder'}")
    kinds = ", ".join(f"{_q(label)}: {code}" for code, (label, _, _) in LIFE_EVENT_KINDS.items())
    roles = ", ".join(_q(role) for role in ROLES)
    return [
        "# Women's diaries, drawings of significant life events, the EACG review log and the",
        "# co-produced model of care (issue 13). Each section is optional: leave it out and the",
        "# derived tables are empty (noted in the cleaning log). consent maps the file's wording",
        "# to none (never in an output), quote (words only) or image (image may be shown",
        "# de-identified). Dates of diaries and dated life events must lie in the study window",
        "# (weeks relative to the birth, study_window_weeks); earlier events are given as an age.",
        "study_window_weeks: [-44, 82]",
        "",
        "diaries:",
        "  file: SYNTHETIC_diary_register.csv",
        "  encoding: utf-8",
        "  date_format: '%d/%m/%Y'",
        "  columns: {study_id: 'Study ID', entry_id: 'Entry', date: 'Date', mode: 'Mode',"
        " duration_min: 'Duration (min)', items: 'Items', consent: 'Consent',"
        " transcript: 'Transcript', image: 'Image', description: 'Coded description'}",
        "  modes: {'Audio': audio, 'Photo': photo, 'Video': video, 'Written': written}",
        f"  consent: {consent}",
        "",
        "diary_segments:  # coded audio diary transcripts, same codebook as the interviews",
        "  file: SYNTHETIC_diary_segments.csv",
        "  encoding: utf-8",
        f"  columns: {segment_columns}",
        "  document_pattern: '^(?P<study_id>.+)_D[0-9]+$'",
        "  transcripts: transcripts",
        "",
        "drawings:",
        "  file: SYNTHETIC_drawings.csv",
        "  encoding: utf-8",
        "  date_format: '%d/%m/%Y'",
        "  columns: {study_id: 'Study ID', drawing_id: 'Drawing', date: 'Date drawn',"
        " consent: 'Consent', image: 'Image', description: 'Coded description'}",
        f"  consent: {consent}",
        "",
        "drawing_events:",
        "  file: SYNTHETIC_drawing_events.csv",
        "  encoding: utf-8",
        "  columns: {drawing_id: 'Drawing', event_no: 'Event', kind: 'Kind', when: 'When',"
        " valence: 'Valence', label: 'Her label'}",
        "  date_formats: ['%d/%m/%Y', '%m/%Y']  # a month alone is taken as its 15th day",
        "  age_pattern: '^age (?P<age>[0-9]{1,2})$'",
        f"  kinds: {{{kinds}}}",
        "  valence: {'Good': positive, 'Bad': negative, 'Mixed': mixed}",
        "",
        "eacg_review_log:  # members are recorded by role only",
        "  file: SYNTHETIC_eacg_review_log.csv",
        "  encoding: utf-8",
        "  date_format: '%Y-%m-%d'",
        "  columns: {meeting_date: 'Meeting date', members: 'Members (roles)', item: 'Item',"
        " discussed: 'Discussed', response: 'Response', change: 'What changed',"
        " version: 'Model version'}",
        f"  roles: [{roles}]",
        "  responses: {'Endorsed': endorsed, 'Refined': refined, 'Challenged': challenged}",
        "",
        "model_of_care: {file: SYNTHETIC_model_of_care.yml}",
        "",
    ]


def _coded_data_lines(coded_data: str) -> list[str]:
    """The ``sources.yml`` lines declaring the codebook and coded segments in one of two forms."""
    women_pattern = "  document_pattern: '^(?P<study_id>.+)_W(?P<wave>[1-5])$'"
    professional_pattern = "  document_pattern: '^(FG|PI)-[A-Z]{2}-[0-9]+$'"
    if coded_data == "qdpx":
        return [
            "# Coded qualitative data: read from a REFI-QDA project (NVivo, ATLAS.ti, MAXQDA,",
            "# QualCoder export). The project gives the codebook, the codings and the transcripts;",
            "# map (optional) ties the project's source or case names to study documents,",
            "# study IDs and waves. Declare the coded data once: either this qdpx entry, or the",
            "# codebook, segments and professional_segments files (CSV form), not both.",
            "qdpx: {file: SYNTHETIC_project.qdpx, map: qda_map.csv}",
            "",
            "segments:  # women's documents (the project's sources mapped to <study_id>_W<wave>)",
            women_pattern,
            "",
            "professional_segments:  # professionals' focus groups and interviews",
            professional_pattern,
            "",
        ]
    columns = ("  columns: {document: 'Document', code: 'Code', start: 'Start', end: 'End',"
               " text: 'Coded text', coder: 'Coder'}")
    return [
        "# Coded qualitative data: CSV export of the codebook and codings, plus transcripts/.",
        "# The same data ship as a REFI-QDA project; to read that instead, remove the codebook",
        "# section and the file, encoding and columns of segments and professional_segments,",
        "# and declare:  qdpx: {file: SYNTHETIC_project.qdpx, map: qda_map.csv}",
        "codebook:",
        "  file: SYNTHETIC_codebook.csv",
        "  encoding: utf-8",
        "  columns: {code: 'Code', description: 'Description', colour: 'Colour'}",
        "  path_separator: '\\'",
        "",
        "segments:",
        "  file: SYNTHETIC_coded_segments.csv",
        "  encoding: utf-8",
        columns,
        women_pattern,
        "",
        "professional_segments:",
        "  file: SYNTHETIC_professional_segments.csv",
        "  encoding: utf-8",
        columns,
        professional_pattern,
        "",
    ]
